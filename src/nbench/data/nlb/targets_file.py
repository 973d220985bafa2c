"""Test-phase targets from NLB's public target file (``eval_data_test.h5``), one group at a time.

The shared reader :func:`nbench.targets_io.read_targets` is used when it is available; until then a minimal
reader of the NLB target layout (``reference/nlb.md`` 2.3) stands in.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from nbench.errors import DataError, NbenchError
from nbench.io import open_h5_checked
from nbench.tasks.base import Targets

ARRAY_KEYS = ("eval_spikes_heldout", "train_behavior", "eval_behavior", "eval_spikes_heldin_forward",
              "eval_spikes_heldout_forward", "train_decode_mask", "eval_decode_mask", "psth", "eval_jitter")


def read_target_group(path: str | Path, group: str) -> Targets:
    """The targets of submission group ``group`` in the NLB target file ``path``."""
    try:
        from nbench.targets_io import read_targets  # type: ignore[import-not-found]
    except ImportError:
        return _read_group(Path(path), group)
    targets = read_targets(path)
    if group not in targets:
        raise DataError(f"{path}: no group {group!r} (groups: {', '.join(sorted(targets))})")
    return targets[group]


def _read_group(path: Path, group: str) -> Targets:
    try:
        h5 = open_h5_checked(path, "NLB target file")
    except NbenchError as exc:
        raise DataError(str(exc)) from None
    with h5:
        if group not in h5:
            raise DataError(f"{path}: no group {group!r} (groups: {', '.join(sorted(h5))})")
        g = h5[group]
        for key in g:
            if isinstance(g.get(key, getlink=True), h5py.ExternalLink):
                raise DataError(f"{path}: {group}/{key} is an HDF5 external link; external links are refused")
        if "eval_spikes_heldout" not in g:
            raise DataError(f"{path}: group {group!r} has no 'eval_spikes_heldout'")
        arrays = {k: g[k][()] for k in ARRAY_KEYS if k in g}
        cond_idx = [np.asarray(v, dtype=np.int64) for v in g["eval_cond_idx"][()]] if "eval_cond_idx" in g \
            else None
    return Targets(group=group, eval_cond_idx=cond_idx, **arrays)
