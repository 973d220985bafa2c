"""Small deterministic model inputs shared by the baseline tests."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from nbench.tasks.base import TaskInputs

MC_MAZE_SMALL_VAL = Path("nlb_mc_maze_small") / "mc_maze_small_val_5ms.h5"


def tiny_task(seed: int = 0) -> tuple[TaskInputs, dict[str, np.ndarray]]:
    """Latent-driven Poisson data: 60 train / 20 eval trials, 30 bins of 20 ms (+10 forward), 12 -> 4 neurons.

    Also returns the hidden eval truth: held-out spikes and held-out true rates (expected counts per bin).
    """
    rng = np.random.default_rng(seed)
    latent = np.cumsum(rng.normal(0, 0.3, (80, 40, 2)), axis=1)
    rates = np.exp(latent @ rng.normal(0, 0.7, (2, 16)) - 1.0)
    spikes = rng.poisson(rates).astype(np.float32)
    win, fwd = spikes[:, :30], spikes[:, 30:]
    inputs = TaskInputs(task="tiny", dataset="tiny", phase="val", group="tiny", bin_ms=20.0,
                        train_spikes_heldin=win[:60, :, :12], train_spikes_heldout=win[:60, :, 12:],
                        eval_spikes_heldin=win[60:, :, :12], train_spikes_heldin_forward=fwd[:60, :, :12],
                        train_spikes_heldout_forward=fwd[:60, :, 12:])
    return inputs, {"eval_spikes_heldout": win[60:, :, 12:], "eval_rates_heldout": rates[60:, :30, 12:]}


def tiny_inputs(seed: int = 0) -> TaskInputs:
    """The model inputs of :func:`tiny_task`."""
    return tiny_task(seed)[0]


def mc_maze_small_val(shared_data: Path) -> tuple[TaskInputs, np.ndarray]:
    """The real MC_Maze_Small val-phase tensors (nlb_tools output) as model inputs, plus eval held-out truth."""
    with h5py.File(shared_data / MC_MAZE_SMALL_VAL, "r") as h5:
        arr = {key: h5[key][()] for key in h5}
    inputs = TaskInputs(
        task="mc_maze_small", dataset="mc_maze_small", phase="val", group="mc_maze_small", bin_ms=5.0,
        train_spikes_heldin=arr["train_spikes_heldin"], train_spikes_heldout=arr["train_spikes_heldout"],
        eval_spikes_heldin=arr["eval_spikes_heldin"],
        train_spikes_heldin_forward=arr["train_spikes_heldin_forward"],
        train_spikes_heldout_forward=arr["train_spikes_heldout_forward"], train_behavior=arr["train_behavior"])
    return inputs, arr["eval_spikes_heldout"]
