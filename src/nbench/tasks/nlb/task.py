"""The NLB'21 tasks: seven datasets at 5 ms (``mc_maze``) and 20 ms (``mc_maze_20``), phases val and test.

Inputs and val-phase targets are built from the DANDI NWB files exactly as nlb_tools builds them
(:mod:`nbench.data.nlb`). Test-phase targets are NLB's public ``eval_data_test.h5``: pass ``targets_path`` or
keep it at ``<data dir>/nlb/eval_data_test.h5`` (``nbench data fetch --test-targets``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nbench.data.dandisets import nlb_dandiset, nlb_targets_path
from nbench.data.nlb.catalog import NLB_CATALOG, parse_nlb_group
from nbench.data.nlb.params import PARAMS, group_name
from nbench.data.nlb.recording import unit_regions
from nbench.errors import DataError, UnknownNameError
from nbench.tasks.base import (
    BehaviorSpec,
    DatasetPin,
    PreparedTask,
    Query,
    Targets,
    Task,
    TaskInfo,
    TaskInputs,
    single_view,
)
from nbench.tasks.info import latent_metrics
from nbench.tasks.nlb.build import NLBArrays
from nbench.tasks.nlb.cache import load_arrays, phase_files

TASK_VERSION = "1"
VELOCITY = BehaviorSpec("vel", "continuous", "nlb_ridge")
PRODUCED_INTERVAL = BehaviorSpec("tp", "scalar", "tp_corr")
CITATION = ("Pei et al. 2021, Neural Latents Benchmark '21 (arXiv:2109.04463); data: DANDI {id} "
            "(CC-BY-4.0)")
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
        row, spec = NLB_CATALOG[dataset], nlb_dandiset(dataset)
        behavior = nlb_behavior_of(dataset)
        self.info = TaskInfo(
            name=group_name(dataset, bin_ms), dataset=dataset, bin_ms=bin_ms, version=TASK_VERSION,
            description=f"NLB'21 {row.title} at {bin_ms} ms: co-smoothing, forward prediction, "
                        f"{behavior.decoded_metric}" + (", PSTH" if PARAMS[dataset].psth else ""),
            phases=("val", "test"), main_metric="co-bps", metrics=dataset_metrics(dataset), family=dataset,
            pin=DatasetPin("DANDI", spec.dandiset_id, spec.version), citation=CITATION.format(id=spec.dandiset_id),
            behavior=(behavior,), queries="NLB's held-out neurons", spike_times="recorded")

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        if phase == "test":
            phase_files(self.info.dataset, phase, self.data_dir)  # missing NWB files are reported first
            targets = self._test_targets()  # then a missing target file, before any building
        arrays, provenance = load_arrays(self.info.dataset, phase, int(self.info.bin_ms), self.data_dir,
                                         self.use_cache)
        inputs = self._inputs(arrays, provenance, phase)
        if spike_times:
            inputs = replace(inputs, train_spike_times=arrays.spike_times["train"],
                             eval_spike_times=arrays.spike_times["eval"])
        if phase == "val":
            targets = _targets(self.info.name, arrays.targets)
        _check_consistent(inputs, targets)
        targets = replace(targets, metrics=self.info.metrics, behavior=self.info.behavior[0])
        query = Query("heldout", self.info.dataset, np.arange(inputs.n_heldin),
                      inputs.n_heldin + np.arange(inputs.n_heldout))
        return single_view(self.info, phase, inputs, targets, query)

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
            heldout_ids=arrays.heldout_ids, regions_heldin=unit_regions(self.info.dataset, arrays.heldin_ids),
            regions_heldout=unit_regions(self.info.dataset, arrays.heldout_ids), dataset_info=provenance,
            session=self.info.dataset, query="heldout", behavior=self.info.behavior,
            train_trial_ids=arrays.train_trial_ids, eval_trial_ids=arrays.eval_trial_ids)


def read_target_group(path: str | Path, group: str) -> Targets:
    """The targets of submission group ``group`` in an NLB target file (``eval_data_test.h5``)."""
    from nbench.tasks.targets_file import read_targets

    targets = read_targets(path)
    if group not in targets:
        raise DataError(f"{path}: no group {group!r} (groups: {', '.join(sorted(targets))})")
    return targets[group]


def _targets(group: str, arrays: dict[str, Any]) -> Targets:
    fields = {k: arrays[k] for k in TARGET_KEYS if k in arrays}
    cond_idx = arrays.get("eval_cond_idx")
    return Targets(group=group, eval_cond_idx=None if cond_idx is None else list(cond_idx), **fields)


def nlb_behavior_of(dataset: str) -> BehaviorSpec:
    """NLB's scored behaviour: hand or finger velocity (vel R2), or DMFC's produced interval (tp corr)."""
    return PRODUCED_INTERVAL if PARAMS[dataset].dmfc else VELOCITY


def dataset_metrics(dataset: str) -> tuple[str, ...]:
    """The metrics an NLB task declares: NLB's (co-bps, vel R2 or tp corr, psth R2 where NLB has PSTHs, fp-bps),
    their MtM per-neuron forms and, for velocity, directly predicted velocity and velocity (and, on the maze
    datasets, the reach direction) decoded from latents."""
    behavior = nlb_behavior_of(dataset)
    metrics = ["co-bps", "co-bps per neuron", behavior.decoded_metric]
    if PARAMS[dataset].psth is not None:
        metrics.append("psth R2")
    metrics += ["fp-bps", "fp-bps per neuron"]
    if behavior.predicted_metric:
        metrics.append(behavior.predicted_metric)
    return tuple(metrics) + latent_metrics(behavior, dataset)


def nlb_declared_metrics(group: str) -> tuple[str, ...] | None:
    """The declared metrics of NLB group ``group`` (``"mc_maze_20"``), or None for other names."""
    parsed = parse_nlb_group(group)
    return None if parsed is None else dataset_metrics(parsed[0])


def nlb_behavior_spec(group: str) -> BehaviorSpec | None:
    """The scored behaviour of NLB group ``group``, or None for other names."""
    parsed = parse_nlb_group(group)
    return None if parsed is None else nlb_behavior_of(parsed[0])


def _check_consistent(inputs: TaskInputs, targets: Targets) -> None:
    """Test-phase targets come from another file: their trial and unit counts must match the inputs."""
    n_eval, n_bins, n_heldout = targets.eval_spikes_heldout.shape
    if (n_eval, n_heldout) != (inputs.n_eval, inputs.n_heldout):
        raise DataError(f"{inputs.group}: targets have {n_eval} eval trials x {n_heldout} held-out units, the NWB "
                        f"inputs {inputs.n_eval} x {inputs.n_heldout}; the target file does not match the data")
