"""Spike times for models that consume them (POYO tokenises individual spikes).

Trial-cut recordings give their recorded within-trial times. Binned-only recordings (nlb_tools tensor imports,
generators that draw counts per bin) get times drawn uniformly within each bin, one per counted spike, from a
fixed seed; the result says so (``TrialSpikes.jittered``) and runs record it in their provenance.
"""

from __future__ import annotations

import numpy as np

from nbench.data.recording import Recording, TrialSpikes

#: Seed of the within-bin draws that tasks give models asking for spike times of binned-only data.
JITTER_SEED = 0


def spike_times_of(rec: Recording, seed: int = JITTER_SEED) -> TrialSpikes:
    """Within-window spike times of every trial and unit of a trial-cut recording (trial window bins only)."""
    seg = rec.segments
    if seg is None:
        raise ValueError(f"recording {rec.name!r} is not trial-cut; its spike times come from its timeline")
    if seg.spike_times is not None:
        window_ms = seg.n_bins * seg.bin_ms
        times = seg.spike_times
        keep = times.time_ms < window_ms
        return TrialSpikes(times.trial[keep], times.time_ms[keep], times.unit[keep], times.jittered)
    return jittered_times(seg.counts, seg.bin_ms, seed)


def jittered_times(counts: np.ndarray, bin_ms: float, seed: int = 0) -> TrialSpikes:
    """One time per counted spike, uniform within its bin, sorted by (trial, time).

    Parameters
    ----------
    counts
        trials x bins x units spike counts (NaN counts as zero).
    bin_ms
        Bin width.
    seed
        Seed of the uniform draws (the same counts and seed give the same times).
    """
    clean = np.nan_to_num(np.asarray(counts, dtype=np.float64)).astype(np.int64)
    trial, bin_index, unit = np.nonzero(clean)
    repeats = clean[trial, bin_index, unit]
    trial, bin_index, unit = (np.repeat(a, repeats) for a in (trial, bin_index, unit))
    offsets = np.random.default_rng(seed).random(len(trial)) * bin_ms
    time_ms = bin_index * bin_ms + offsets
    order = np.lexsort((time_ms, trial))
    return TrialSpikes(trial[order], time_ms[order], unit[order].astype(np.int32), jittered=True)


def select_events(times: TrialSpikes, trials: np.ndarray, units: np.ndarray) -> TrialSpikes:
    """The events of ``trials`` (renumbered 0..) and ``units`` (renumbered to their column in ``units``)."""
    trial_pos = np.full(max(int(times.trial.max(initial=-1)), int(np.max(trials, initial=-1))) + 1, -1)
    trial_pos[trials] = np.arange(len(trials))
    unit_pos = np.full(int(times.unit.max(initial=-1)) + 1, -1)
    unit_pos[units[units < len(unit_pos)]] = np.flatnonzero(units < len(unit_pos))
    keep = (trial_pos[times.trial] >= 0) & (unit_pos[times.unit] >= 0)
    new_trial = trial_pos[times.trial[keep]]
    order = np.argsort(new_trial, kind="stable")  # events stay time-sorted within a trial
    return TrialSpikes(new_trial[order], times.time_ms[keep][order], unit_pos[times.unit[keep]][order],
                       times.jittered)
