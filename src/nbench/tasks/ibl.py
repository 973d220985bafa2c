"""IBL sessions cut into MtM's trials: the trial filter, stimulus-aligned 2 s windows, 20 ms bins, the split.

MtM's preprocessing (reference/mtm.md section 3.2), applied to each fetched session:

- **trial filter** (IBL Brain Wide Map): drop trials whose reaction time (first movement - stimulus on) is below
  0.08 s or above 2 s, whose stimulus-on, choice, feedback, probability-left, first-movement or feedback-type is
  missing, whose choice is 0 (no response), or whose feedback comes more than 10 s after the go cue;
- **windows**: stimulus-aligned, -0.5 s to +1.5 s, binned at 20 ms (100 bins; the stimulus at bin 25), every unit;
  a spike at time t falls in bin ``floor((t - start) / 20 ms)``;
- **behaviour**: the choice as a label (1 for IBL's +1, 0 for -1); the whisker motion energy (left camera, else
  right) linearly interpolated at the bin centres;
- **split**: 70 / 10 / 20 % train / val / test by a permutation of the kept trials with numpy seed 42.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nbench.data.dandisets import dandiset_dir
from nbench.data.ibl.catalog import IBL_SESSIONS, IBLSession
from nbench.data.ibl.nwbread import read_ibl
from nbench.data.recording import Recording, TimedSeries, TrialSegments, TrialSpikes, TrialTable
from nbench.errors import DataError

WINDOW_S = (-0.5, 1.5)
BIN_MS = 20.0
SPLIT_SEED = 42


def ibl_file(session: IBLSession, root: str | Path | None = None) -> Path:
    """Where a session's processed NWB file lives in the data directory (may not exist yet)."""
    return dandiset_dir(session, root) / session.asset_path


def ibl_recordings(root: str | Path | None = None) -> list[Recording]:
    """Every fetched IBL session, cut into trials; a one-line error when none is on disk."""
    found = [(s, ibl_file(s, root)) for s in IBL_SESSIONS.values()]
    present = [(s, p) for s, p in found if p.is_file()]
    if not present:
        flag = f" --data-dir {root}" if root else ""
        raise DataError(f"no IBL session on disk (looked for {found[0][1]} and {len(found) - 1} more); run "
                        f"`nbench data fetch ibl{flag}` first")
    return [cut_trials(read_ibl(path, session.name)) for session, path in present]


def trial_filter(trials: TrialTable) -> np.ndarray:
    """True for the trials the Brain Wide Map analyses keep (module docstring)."""
    columns = ("stim_on_s", "choice", "feedback_s", "probability_left", "first_movement_s", "feedback_type")
    complete = np.all([~np.isnan(np.asarray(trials[c], dtype=np.float64)) for c in columns], axis=0)
    with np.errstate(invalid="ignore"):
        reaction = trials["first_movement_s"] - trials["stim_on_s"]
        late = (trials["feedback_s"] - trials["go_cue_s"]) > 10.0
    return complete & (reaction >= 0.08) & (reaction <= 2.0) & (trials["choice"] != 0) & ~late


def cut_trials(rec: Recording, window_s: tuple[float, float] = WINDOW_S, bin_ms: float = BIN_MS,
               seed: int = SPLIT_SEED) -> Recording:
    """The recording's kept trials as stimulus-aligned binned segments with spike times and behaviour."""
    keep = np.flatnonzero(trial_filter(rec.trials))
    if len(keep) < 10:
        raise DataError(f"IBL session {rec.session}: only {len(keep)} trials pass the trial filter")
    starts_ms = (rec.trials["stim_on_s"][keep] + window_s[0]) * 1000.0
    n_bins = int(round((window_s[1] - window_s[0]) * 1000.0 / bin_ms))
    counts, times = _bin(rec, starts_ms, n_bins, bin_ms)
    whisker = rec.series.get("whisker")
    behavior = None
    if isinstance(whisker, TimedSeries):
        centres_s = (starts_ms[:, None] + (np.arange(n_bins) + 0.5) * bin_ms) / 1000.0
        behavior = np.interp(centres_s, whisker.timestamps, whisker.values[:, 0])[..., None]
    n = len(keep)
    n_train, n_val = int(0.7 * n), int(0.1 * n)
    split = np.empty(n, dtype=object)
    order = np.random.RandomState(seed).permutation(n)
    split[order[:n_train]], split[order[n_train:n_train + n_val]], split[order[n_train + n_val:]] = \
        "train", "val", "test"
    choice = (rec.trials["choice"][keep] > 0).astype(np.float64)
    trials = TrialTable({"split": split.astype(str), "choice": choice, "trial_index": keep})
    segments = TrialSegments(bin_ms=bin_ms, counts=counts, behavior=behavior,
                             behavior_names=("whisker",) if behavior is not None else (), spike_times=times)
    return Recording(name=rec.name, units=rec.units, trials=trials, segments=segments, behavior=rec.behavior,
                     provenance={**rec.provenance, "window_s": list(window_s), "bin_ms": bin_ms,
                                 "kept_trials": n, "split_seed": seed})


def _bin(rec: Recording, starts_ms: np.ndarray, n_bins: int, bin_ms: float) -> tuple[np.ndarray, TrialSpikes]:
    """Counts (trials x bins x units) and within-window spike times of every trial window."""
    (block,) = rec.spikes
    span = n_bins * bin_ms
    lo = np.searchsorted(block.spike_ms, starts_ms, side="left")
    hi = np.searchsorted(block.spike_ms, starts_ms + span, side="left")
    trial = np.repeat(np.arange(len(starts_ms)), hi - lo)
    index = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)]) if len(lo) else np.zeros(0, int)
    rel = block.spike_ms[index] - starts_ms[trial]
    bins = np.minimum((rel // bin_ms).astype(np.int64), n_bins - 1)
    cols = block.spike_col[index].astype(np.int64)
    n_units = rec.n_units
    flat = np.bincount((trial * n_bins + bins) * n_units + cols, minlength=len(starts_ms) * n_bins * n_units)
    counts = flat.reshape(len(starts_ms), n_bins, n_units).astype(np.float32)
    return counts, TrialSpikes(trial, rel, cols.astype(np.int32), jittered=False)
