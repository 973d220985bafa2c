"""Task definitions. Importing this package registers the built-in tasks (lazily, by name)."""

from nbench.registry import register, register_discoverer

register("tasks", "lorenz", "nbench.tasks.synthetic:SyntheticTask", dataset="lorenz",
         summary="synthetic Lorenz (NDT-like), 29 neurons, 20 ms: co-smoothing, forward, rate R2")
register("tasks", "chaotic_rnn", "nbench.tasks.synthetic:SyntheticTask", dataset="chaotic_rnn",
         summary="synthetic LFADS chaotic RNN, 50 neurons, 10 ms: co-smoothing, forward, rate R2")

# Datasets imported with `nbench data import` are tasks too, found in the data directory at lookup time.
register_discoverer("tasks", "nbench.tasks.imported:discover")
