"""The NLB'21 tasks: seven datasets at 5 ms (``mc_maze``) and 20 ms (``mc_maze_20``), phases val and test.

Inputs and val-phase targets are built from the DANDI NWB files exactly as nlb_tools builds them
(:mod:`nbench.data.nlb`). Test-phase targets are NLB's public ``eval_data_test.h5``: pass ``targets_path`` or
keep it at ``<data dir>/nlb/eval_data_test.h5`` (``nbench data fetch --test-targets``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench.data.dandisets import nlb_targets_path
from nbench.data.nlb.params import PARAMS, group_name
from nbench.errors import DataError, NbenchError, UnknownNameError
from nbench.io import open_h5_checked
from nbench.tasks.base import Targets, Task, TaskInfo, TaskInputs
from nbench.tasks.nlb.build import NLBArrays
from nbench.tasks.nlb.cache import load_arrays, phase_files

TASK_VERSION = "1"
TITLES = {"mc_maze": "MC_Maze", "mc_rtt": "MC_RTT", "area2_bump": "Area2_Bump", "dmfc_rsg": "DMFC_RSG",
          "mc_maze_large": "MC_Maze_Large", "mc_maze_medium": "MC_Maze_Medium", "mc_maze_small": "MC_Maze_Small"}
TARGET_KEYS = ("eval_spikes_heldout", "train_behavior", "eval_behavior", "eval_spikes_heldin_forward",
               "eval_spikes_heldout_forward", "train_decode_mask", "eval_decode_mask", "psth", "eval_jitter")


class NLBTask(Task):
    """One NLB dataset at one bin size.

    Parameters
    ----------
    dataset
        NLB dataset name (``"mc_maze"``, ..., ``"mc_maze_small"``).
    bin_ms
        5 or 20.
    data_dir
        Data directory override (default :func:`nbench.data.cache.data_dir`).
    targets_path
        NLB test-phase target file; default ``<data dir>/nlb/eval_data_test.h5``.
    use_cache
        Reuse built arrays from ``<data dir>/cache/nlb`` (default True).
    """

    def __init__(self, dataset: str, bin_ms: int = 5, data_dir: str | Path | None = None,
                 targets_path: str | Path | None = None, use_cache: bool = True) -> None:
        if dataset not in PARAMS:
            raise UnknownNameError(f"unknown NLB dataset {dataset!r} (known: {', '.join(PARAMS)})")
        if bin_ms not in (5, 20):
            raise UnknownNameError(f"NLB tasks use 5 or 20 ms bins, not {bin_ms}")
        self.data_dir, self.targets_path, self.use_cache = data_dir, targets_path, use_cache
        behavior = "tp corr" if PARAMS[dataset].dmfc else "vel R2"
        self.info = TaskInfo(
            name=group_name(dataset, bin_ms), dataset=dataset, bin_ms=bin_ms, version=TASK_VERSION,
            description=f"NLB'21 {TITLES[dataset]} at {bin_ms} ms: co-smoothing, forward prediction, {behavior}"
                        + (", PSTH" if PARAMS[dataset].psth else ""),
            phases=("val", "test"), main_metric="co-bps")

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        phase = self.resolve_phase(phase)
        if phase == "test":
            phase_files(self.info.dataset, phase, self.data_dir)  # missing NWB files are reported first
            targets = self._test_targets()  # then a missing target file, before any building
        arrays, provenance = load_arrays(self.info.dataset, phase, int(self.info.bin_ms), self.data_dir,
                                         self.use_cache)
        inputs = self._inputs(arrays, provenance, phase)
        if phase == "val":
            targets = _targets(self.info.name, arrays.targets)
        _check_consistent(inputs, targets)
        return inputs, targets

    def _test_targets(self) -> Targets:
        path = Path(self.targets_path) if self.targets_path else nlb_targets_path(self.data_dir)
        if not path.is_file():
            flag = f" --data-dir {self.data_dir}" if self.data_dir else ""
            raise DataError(f"{self.info.name}: test-phase targets {path} not found; run `nbench data fetch "
                            f"--test-targets{flag}` first")
        return read_target_group(path, self.info.name)

    def _inputs(self, arrays: NLBArrays, provenance: dict[str, Any], phase: str) -> TaskInputs:
        x = arrays.inputs
        return TaskInputs(
            task=self.info.name, dataset=self.info.dataset, phase=phase, group=self.info.name,
            bin_ms=self.info.bin_ms, train_spikes_heldin=x["train_spikes_heldin"],
            train_spikes_heldout=x["train_spikes_heldout"], eval_spikes_heldin=x["eval_spikes_heldin"],
            train_spikes_heldin_forward=x["train_spikes_heldin_forward"],
            train_spikes_heldout_forward=x["train_spikes_heldout_forward"], train_behavior=x["train_behavior"],
            train_conditions=arrays.train_conditions, heldin_ids=arrays.heldin_ids,
            heldout_ids=arrays.heldout_ids, regions_heldin=_regions(self.info.dataset, arrays.heldin_ids),
            regions_heldout=_regions(self.info.dataset, arrays.heldout_ids), dataset_info=provenance)


def read_target_group(path: str | Path, group: str) -> Targets:
    """The targets of submission group ``group`` in an NLB target file (``eval_data_test.h5``).

    Uses the shared reader :func:`nbench.targets_io.read_targets` when available; until then a minimal reader
    of the NLB target layout (``reference/nlb.md`` 2.3) stands in.
    """
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
        arrays = {k: g[k][()] for k in (*TARGET_KEYS, "eval_cond_idx") if k in g}
    if "eval_cond_idx" in arrays:
        arrays["eval_cond_idx"] = [np.asarray(v, dtype=np.int64) for v in arrays["eval_cond_idx"]]
    return _targets(group, arrays)


def _targets(group: str, arrays: dict[str, Any]) -> Targets:
    fields = {k: arrays[k] for k in TARGET_KEYS if k in arrays}
    cond_idx = arrays.get("eval_cond_idx")
    return Targets(group=group, eval_cond_idx=None if cond_idx is None else list(cond_idx), **fields)


def _regions(dataset: str, ids: np.ndarray) -> np.ndarray:
    """Maze unit ids start with the array: 1 = PMd, 2 = M1; other datasets record one area."""
    rule = PARAMS[dataset].regions
    if rule == "maze":
        return np.where(ids // 1000 == 1, "PMd", "M1")
    return np.full(len(ids), rule)


def _check_consistent(inputs: TaskInputs, targets: Targets) -> None:
    """Test-phase targets come from another file: their trial and unit counts must match the inputs."""
    n_eval, n_bins, n_heldout = targets.eval_spikes_heldout.shape
    if (n_eval, n_heldout) != (inputs.n_eval, inputs.n_heldout):
        raise DataError(f"{inputs.group}: targets have {n_eval} eval trials x {n_heldout} held-out units, the NWB "
                        f"inputs {inputs.n_eval} x {inputs.n_heldout}; the target file does not match the data")
