"""Validate a submission file against what a task (or a target file) expects, before anything is scored.

Everything is checked from HDF5 metadata first (groups, keys, object kinds, dtypes, shapes, declared sizes), so
a file that declares a 10^12-element array is refused without reading it. Values are checked after loading:
no infinities, no negative rates, and NaN only where nlb_tools ignores the rate (where the target's spikes are
NaN, e.g. outside DMFC's set-go window, or where the decoded behavior is NaN); latents may be any finite real
values (NaN where the rates of the bin may be). Each problem raises one
:class:`~nbench.errors.ValidationError` line naming the file, group, key, expected and actual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nbench.errors import ValidationError
from nbench.h5chunks import read_into
from nbench.io import h5_kind, is_array, open_h5_checked, refuse_links
from nbench.submission import ALL_KEYS, LATENT_KEYS, RATE_KEYS, Submission
from nbench.tasks.base import Targets, TaskInputs
from nbench.text import short_list
from nbench.values import value_problem

#: Largest array accepted before any comparison with a task (elements); MC_Maze's largest is ~45 M.
MAX_ELEMENTS = 2_000_000_000 // 8
FORWARD_KEYS = ("eval_rates_heldin_forward", "eval_rates_heldout_forward")
#: Keys that must come together, and what the error says about them.
PAIRS = ((FORWARD_KEYS, "forward rates come in pairs"), (LATENT_KEYS, "latents come in pairs"))


@dataclass(frozen=True)
class GroupSpec:
    """What one submission group must look like. ``None`` sizes are unknown and only checked for consistency.

    ``required`` are the rate keys a group with rates must hold; a group may instead hold no rates and only
    ``eval_behavior_pred`` when ``behavior_shape`` is set (the task scores directly predicted behaviour).
    ``nan_ok`` maps a key to a boolean (trials x bins) mask of positions where NaN rates are tolerated.
    """

    group: str
    n_train: int | None
    n_eval: int
    n_bins: int
    n_heldin: int | None
    n_heldout: int
    forward_bins: int | None
    required: tuple[str, ...]
    nan_ok: dict[str, np.ndarray] = field(default_factory=dict)
    behavior_shape: tuple[int, ...] | None = None

    def expected_shape(self, key: str) -> tuple[int | None, ...] | None:
        if key == "eval_behavior_pred":
            return self.behavior_shape
        if key in LATENT_KEYS:
            return (self.n_train if key.startswith("train_") else self.n_eval, self.n_bins, None)
        trials = self.n_train if key.startswith("train_") else self.n_eval
        bins = self.forward_bins if key.endswith("_forward") else self.n_bins
        neurons = {"heldin": self.n_heldin, "heldout": self.n_heldout}.get(key.split("_")[2])
        return (trials, bins, neurons)

    def missing(self, present: list[str]) -> list[str]:
        """Required keys absent from ``present`` (a behaviour-only group needs none of the rate keys)."""
        has_rates = any(k in RATE_KEYS for k in present)
        if not has_rates and "eval_behavior_pred" in present and self.behavior_shape is not None:
            return []
        if not has_rates and not self.required and self.behavior_shape is not None:
            return ["eval_behavior_pred"]
        return [k for k in self.required if k not in present]


def spec_from_targets(targets: Targets, inputs: TaskInputs | None = None) -> GroupSpec:
    """Expected layout of a submission group, from a task's inputs and targets (or from targets alone)."""
    spikes = targets.eval_spikes_heldout
    n_eval, n_bins, n_heldout = spikes.shape
    per_bin_behavior = targets.train_behavior is not None and targets.train_behavior.ndim == 3
    n_train = inputs.n_train if inputs is not None else (
        targets.train_behavior.shape[0] if targets.train_behavior is not None else None)
    n_heldin = inputs.n_heldin if inputs is not None else _heldin_from_targets(targets, n_heldout)
    forward = targets.eval_spikes_heldin_forward
    forward_bins = inputs.forward_bins if inputs is not None else (None if forward is None else forward.shape[1])
    required = _required_rates(targets, n_heldin, n_heldout, per_bin_behavior)
    nan_ok = {}
    eval_gap = np.isnan(spikes).all(axis=2)
    if eval_gap.any():
        nan_ok.update(eval_rates_heldin=eval_gap, eval_rates_heldout=eval_gap, eval_latents=eval_gap)
    if per_bin_behavior:
        train_gap = np.isnan(targets.train_behavior[..., 0])
        nan_ok.update(train_rates_heldin=train_gap, train_rates_heldout=train_gap, train_latents=train_gap)
    return GroupSpec(targets.group, n_train, n_eval, n_bins, n_heldin, n_heldout, forward_bins or None, required,
                     nan_ok, _behavior_shape(targets))


def _required_rates(targets: Targets, n_heldin: int | None, n_heldout: int, per_bin_behavior: bool
                    ) -> tuple[str, ...]:
    """The rate keys the declared metrics are computed from (NLB groups: all four, as NLB's layout has them)."""
    declared = set(targets.metrics)
    decoded = per_bin_behavior or _decodes_from_train(targets)
    everything = not declared or decoded or bool(declared & {"psth R2", "tp corr", "rate R2"})
    need_in = everything or "rate R2 heldin" in declared
    need_out = everything or bool(declared & {"co-bps", "co-bps per neuron", "rate R2 heldout"})
    sides = (("eval_rates_heldin", need_in, n_heldin), ("eval_rates_heldout", need_out, n_heldout))
    keys = [key for key, need, n in sides if need and (n is None or n > 0)]
    if decoded:
        keys = ["train_rates_heldin", "train_rates_heldout"] + keys
    return tuple(keys)


def trimmed(sub: Submission, spec: GroupSpec) -> Submission:
    """``sub`` without the arrays its view does not score (a leave-one-out view needs one neuron's eval rates,
    not every visible neuron's train and eval rates)."""
    keep = set(spec.required)
    if spec.forward_bins:
        keep |= set(FORWARD_KEYS)
    if spec.behavior_shape is not None:
        keep.add("eval_behavior_pred")
    if not spec.required:
        keep |= {"eval_rates_heldin", "eval_rates_heldout"}
    return Submission(sub.group, **{k: v for k, v in sub.arrays().items() if k in keep})


def _decodes_from_train(targets: Targets) -> bool:
    """True when a declared behaviour metric is decoded by a decoder fit on the train rates."""
    spec = targets.behavior
    return spec is not None and spec.decoder != "tp_corr" and spec.decoded_metric in targets.metrics


def _behavior_shape(targets: Targets) -> tuple[int, ...] | None:
    """Shape of ``eval_behavior_pred`` when the task scores directly predicted behaviour, else None."""
    spec = targets.behavior
    if spec is None or targets.eval_behavior is None or spec.predicted_metric not in targets.metrics:
        return None
    if spec.kind == "categorical":
        return (targets.n_eval, 1)
    return tuple(targets.eval_behavior.shape)


def _heldin_from_targets(targets: Targets, n_heldout: int) -> int | None:
    if targets.psth is not None:
        return targets.psth.shape[2] - n_heldout
    if targets.eval_spikes_heldin_forward is not None:
        return targets.eval_spikes_heldin_forward.shape[2]
    return None


def submission_groups(path: str | Path) -> list[str]:
    """Top-level group names of a submission file (after the file, link and layout checks)."""
    path = Path(path)
    with open_h5_checked(path, "submission file") as h5:
        refuse_links(h5, path)
        names = list(h5.keys())
        if not names:
            raise ValidationError(f"{path}: no groups (expected one group per task, e.g. 'lorenz' or 'mc_maze')")
        not_groups = [k for k in names if not isinstance(h5[k], h5py.Group)]
        if not_groups:
            raise ValidationError(f"{path}: top-level key {not_groups[0]!r} is {h5_kind(h5[not_groups[0]])} "
                                  "(expected one group per task, e.g. 'lorenz' or 'mc_maze')")
        return names


def load_submission(path: str | Path, specs: dict[str, GroupSpec], *, allow_extra_groups: bool = False
                    ) -> dict[str, Submission]:
    """Open, check and load the groups of ``specs`` from a submission file.

    Parameters
    ----------
    path
        Submission ``.h5`` file.
    specs
        Expected groups. Groups of the file not in ``specs`` are an error unless ``allow_extra_groups``.

    Raises
    ------
    ValidationError
        The first problem found, as one line.
    """
    path = Path(path)
    with open_h5_checked(path, "submission file") as h5:
        refuse_links(h5, path)
        _check_groups(h5, path, specs, allow_extra_groups)
        subs = {}
        for name, spec in specs.items():
            group = h5[name]
            _check_group_layout(group, path, spec)
            arrays = _read_group(group, path, name)
            for key, value in arrays.items():
                _check_values(value, path, name, key, spec.nan_ok.get(key))
            subs[name] = Submission(group=name, **{k: arrays.get(k) for k in ALL_KEYS})
    return subs


def validate_submission(sub: Submission, spec: GroupSpec, source: str = "model output") -> Submission:
    """Check an in-memory submission (a model's predictions) with the same rules as a file; return it."""
    where = f"{source}: group {spec.group!r}"
    arrays = sub.arrays()
    missing = spec.missing(list(arrays))
    if missing:
        raise ValidationError(f"{where}: missing key {missing[0]!r} (required: {list(spec.required)})")
    _check_pairs(list(arrays), where)
    for key, value in arrays.items():
        value = np.asarray(value)
        check_array_meta(value.shape, value.dtype, f"{where} key {key!r}", spec.expected_shape(key))
        _check_values(value.astype(np.float64, copy=False), Path(source), spec.group, key, spec.nan_ok.get(key))
    return sub


def _check_groups(h5: h5py.File, path: Path, specs: dict[str, GroupSpec], allow_extra: bool) -> None:
    """Every expected group present (``task`` or, for multi-view tasks, ``task/session/query``), none other."""
    tops = list(dict.fromkeys(key.split("/")[0] for key in specs))
    found = list(h5.keys())
    missing = [key for key in specs if not isinstance(h5.get(key), h5py.Group)]
    if missing:
        raise ValidationError(f"{path}: missing group {missing[0]!r} (expected groups {short_list(sorted(specs))}; "
                              f"found {short_list(sorted(found))})")
    extra = [g for g in found if g not in tops]
    if extra and not allow_extra:
        raise ValidationError(f"{path}: unexpected group {extra[0]!r} (expected only {short_list(sorted(tops))})")
    nested = [key for key in specs if "/" in key]
    expected = set(nested) | {key.rsplit("/", 1)[0] for key in nested}
    for top in {key.split("/")[0] for key in nested}:
        for session in h5[top]:
            for name in [f"{top}/{session}"] + [f"{top}/{session}/{q}" for q in _subgroups(h5[top][session])]:
                if name not in expected:
                    raise ValidationError(f"{path}: unexpected group {name!r} (expected {short_list(sorted(specs))})")


def _subgroups(node: h5py.HLObject) -> list[str]:
    return list(node) if isinstance(node, h5py.Group) else []


def _check_group_layout(group: h5py.Group, path: Path, spec: GroupSpec) -> None:
    where = f"{path}: group {spec.group!r}"
    keys = list(group.keys())
    unknown = [k for k in keys if k not in ALL_KEYS]
    if unknown:
        raise ValidationError(f"{where}: unexpected key {unknown[0]!r} (expected keys among {list(ALL_KEYS)})")
    missing = spec.missing(keys)
    if missing:
        raise ValidationError(f"{where}: missing key {missing[0]!r} (required: {list(spec.required)})")
    _check_pairs(keys, where)
    forward = [k for k in FORWARD_KEYS if k in keys]
    if forward and spec.forward_bins is None and spec.n_eval is not None:
        raise ValidationError(f"{where}: key {forward[0]!r} given, but this task has no forward window")
    for key in keys:
        _check_dataset_meta(group[key], f"{where} key {key!r}", spec.expected_shape(key))
    _check_consistency(group, where)


def _check_pairs(keys: list[str], where: str) -> None:
    for pair, why in PAIRS:
        given = [k for k in pair if k in keys]
        if len(given) == 1:
            other = pair[1 - pair.index(given[0])]
            raise ValidationError(f"{where}: key {given[0]!r} present but {other!r} missing ({why})")


def _check_dataset_meta(obj: h5py.HLObject, where: str, expected: tuple[int | None, ...] | None) -> None:
    if not is_array(obj):
        raise ValidationError(f"{where}: expected a dataset, got {h5_kind(obj)}")
    if obj.dtype.names is not None:
        raise ValidationError(f"{where}: expected a float array, got compound dtype {obj.dtype}")
    check_array_meta(obj.shape or (), obj.dtype, where, expected)


def check_array_meta(shape: tuple[int, ...], dtype: np.dtype, where: str,
                     expected: tuple[int | None, ...] | None) -> None:
    """Check dtype, declared size and shape of one array (from HDF5 metadata or in memory)."""
    if dtype.kind not in "fiu":
        raise ValidationError(f"{where}: expected a float array, got dtype {dtype}")
    size = int(np.prod(shape, dtype=np.float64))
    if size > MAX_ELEMENTS:
        raise ValidationError(f"{where}: declared shape {shape} ({size:.3g} elements) is absurdly large "
                              f"(limit {MAX_ELEMENTS:.3g})")
    if expected is None:
        return
    ok = len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected, strict=False))
    if not ok:
        shown = tuple("?" if e is None else e for e in expected)
        raise ValidationError(f"{where}: expected shape {shown}, got {shape}")


def _check_consistency(group: h5py.Group, where: str) -> None:
    """Sizes the spec may not know (n_train, n_heldin) must agree between keys."""
    dims = {key: group[key].shape for key in group if key in ALL_KEYS and len(group[key].shape or ()) == 3}
    pairs = [("train_rates_heldin", "train_rates_heldout", 0, "trials"),
             ("train_rates_heldin", "eval_rates_heldin", 2, "held-in neurons"),
             ("eval_rates_heldin", "eval_rates_heldin_forward", 2, "held-in neurons"),
             ("train_rates_heldin", "eval_rates_heldin", 1, "bins"),
             ("train_latents", "eval_latents", 2, "latent dimensions"),
             ("train_rates_heldin", "train_latents", 0, "trials")]
    for a, b, axis, what in pairs:
        if a in dims and b in dims and dims[a][axis] != dims[b][axis]:
            raise ValidationError(f"{where}: key {b!r} has {dims[b][axis]} {what}, but {a!r} has {dims[a][axis]}")


def _read_group(group: h5py.Group, path: Path, name: str) -> dict[str, np.ndarray]:
    """Every dataset of ``group``: float32 data stay float32 (exact, half the memory; the metrics cast to
    float64 where they compute), any other numeric type becomes float64.

    A held-in / held-out pair of the same split (shapes already checked to agree in trials x bins) is read
    into one trials x bins x (held-in + held-out) buffer and returned as its two views, so that the scorer
    gets the all-neuron array it needs without concatenating (``nbench.submission.joined_neurons``).
    """
    arrays: dict[str, np.ndarray] = {}
    for heldin_key in [k for k in group if "_heldin" in k]:
        heldout_key = heldin_key.replace("_heldin", "_heldout")
        heldin, heldout = group[heldin_key], group.get(heldout_key)
        if heldout is None or heldin.ndim != 3 or heldin.shape[:2] != heldout.shape[:2]:
            continue
        n_in = heldin.shape[2]
        both = np.empty(heldin.shape[:2] + (n_in + heldout.shape[2],), dtype=_read_dtype(heldin, heldout))
        _read_into(heldin, both, np.s_[..., :n_in], path, name, heldin_key)
        _read_into(heldout, both, np.s_[..., n_in:], path, name, heldout_key)
        arrays[heldin_key], arrays[heldout_key] = both[..., :n_in], both[..., n_in:]
    for key in group:
        if key not in arrays:
            obj = group[key]
            arrays[key] = np.empty(obj.shape, dtype=_read_dtype(obj))
            _read_into(obj, arrays[key], np.s_[...], path, name, key)
    return arrays


def _read_dtype(*datasets: h5py.Dataset) -> type:
    return np.float32 if all(d.dtype == np.float32 for d in datasets) else np.float64


def _read_into(obj: h5py.Dataset, out: np.ndarray, where: tuple, path: Path, group: str, key: str) -> None:
    """Read dataset ``obj`` into ``out[where]``, cast on the way (chunks inflated in parallel)."""
    try:
        read_into(obj, out, where)
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{path}: group {group!r} key {key!r}: data unreadable, file damaged or truncated "
                              f"({reason})") from exc


def _check_values(value: np.ndarray, path: Path, group: str, key: str, nan_ok: np.ndarray | None) -> None:
    allowed = nan_ok[..., None] if nan_ok is not None and value.ndim == 3 else False
    rates = key in RATE_KEYS  # behaviour and latents may be negative
    problem = value_problem(value, allowed, nonnegative=rates)
    if problem is not None:
        expected = "finite rates >= 0" if rates else "finite values"
        raise ValidationError(f"{path}: group {group!r} key {key!r}: expected {expected}, got {problem}")
