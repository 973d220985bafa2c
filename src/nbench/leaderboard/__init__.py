"""The leaderboard: run records and submission entries -> a static site (HTML, JSON, CSV, SVG).

* :mod:`~nbench.leaderboard.aggregate`: records -> rows aggregated over seeds; the 95% interval and ranking.
* :mod:`~nbench.leaderboard.entries`: ``submissions/<entry>/metadata.yaml`` validation and scoring.
* :mod:`~nbench.leaderboard.layout`: rows -> tabs, boards and tables (the ``results.json`` tree).
* :mod:`~nbench.leaderboard.plots`: matplotlib SVG plots.
* :mod:`~nbench.leaderboard.site`: the build itself (templates and static assets live in this package).
"""

from typing import Any

__all__ = ["BuildResult", "build_site"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the aggregation alone does not import matplotlib and jinja2.
    if name in __all__:
        from nbench.leaderboard import site

        return getattr(site, name)
    raise AttributeError(f"module 'nbench.leaderboard' has no attribute {name!r}")
