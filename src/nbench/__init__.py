"""nbench: a benchmark suite and leaderboard harness for models of neural population spiking activity."""

__version__ = "0.1.0"
