"""Submissions: predicted rates in the NLB'21 submission layout, and nbench's layout for multi-view tasks.

NLB layout: one HDF5 file holds one group per task (``mc_maze``, ``mc_maze_20``, ``lorenz`` ...), each with
``train_rates_heldin``, ``train_rates_heldout``, ``eval_rates_heldin``, ``eval_rates_heldout`` and optionally
``eval_rates_heldin_forward`` / ``eval_rates_heldout_forward``. Rates are expected spike counts per bin,
trials x bins x neurons, in the trial order of the task's tensors; *held-in* are the visible neurons, *held-out*
the hidden ones. Files are written as float32 (like ``nlb_tools.make_tensors.save_to_h5``); baselines are scored
on the same float32 values, so scoring a written file reproduces a run's numbers exactly.

nbench layout (tasks of several sessions or queries): one group per view, ``<task>/<session>/<query>``, holding
the same keys for that view (docs/scoring.md).

nbench extensions:

- ``eval_behavior_pred``, behaviour predicted directly (eval trials x bins x k for continuous behaviour, eval
  trials x 1 labels for categorical behaviour). A group may hold only this array (no rates).
- ``train_latents`` and ``eval_latents`` (together), a model's latent factors per bin (trials x bins x d, the
  same d for both; any finite real values). Behaviour decoded from them is scored as "(from latents)" metrics,
  apart from behaviour decoded from rates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import h5py
import numpy as np

from nbench.io import atomic_path

RATE_KEYS = (
    "train_rates_heldin",
    "train_rates_heldout",
    "eval_rates_heldin",
    "eval_rates_heldout",
    "eval_rates_heldin_forward",
    "eval_rates_heldout_forward",
)
LATENT_KEYS = ("train_latents", "eval_latents")
EXTENSION_KEYS = ("eval_behavior_pred",) + LATENT_KEYS
ALL_KEYS = RATE_KEYS + EXTENSION_KEYS


@dataclass(eq=False)
class Submission:
    """Predictions for one submission group: rates (trials x bins x neurons, expected counts per bin) and/or
    directly predicted behaviour, and optionally latents (trials x bins x d)."""

    group: str
    train_rates_heldin: np.ndarray | None = None
    train_rates_heldout: np.ndarray | None = None
    eval_rates_heldin: np.ndarray | None = None
    eval_rates_heldout: np.ndarray | None = None
    eval_rates_heldin_forward: np.ndarray | None = None
    eval_rates_heldout_forward: np.ndarray | None = None
    eval_behavior_pred: np.ndarray | None = None
    train_latents: np.ndarray | None = None
    eval_latents: np.ndarray | None = None

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.arrays().items())
        return f"Submission(group={self.group!r}, {shapes or 'empty'})"

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that are present, by key name."""
        return {k: getattr(self, k) for k in ALL_KEYS if getattr(self, k) is not None}

    def as_float32(self) -> Submission:
        """A copy with every array cast to float32, the precision of a written submission file."""
        return self._cast(np.float32)

    def as_float64(self) -> Submission:
        """A copy with every array cast to float64 (what the metrics compute in)."""
        return self._cast(np.float64)

    def _cast(self, dtype: type) -> Submission:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ALL_KEYS:
            if values[key] is not None:
                values[key] = np.asarray(values[key], dtype=dtype)
        return Submission(**values)


def joined_neurons(heldin: np.ndarray, heldout: np.ndarray) -> np.ndarray:
    """Held-in then held-out neurons on the last axis as one array (float32 if both are, else float64).

    When the two are the adjacent halves of one C-contiguous buffer (as ``load_submission`` reads them), that
    buffer is returned without copying; otherwise the arrays are concatenated (one pass, cast on the way).
    """
    dtype = np.float32 if heldin.dtype == heldout.dtype == np.float32 else np.float64
    base = heldin.base
    if (isinstance(base, np.ndarray) and base is heldout.base and base.dtype == dtype and base.ndim >= 1
            and base.flags.c_contiguous and heldin.dtype == heldout.dtype == dtype
            and base.shape == heldin.shape[:-1] + (heldin.shape[-1] + heldout.shape[-1],)
            and heldin.ctypes.data == base.ctypes.data
            and heldout.ctypes.data == base.ctypes.data + heldin.shape[-1] * base.itemsize
            and heldin.strides == heldout.strides == base.strides):
        return base
    return np.concatenate([heldin, heldout], axis=-1, dtype=dtype)


def write_submission(path: str | Path, submissions: Submission | Iterable[Submission]) -> Path:
    """Write one or more submission groups to an NLB-layout ``.h5`` file atomically (float32, gzip)."""
    subs = [submissions] if isinstance(submissions, Submission) else list(submissions)
    names = [s.group for s in subs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate submission groups: {names}")
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for sub in subs:
            group = h5.create_group(sub.group)
            for key, value in sub.arrays().items():
                group.create_dataset(key, data=np.asarray(value, dtype=np.float32), compression="gzip")
    return path
