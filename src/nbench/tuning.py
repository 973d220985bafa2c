"""Cross-validated hyperparameter search on a task's training trials (what NLB's CV sweeps did).

The training trials are split into k folds of whole trials (every k-th trial, as ``smoothing_cv_sweep.py``);
for each grid point and fold the model is fit on the other folds (held-in and held-out neurons) and scored by
co-bps (:func:`nbench.metrics.poisson.bits_per_spike`) on the fold's held-out neurons from its held-in spikes.
The grid point with the best mean co-bps wins. Evaluation trials and targets are never touched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from nbench.errors import ConfigError
from nbench.metrics.poisson import bits_per_spike
from nbench.tasks.base import TaskInputs
from nbench.tasks.info import TaskInfo

#: Default grids. Smoothing: NLB's sweep (kern_sd 30-60 ms, alpha 1e-3..1) widened to 20-100 ms, because
#: coarser bins and slower latents (synthetic data) can prefer wider kernels.
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "smoothing": {"kern_sd_ms": [20, 30, 40, 50, 60, 80, 100], "alpha": [0.001, 0.01, 0.1, 1.0]},
}


@dataclass
class GridResult:
    """One grid point: its overrides and co-bps per fold."""

    params: dict[str, Any]
    fold_scores: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def sd(self) -> float:
        return float(np.std(self.fold_scores))


def parse_grid(pairs: Sequence[str]) -> dict[str, list[Any]]:
    """``["kern_sd_ms=30,40", "alpha=0.01,0.1"]`` -> ``{"kern_sd_ms": [30, 40], "alpha": [0.01, 0.1]}``."""
    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, values = pair.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--grid {pair!r}: expected key=value1,value2,...")
        grid[key.strip()] = [yaml.safe_load(v) for v in values.split(",") if v.strip()]
    return grid


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def drop_invalid_kernels(grid: dict[str, list[Any]], bin_ms: float) -> dict[str, list[Any]]:
    """Remove kernel widths below one bin (the smoothing kernel needs a std of at least one bin)."""
    if "kern_sd_ms" not in grid:
        return grid
    return dict(grid, kern_sd_ms=[v for v in grid["kern_sd_ms"] if int(float(v) / bin_ms) >= 1])


def check_folds(folds: int, n_train: int) -> int:
    """Raise a one-line ConfigError unless 2 <= folds <= n_train; return n_train."""
    if not 2 <= folds <= n_train:
        raise ConfigError(f"--folds expects 2..{n_train} (training trials), got {folds}")
    return n_train


def fold_inputs(inputs: TaskInputs, folds: int) -> list[tuple[TaskInputs, np.ndarray]]:
    """Split the training trials into ``folds`` (every k-th trial); return (inputs, held-out truth) per fold.

    A fold's inputs train on the other folds and evaluate on the fold's trials (held-in spikes only).
    """
    n = check_folds(folds, inputs.n_train)
    index = np.arange(n)
    out = []
    for fold in range(folds):
        test, train = index % folds == fold, index % folds != fold

        def pick(arr: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
            return None if arr is None else arr[rows]

        sub = dataclasses.replace(
            inputs, train_spikes_heldin=inputs.train_spikes_heldin[train],
            train_spikes_heldout=inputs.train_spikes_heldout[train],
            eval_spikes_heldin=inputs.train_spikes_heldin[test],
            train_spikes_heldin_forward=pick(inputs.train_spikes_heldin_forward, train),
            train_spikes_heldout_forward=pick(inputs.train_spikes_heldout_forward, train),
            train_behavior=pick(inputs.train_behavior, train), train_conditions=pick(inputs.train_conditions, train))
        out.append((sub, inputs.train_spikes_heldout[test]))
    return out


def cross_validate(model_cls: Any, family: str, inputs: TaskInputs, grid: dict[str, list[Any]], folds: int,
                   seed: int = 0, on_fit: Callable[[], None] | None = None,
                   bin_ms: float | None = None) -> list[GridResult]:
    """Score every grid point by k-fold co-bps on the training trials; ``on_fit`` is called after each fit.

    Each point is the model's preset for ``family`` at ``bin_ms`` (as ``nbench run`` builds it) with the point's
    values applied.
    """
    splits = fold_inputs(inputs, folds)
    results = []
    for params in grid_points(grid):
        config = model_cls.make_config(family, params, bin_ms=bin_ms)
        scores = []
        for sub, truth in splits:
            model = model_cls(config, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model.fit(sub)
                rates = model.predict(sub).eval_rates_heldout
            scores.append(bits_per_spike(rates, truth))
            if on_fit is not None:
                on_fit()
        results.append(GridResult(params, scores))
    return results


_INPUTS: dict[tuple[str, ...], TaskInputs] = {}


def _training_inputs(task_name: str, phase: str | None, data_dir: str | None) -> tuple[TaskInputs, TaskInfo]:
    """The task's inputs of ``phase`` and its info, kept for the next grid point of the same task, version,
    data and phase (every grid point of a tuning run in one process shares them)."""
    from nbench.data.cache import data_dir as resolve_data_dir
    from nbench.tasks import make_task

    task = make_task(task_name, data_dir)
    phase = task.resolve_phase(phase)
    key = (task_name, str(task.info.version), str(task.info.pin), phase, str(resolve_data_dir(data_dir)))
    if key not in _INPUTS:
        _INPUTS.clear()
        _INPUTS[key], _ = task.prepare(phase)
    return _INPUTS[key], task.info


def score_point(model_name: str, task_name: str, params: dict[str, Any], folds: int, seed: int,
                phase: str | None, data_dir: str | None) -> dict[str, Any]:
    """One grid point's k-fold co-bps, as a JSON document (a job of ``nbench tune``; NaN scores are null)."""
    from nbench import registry
    from nbench.baselines.base import preset_key

    inputs, info = _training_inputs(task_name, phase, data_dir)
    model_cls = registry.get("models", model_name)
    family = preset_key(model_cls, info.preset_keys, info.bin_ms)
    [result] = cross_validate(model_cls, family, inputs, {k: [v] for k, v in params.items()}, folds, seed,
                              bin_ms=info.bin_ms)
    return {"status": "ok", "params": params,
            "fold_scores": [None if math.isnan(v) else float(v) for v in result.fold_scores]}


def point_key(identity: dict[str, Any], params: dict[str, Any], folds: int, seed: int) -> str:
    """Key of one grid point's result: the task's identity, the model, the settings, the folds and the seed."""
    blob = json.dumps([identity, params, folds, seed], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def from_document(doc: dict[str, Any]) -> GridResult:
    """A stored grid point back as a :class:`GridResult`."""
    return GridResult(dict(doc["params"]), [math.nan if v is None else float(v) for v in doc["fold_scores"]])


def best(results: Sequence[GridResult]) -> GridResult:
    """The grid point with the highest mean co-bps (NaN scores lose)."""
    return max(results, key=lambda r: -math.inf if math.isnan(r.mean) else r.mean)


def config_yaml(result: GridResult, task: str, model: str, folds: int) -> str:
    """The chosen settings as a YAML config for ``nbench run --config``, with how they were chosen."""
    header = (f"# nbench tune: {model} on {task}, {folds}-fold CV on training trials\n"
              f"# mean co-bps {result.mean:.4f} (sd {result.sd:.4f} over folds)\n")
    return header + yaml.safe_dump(result.params, sort_keys=False)
