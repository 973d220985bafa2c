"""Evaluation-target ``.h5`` files (the NLB'21 layout) <-> ``dict[str, Targets]``.

Layout (as ``nlb_tools.make_tensors.make_eval_target_tensors`` / ``save_to_h5`` write it, and as the EvalAI files
``eval_data_{val,test}.h5`` hold it): one top-level group per submission group (``mc_maze``, ``mc_maze_20``,
``dmfc_rsg`` ...), each with

==============================  ========================================================  ============
key                             shape                                                      required
==============================  ========================================================  ============
eval_spikes_heldout             eval trials x bins x held-out neurons (NaN = not scored)   yes
train_behavior, eval_behavior   trials x bins x k (per-bin) or trials x k (per-trial)      pair
eval_spikes_heldin_forward      eval trials x forward bins x held-in neurons               pair
eval_spikes_heldout_forward     eval trials x forward bins x held-out neurons              pair
train_decode_mask               train trials x masks, bool                                 pair
eval_decode_mask                eval trials x masks, bool                                  pair
psth                            conditions x bins x all neurons (held-in, then held-out)   optional
eval_cond_idx                   per condition, eval-trial indices (vlen int)               with psth
train_cond_idx                  per condition, train-trial indices (vlen int; not scored)  optional
eval_jitter, train_jitter       per trial shift in bins, int (DMFC)                        optional
==============================  ========================================================  ============

nbench extensions (ignored by nlb_tools): ``eval_true_rates_heldin`` / ``eval_true_rates_heldout`` (eval
trials x bins x neurons, expected counts per bin, for synthetic data) and a subgroup ``nbench_reference`` holding
one scalar float dataset per reference metric (e.g. ``rate R2 heldout (cond-avg ref)``); group attributes
``nbench_metrics`` (JSON list of the declared metric ids) and ``nbench_behavior`` (JSON ``[name, kind, decoder]``
of the scored behaviour). A group without ``nbench_metrics`` is scored with the metrics of the NLB task of its
name; other groups must declare theirs.

Reading checks every declared shape, dtype and size before loading data (a dataset declaring far more bytes than
the file stores is refused before anything is allocated), then the values with the same rules as submissions
(:func:`nbench.values.value_problem`): spike counts are whole numbers >= 0 or NaN, true rates finite and
>= 0, behaviour finite or NaN, PSTH rows finite and >= 0 or NaN as a whole (neuron 0 marks the row), reference
values finite. Each problem is one ``ValidationError`` line naming the file, group, key, what was expected and
what was found. Writing is atomic.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench.errors import ValidationError
from nbench.io import atomic_path, h5_kind, is_array, open_h5_checked, refuse_links, storage_problem
from nbench.metrics import metric_info
from nbench.tasks.base import BehaviorSpec, Targets
from nbench.values import value_problem

logger = logging.getLogger(__name__)

REFERENCE_GROUP = "nbench_reference"
METRICS_ATTR = "nbench_metrics"
BEHAVIOR_ATTR = "nbench_behavior"
MAX_DATASET_BYTES = 8 * 2**30
COUNT_KEYS = ("eval_spikes_heldout", "eval_spikes_heldin_forward", "eval_spikes_heldout_forward")
#: key -> (what is expected, value_problem arguments)
VALUE_RULES: dict[str, tuple[str, dict[str, Any]]] = {
    **{key: ("spike counts (whole numbers >= 0, or NaN where not scored)", {"nan_ok": True, "whole": True})
       for key in COUNT_KEYS},
    **{key: ("finite rates >= 0", {}) for key in ("eval_true_rates_heldin", "eval_true_rates_heldout")},
    **{key: ("finite values (or NaN where not scored)", {"nan_ok": True, "nonnegative": False})
       for key in ("train_behavior", "eval_behavior")},
}
ARRAY_KEYS = ("eval_spikes_heldout", "train_behavior", "eval_behavior", "eval_spikes_heldin_forward",
              "eval_spikes_heldout_forward", "train_decode_mask", "eval_decode_mask", "psth", "eval_jitter",
              "train_jitter", "eval_true_rates_heldin", "eval_true_rates_heldout")
INDEX_KEYS = ("eval_cond_idx", "train_cond_idx")
PAIRS = (("train_behavior", "eval_behavior"), ("eval_spikes_heldin_forward", "eval_spikes_heldout_forward"),
         ("train_decode_mask", "eval_decode_mask"))
NDIM = {"eval_spikes_heldout": (3,), "train_behavior": (2, 3), "eval_behavior": (2, 3),
        "eval_spikes_heldin_forward": (3,), "eval_spikes_heldout_forward": (3,), "train_decode_mask": (2,),
        "eval_decode_mask": (2,), "psth": (3,), "eval_jitter": (1,), "train_jitter": (1,),
        "eval_true_rates_heldin": (3,), "eval_true_rates_heldout": (3,)}


class _Reader:
    """Validating reader of one group; ``where`` prefixes every error message."""

    def __init__(self, path: Path, group: h5py.Group, max_bytes: int) -> None:
        self.path, self.group, self.max_bytes = path, group, max_bytes
        self.where = f"{path}: group {group.name.lstrip('/')!r}"
        self.shapes: dict[str, tuple[int, ...]] = {}

    def fail(self, key: str, expected: str, actual: Any) -> ValidationError:
        return ValidationError(f"{self.where}: key {key!r} expected {expected}, got {actual}")

    def declare(self, key: str) -> None:
        """Check a dataset's declared shape, dtype and size without reading it."""
        node = self.group[key]
        if not is_array(node):
            raise self.fail(key, "a dataset", h5_kind(node))
        dtype = node.dtype
        if key in INDEX_KEYS:
            base = h5py.check_vlen_dtype(dtype) or dtype
            if base.kind not in "iu" or node.ndim not in (1, 2):
                raise self.fail(key, "per-condition integer index arrays (vlen int)", f"{node.ndim}-d {dtype}")
        else:
            if dtype.kind not in "fiub":
                raise self.fail(key, "a numeric array", f"dtype {dtype}")
            if node.ndim not in NDIM[key]:
                raise self.fail(key, f"{' or '.join(map(str, NDIM[key]))} dimensions", f"shape {node.shape}")
        nbytes = int(np.prod(node.shape, dtype=np.float64) * dtype.itemsize)
        if nbytes > self.max_bytes:
            raise self.fail(key, f"at most {self.max_bytes} bytes", f"shape {node.shape} ({nbytes} bytes)")
        problem = storage_problem(node)
        if problem is not None:
            raise ValidationError(f"{self.where}: key {key!r} {problem}")
        if key == "eval_spikes_heldout" and 0 in node.shape:
            raise self.fail(key, "at least one eval trial, bin and held-out neuron", f"shape {node.shape}")
        self.shapes[key] = node.shape

    def load(self, key: str) -> np.ndarray:
        try:
            return self.group[key][()]
        except OSError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValidationError(f"{self.where}: key {key!r} unreadable, perhaps truncated ({reason})") from exc

    def same(self, key_a: str, axis_a: int, key_b: str, axis_b: int, what: str) -> None:
        if key_a in self.shapes and key_b in self.shapes:
            a, b = self.shapes[key_a][axis_a], self.shapes[key_b][axis_b]
            if a != b:
                raise self.fail(key_b, f"{a} {what} (as {key_a!r})", f"{b} (shape {self.shapes[key_b]})")


def _check_consistency(r: _Reader) -> None:
    for a, b in PAIRS:
        if (a in r.shapes) != (b in r.shapes):
            present, absent = (a, b) if a in r.shapes else (b, a)
            raise r.fail(absent, f"to be present together with {present!r}", "nothing")
    eval_keys = [k for k in ARRAY_KEYS if k.startswith("eval_") and k in r.shapes]
    for key in eval_keys:
        r.same("eval_spikes_heldout", 0, key, 0, "eval trials")
    for key in ("train_decode_mask", "train_jitter"):
        r.same("train_behavior", 0, key, 0, "train trials")
    r.same("train_decode_mask", 1, "eval_decode_mask", 1, "mask columns")
    r.same("eval_spikes_heldin_forward", 1, "eval_spikes_heldout_forward", 1, "forward bins")
    r.same("eval_spikes_heldout", 2, "eval_spikes_heldout_forward", 2, "held-out neurons")
    r.same("eval_spikes_heldout", 2, "eval_true_rates_heldout", 2, "held-out neurons")
    r.same("eval_spikes_heldin_forward", 2, "eval_true_rates_heldin", 2, "held-in neurons")
    for key in ("eval_true_rates_heldin", "eval_true_rates_heldout", "psth"):
        r.same("eval_spikes_heldout", 1, key, 1, "bins")
    if "train_behavior" in r.shapes:
        tb, eb = r.shapes["train_behavior"], r.shapes["eval_behavior"]
        if len(tb) != len(eb) or tb[-1] != eb[-1] or tb[1:-1] != eb[1:-1]:
            raise r.fail("eval_behavior", f"the layout of train_behavior {tb} apart from trials", f"shape {eb}")
        if len(eb) == 3:
            r.same("eval_spikes_heldout", 1, "eval_behavior", 1, "bins")
    if "psth" in r.shapes:
        if "eval_cond_idx" not in r.shapes:
            raise r.fail("eval_cond_idx", "to be present together with 'psth'", "nothing")
        r.same("psth", 0, "eval_cond_idx", 0, "conditions")
        n_out = r.shapes["eval_spikes_heldout"][2]
        if r.shapes["psth"][2] < n_out:
            raise r.fail("psth", f"at least {n_out} neurons (held-in + held-out)", f"shape {r.shapes['psth']}")
        for key in ("eval_spikes_heldin_forward", "eval_true_rates_heldin"):
            if key in r.shapes and r.shapes["psth"][2] != r.shapes[key][2] + n_out:
                raise r.fail("psth", f"{r.shapes[key][2] + n_out} neurons (held-in + held-out)",
                             f"shape {r.shapes['psth']}")


def _index_lists(r: _Reader, key: str, n_trials: int | None) -> list[np.ndarray]:
    raw = r.load(key)
    rows = [np.asarray(row, dtype=np.int64).ravel() for row in raw]
    if n_trials is not None:
        for cond, row in enumerate(rows):
            if row.size and (row.min() < 0 or row.max() >= n_trials):
                raise r.fail(key, f"indices in 0..{n_trials - 1}", f"condition {cond} with {row.min()}..{row.max()}")
    return rows


def _read_reference(r: _Reader) -> dict[str, float]:
    node = r.group.get(REFERENCE_GROUP)
    if node is None:
        return {}
    if not isinstance(node, h5py.Group):
        raise r.fail(REFERENCE_GROUP, "a group of scalar datasets", h5_kind(node))
    out = {}
    for name, item in node.items():
        if not is_array(item) or item.shape != () or item.dtype.kind not in "fiu":
            raise r.fail(f"{REFERENCE_GROUP}/{name}", "a numeric scalar", h5_kind(item))
        out[name] = float(item[()])
        if not np.isfinite(out[name]):
            raise r.fail(f"{REFERENCE_GROUP}/{name}", "a finite number", out[name])
    return out


def _check_values(r: _Reader, arrays: dict[str, np.ndarray]) -> None:
    """Target values by the rules submissions follow (see the module docstring)."""
    for key, (expected, rules) in VALUE_RULES.items():
        problem = value_problem(arrays[key].astype(np.float64, copy=False), **rules) if key in arrays else None
        if problem is not None:
            raise r.fail(key, expected, problem)
    if "psth" in arrays:
        psth = arrays["psth"].astype(np.float64, copy=False)
        unscored = np.isnan(psth[..., :1])  # nlb_tools scores the rows where neuron 0 is not NaN
        problem = value_problem(psth, unscored)
        if problem is not None:
            raise r.fail("psth", "finite rates >= 0 (NaN only for a whole time row, marked by neuron 0)", problem)


def _read_group(path: Path, group: h5py.Group, max_bytes: int) -> Targets:
    r = _Reader(path, group, max_bytes)
    known = set(ARRAY_KEYS) | set(INDEX_KEYS) | {REFERENCE_GROUP}
    unknown = sorted(set(group) - known)
    if unknown:
        logger.warning("%s: ignoring unknown keys %s", r.where, ", ".join(unknown))
    if "eval_spikes_heldout" not in group:
        raise r.fail("eval_spikes_heldout", "a dataset (eval trials x bins x held-out neurons)", "nothing")
    for key in ARRAY_KEYS + INDEX_KEYS:
        if key in group:
            r.declare(key)
    _check_consistency(r)
    arrays = {key: r.load(key) for key in ARRAY_KEYS if key in r.shapes and key not in ("train_jitter",)}
    for key in ("train_decode_mask", "eval_decode_mask"):
        if key in arrays:
            if arrays[key].dtype.kind != "b" and not np.isin(arrays[key], (0, 1)).all():
                raise r.fail(key, "booleans", f"values {np.unique(arrays[key])[:5]}")
            arrays[key] = arrays[key].astype(bool)
    _check_values(r, arrays)
    if "eval_jitter" in arrays and not np.all(np.mod(arrays["eval_jitter"], 1) == 0):
        raise r.fail("eval_jitter", "whole numbers of bins", f"dtype {arrays['eval_jitter'].dtype} fractions")
    cond_idx = None
    if "eval_cond_idx" in r.shapes:
        cond_idx = _index_lists(r, "eval_cond_idx", r.shapes["eval_spikes_heldout"][0])
    metrics, behavior = _declaration(r)
    return Targets(group=group.name.lstrip("/"), eval_cond_idx=cond_idx, reference=_read_reference(r),
                   metrics=metrics, behavior=behavior, **arrays)


def _declaration(r: _Reader) -> tuple[tuple[str, ...], BehaviorSpec | None]:
    """The group's declared metrics and behaviour (nbench attributes), checked against nbench's metric table."""
    metrics: tuple[str, ...] = ()
    behavior = None
    raw = r.group.attrs.get(METRICS_ATTR)
    if raw is not None:
        try:
            metrics = tuple(json.loads(raw))
        except (TypeError, ValueError):
            raise r.fail(METRICS_ATTR, "a JSON list of metric names", repr(raw)[:60]) from None
        unknown = [m for m in metrics if not isinstance(m, str) or metric_info(m) is None]
        if unknown:
            raise r.fail(METRICS_ATTR, "metric names nbench defines (nbench list metrics)", repr(unknown[0])[:60])
    raw = r.group.attrs.get(BEHAVIOR_ATTR)
    if raw is not None:
        try:
            behavior = BehaviorSpec(*json.loads(raw))
        except (TypeError, ValueError):
            raise r.fail(BEHAVIOR_ATTR, "a JSON [name, kind, decoder]", repr(raw)[:60]) from None
    return metrics, behavior


def read_targets(path: str | Path, *, max_dataset_bytes: int = MAX_DATASET_BYTES) -> dict[str, Targets]:
    """Read an NLB-layout target file into ``{group: Targets}``.

    Raises
    ------
    ValidationError
        One line naming the file, group and key: not HDF5, truncated, HDF5 links, missing required keys,
        wrong dimensions, shapes that disagree between keys, or declared sizes above ``max_dataset_bytes``.
    """
    path = Path(path)
    with open_h5_checked(path, "target file") as h5:
        refuse_links(h5, path)
        groups = [name for name in h5 if isinstance(h5[name], h5py.Group)]
        if not groups:
            raise ValidationError(f"{path}: expected at least one target group (e.g. 'mc_maze'), got none")
        return {name: _read_group(path, h5[name], max_dataset_bytes) for name in groups}


def write_targets(path: str | Path, targets: dict[str, Targets], *, compression: str | None = "gzip") -> Path:
    """Write ``{group: Targets}`` in the NLB target layout, atomically; return ``path``.

    Arrays keep their dtype; index lists are stored as vlen int32 (as ``nlb_tools.save_to_h5`` does).
    """
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for name, target in targets.items():
            group = h5.create_group(name)
            for key in ARRAY_KEYS:
                value = getattr(target, key, None)
                if value is not None:
                    group.create_dataset(key, data=np.asarray(value), compression=compression)
            if target.eval_cond_idx is not None:
                rows = np.empty(len(target.eval_cond_idx), dtype=object)
                rows[:] = [np.asarray(row, dtype=np.int32).ravel() for row in target.eval_cond_idx]
                group.create_dataset("eval_cond_idx", data=rows, dtype=h5py.vlen_dtype(np.int32))
            if target.metrics:
                group.attrs[METRICS_ATTR] = json.dumps(list(target.metrics))
            if target.behavior is not None:
                b = target.behavior
                group.attrs[BEHAVIOR_ATTR] = json.dumps([b.name, b.kind, b.decoder])
            if target.reference:
                ref = group.create_group(REFERENCE_GROUP)
                for key, value in target.reference.items():
                    ref.create_dataset(key, data=float(value))
    return path
