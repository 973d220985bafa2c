"""Synthetic NLB-shaped targets and submissions for parity tests and the scoring benchmark.

Rates come from smooth condition-specific latent trajectories (exp link), spikes are Poisson draws, behaviour is
a noisy linear read-out of the latents, and the "submission" is the true rates with multiplicative noise, so
every metric lands in a realistic range. Options produce NLB's edge cases: DMFC NaN front-padding, per-trial
behaviour and jitter, area2 decode masks, NaN behaviour at trial edges (MC_RTT), silent neurons, exact-zero
rates, constant PSTH columns and empty conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from nbench.submission import Submission

SUB_KEYS = ("train_rates_heldin", "train_rates_heldout", "eval_rates_heldin", "eval_rates_heldout",
            "eval_rates_heldin_forward", "eval_rates_heldout_forward")


@dataclass(frozen=True)
class GroupSpec:
    """Shape and edge cases of one synthetic submission group."""

    name: str
    n_train: int
    n_eval: int
    n_bins: int
    n_heldin: int
    n_heldout: int
    n_forward: int
    bin_ms: int = 5
    n_conds: int = 8
    behavior: str = "bins"  # "bins", "trial" (DMFC) or "none"
    n_masks: int = 0
    psth: bool = True
    behavior_nan_edges: bool = False
    dmfc_padding: bool = False
    jitter: tuple[int, int] = (0, 0)
    true_rates: bool = False
    silent_heldout: int = 0
    zero_rate_frac: float = 0.0
    constant_psth_neuron: bool = False
    empty_condition: bool = False
    model_noise: float = 0.3


def nlb_like_specs(scale: float = 1.0) -> list[GroupSpec]:
    """The five groups of a multi-dataset NLB file (small trial counts unless ``scale`` > 1)."""

    def n(x: int) -> int:
        return max(4, int(round(x * scale)))

    return [
        GroupSpec("mc_maze", n(40), n(14), 28, 20, 7, 8, n_conds=6, silent_heldout=1, zero_rate_frac=0.01),
        GroupSpec("mc_rtt", n(30), n(10), 24, 16, 6, 8, psth=False, behavior_nan_edges=True),
        GroupSpec("area2_bump", n(30), n(12), 24, 12, 5, 8, n_masks=2, n_conds=4),
        GroupSpec("dmfc_rsg", n(40), n(48), 60, 12, 5, 8, behavior="trial", dmfc_padding=True, jitter=(0, 6),
                  n_conds=8),
        GroupSpec("mc_maze_small_20", n(20), n(8), 7, 14, 5, 2, bin_ms=20, n_conds=4),
    ]


def mc_maze_val_spec() -> GroupSpec:
    """Official MC_Maze val-phase shapes (nlb.md 2.2): 1721/574 trials, 140 bins, 137/45 neurons, 108 conds."""
    return GroupSpec("mc_maze", 1721, 574, 140, 137, 45, 40, n_conds=108, silent_heldout=1)


def _latents(rng: np.random.Generator, n_conds: int, length: int, n_latent: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, length)
    freq = rng.uniform(0.5, 2.5, (n_conds, 1, n_latent))
    phase = rng.uniform(0, 2 * np.pi, (n_conds, 1, n_latent))
    return np.sin(2 * np.pi * freq * t[None, :, None] + phase)


def make_group(spec: GroupSpec, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return ``(targets, submission)`` dicts with NLB key names (float64; spikes are counts)."""
    rng = np.random.default_rng(seed)
    n_all, n_lat = spec.n_train + spec.n_eval, 6
    n_neurons = spec.n_heldin + spec.n_heldout
    length = spec.n_bins + spec.n_forward
    cond = rng.integers(0, spec.n_conds, n_all)
    if spec.empty_condition:
        cond[cond == spec.n_conds - 1] = 0
    z = _latents(rng, spec.n_conds, length, n_lat)[cond] + 0.15 * rng.standard_normal((n_all, length, n_lat))
    base_hz = rng.uniform(2.0, 40.0, n_neurons)
    log_rates = z @ rng.normal(0, 0.6, (n_lat, n_neurons)) + np.log(base_hz * spec.bin_ms / 1000.0)
    true = np.exp(log_rates)
    if spec.silent_heldout:
        true[..., n_neurons - spec.silent_heldout:] = 0.0
    spikes = rng.poisson(true).astype(np.float64)
    pred = true * rng.lognormal(0.0, spec.model_noise, true.shape)
    if spec.silent_heldout:
        pred[..., n_neurons - spec.silent_heldout:] = rng.uniform(1e-4, 1e-2, spec.silent_heldout)
    if spec.zero_rate_frac:
        pred[rng.random(pred.shape) < spec.zero_rate_frac] = 0.0
    tr, ev = slice(0, spec.n_train), slice(spec.n_train, n_all)
    win, fwd = slice(0, spec.n_bins), slice(spec.n_bins, length)
    hi, ho = slice(0, spec.n_heldin), slice(spec.n_heldin, n_neurons)
    sub = {"train_rates_heldin": pred[tr, win, hi], "train_rates_heldout": pred[tr, win, ho],
           "eval_rates_heldin": pred[ev, win, hi], "eval_rates_heldout": pred[ev, win, ho],
           "eval_rates_heldin_forward": pred[ev, fwd, hi], "eval_rates_heldout_forward": pred[ev, fwd, ho]}
    tgt = {"eval_spikes_heldout": spikes[ev, win, ho].copy()}
    if spec.n_forward:
        tgt.update(eval_spikes_heldin_forward=spikes[ev, fwd, hi], eval_spikes_heldout_forward=spikes[ev, fwd, ho])
    else:
        del sub["eval_rates_heldin_forward"], sub["eval_rates_heldout_forward"]
    jitter = rng.integers(spec.jitter[0], spec.jitter[1] + 1, spec.n_eval) if spec.jitter != (0, 0) else None
    if spec.dmfc_padding:
        starts = rng.integers(0, spec.n_bins // 2, spec.n_eval)
        tgt["eval_spikes_heldout"][np.arange(spec.n_bins)[None, :] < starts[:, None]] = np.nan
    if spec.behavior == "bins":
        _add_bin_behavior(rng, spec, z[:, win], tgt)
    elif spec.behavior == "trial":
        _add_trial_behavior(rng, spec, sub, tgt)
    if spec.n_masks:
        groups = rng.integers(0, spec.n_masks, n_all)
        masks = groups[:, None] == np.arange(spec.n_masks)[None, :]
        tgt["train_decode_mask"], tgt["eval_decode_mask"] = masks[tr], masks[ev]
    if spec.psth:
        _add_psth(rng, spec, true[:, win], cond, jitter, tgt, sub)
    if jitter is not None:
        tgt["eval_jitter"] = jitter
    if spec.true_rates:
        tgt["eval_true_rates_heldin"], tgt["eval_true_rates_heldout"] = true[ev, win, hi], true[ev, win, ho]
    return tgt, {k: np.ascontiguousarray(v) for k, v in sub.items()}


def _add_bin_behavior(rng: np.random.Generator, spec: GroupSpec, z: np.ndarray, tgt: dict) -> None:
    vel = z @ rng.normal(0, 120.0, (z.shape[-1], 2)) + rng.normal(0, 30.0, z.shape[:2] + (2,))
    if spec.behavior_nan_edges:
        for trial in range(len(vel)):
            vel[trial, : rng.integers(0, 3)] = np.nan
            vel[trial, spec.n_bins - rng.integers(0, 3):] = np.nan
    tgt["train_behavior"], tgt["eval_behavior"] = vel[: spec.n_train], vel[spec.n_train:]


def _add_trial_behavior(rng: np.random.Generator, spec: GroupSpec, sub: dict, tgt: dict) -> None:
    """DMFC columns [is_eye, theta, is_short, ts, tp]; tp correlates with the submitted neural speed."""
    n_all = spec.n_train + spec.n_eval
    # every (is_eye, theta, is_short) combination at least twice among eval trials: Pearson's r needs two
    combo = np.concatenate([rng.permutation(np.arange(n) % 8) for n in (spec.n_train, spec.n_eval)])
    cols = np.stack([combo % 2, 180.0 * (combo // 2 % 2), combo // 4], 1)
    ts = np.where(cols[:, 2] == 1, rng.choice([480.0, 640.0, 800.0], n_all), rng.choice([800.0, 1000.0], n_all))
    rates = np.concatenate([np.concatenate([sub["train_rates_heldin"], sub["train_rates_heldout"]], -1),
                            np.concatenate([sub["eval_rates_heldin"], sub["eval_rates_heldout"]], -1)])
    speed = np.linalg.norm(np.diff(rates, axis=1), axis=2).mean(axis=1)
    tp = ts * 1.05 - 400.0 * (speed - speed.mean()) / speed.std() + rng.normal(0, 80.0, n_all)
    behavior = np.column_stack([cols, ts, tp]).astype(np.float64)
    outlier = rng.random(n_all) < 0.05
    outlier[spec.n_train:] &= np.bincount(combo[spec.n_train:], minlength=8)[combo[spec.n_train:]] > 3
    behavior[outlier] = np.nan  # outlier trials
    tgt["train_behavior"], tgt["eval_behavior"] = behavior[: spec.n_train], behavior[spec.n_train:]


def _add_psth(rng: np.random.Generator, spec: GroupSpec, true: np.ndarray, cond: np.ndarray,
              jitter: np.ndarray | None, tgt: dict, sub: dict) -> None:
    psth = np.stack([true[cond == c].mean(axis=0) if (cond == c).any() else true.mean(axis=0)
                     for c in range(spec.n_conds)])
    eval_cond = cond[spec.n_train:]
    shifts = jitter if jitter is not None else np.zeros(spec.n_eval, dtype=int)
    for c in range(spec.n_conds):
        members = shifts[eval_cond == c]
        front = max(0, members.max(initial=0)) + (rng.integers(0, 4) if spec.dmfc_padding else 0)
        back = max(0, -members.min(initial=0))
        psth[c, :front] = np.nan
        if back:
            psth[c, spec.n_bins - back:] = np.nan
    if spec.constant_psth_neuron:
        psth[..., 1] = np.where(np.isnan(psth[..., 1]), np.nan, 0.05)
        sub["eval_rates_heldin"][..., 1] = 0.05
    tgt["psth"] = psth
    tgt["eval_cond_idx"] = _index_array([np.flatnonzero(eval_cond == c) for c in range(spec.n_conds)])
    tgt["train_cond_idx"] = _index_array([np.flatnonzero(cond[: spec.n_train] == c) for c in range(spec.n_conds)])


def _index_array(rows: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(rows), dtype=object)
    out[:] = rows
    return out


def make_dataset(specs: list[GroupSpec], seed: int = 0) -> tuple[dict[str, dict], dict[str, dict]]:
    """Targets and submission dicts for several groups, keyed by group name."""
    targets, subs = {}, {}
    for i, spec in enumerate(specs):
        targets[spec.name], subs[spec.name] = make_group(spec, seed + i)
    return targets, subs


def float32_roundtrip(subs: dict[str, dict]) -> dict[str, dict]:
    """The submission as ``save_to_h5`` stores it (float32), cast back to float64."""
    return {g: {k: v.astype(np.float32).astype(np.float64) for k, v in d.items()} for g, d in subs.items()}


def write_submission_h5(path: Path, subs: dict[str, dict], compression: str | None = "gzip") -> Path:
    """Write a submission in the NLB layout with float32 rates (as ``nlb_tools.save_to_h5``)."""
    with h5py.File(path, "w") as h5:
        for group, arrays in subs.items():
            g = h5.create_group(group)
            for key, value in arrays.items():
                g.create_dataset(key, data=np.asarray(value, dtype=np.float32), compression=compression)
    return path


def to_submission(group: str, arrays: dict[str, np.ndarray]) -> Submission:
    """A ``Submission`` from a dict with NLB key names (absent keys become None)."""
    fields = {k: arrays.get(k) for k in SUB_KEYS}
    return Submission(group=group, **fields)

