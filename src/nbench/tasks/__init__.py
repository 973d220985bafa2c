"""Task definitions. Importing this package registers the built-in tasks (lazily, by name)."""

from nbench.registry import register, register_discoverer

register("tasks", "lorenz", "nbench.tasks.synthetic:SyntheticTask", dataset="lorenz",
         summary="synthetic Lorenz (NDT-like), 29 neurons, 20 ms: co-smoothing, forward, rate R2")
register("tasks", "chaotic_rnn", "nbench.tasks.synthetic:SyntheticTask", dataset="chaotic_rnn",
         summary="synthetic LFADS chaotic RNN, 50 neurons, 10 ms: co-smoothing, forward, rate R2")

# NLB'21: seven datasets, each at 5 ms (group name = dataset) and 20 ms (``<dataset>_20``); data from DANDI.
_NLB = {"mc_maze": "MC_Maze, 182 neurons", "mc_rtt": "MC_RTT, 130 neurons", "area2_bump": "Area2_Bump, 65 neurons",
        "dmfc_rsg": "DMFC_RSG, 54 neurons", "mc_maze_large": "MC_Maze_Large, 162 neurons",
        "mc_maze_medium": "MC_Maze_Medium, 152 neurons", "mc_maze_small": "MC_Maze_Small, 142 neurons"}
for _name, _what in _NLB.items():
    for _bin in (5, 20):
        register("tasks", _name if _bin == 5 else f"{_name}_{_bin}", "nbench.tasks.nlb:NLBTask", dataset=_name,
                 bin_ms=_bin, summary=f"NLB'21 {_what}, {_bin} ms (DANDI; `nbench data fetch {_name}`)")

# Datasets imported with `nbench data import` are tasks too, found in the data directory at lookup time.
register_discoverer("tasks", "nbench.tasks.imported:discover")
