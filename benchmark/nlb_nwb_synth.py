"""Full-size synthetic NWB train files shaped like NLB's MC_Maze, for the build benchmark.

182 units (137 held-in, 45 held-out), 108 conditions, trials of about 3.3 s with movement onset about 2.2 s in,
rates averaging about 2.7 spikes/s per unit (the real file has 3.64 M spikes in 2,295 trials) modulated around
movement onset, and the real file's behavior layout: hand_pos, hand_vel, cursor_pos and eye_pos at 1 kHz, each
with its own timestamps inside trials only. Written with the same pynwb writer as the test fixtures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures.nlb_nwb import FileSpec, Series, write_nwb  # noqa: E402

N_UNITS, N_HELDOUT = 182, 45


def _spike_times(rng: np.random.Generator, start_ms: np.ndarray, stop_ms: np.ndarray, onset_ms: np.ndarray,
                 rate: float, gain: float) -> np.ndarray:
    """Inhomogeneous Poisson spikes: base rate, a bump of ``gain`` x rate around movement onset."""
    lengths = (stop_ms - start_ms) / 1000
    counts = rng.poisson(rate * (1 + gain) * lengths)
    owner = np.repeat(np.arange(len(start_ms)), counts)
    t = start_ms[owner] / 1000 + rng.random(len(owner)) * lengths[owner]
    bump = np.exp(-0.5 * ((t - onset_ms[owner] / 1000 - 0.05) / 0.15) ** 2)
    keep = rng.random(len(t)) < (1 + gain * bump) / (1 + gain)
    return np.sort(t[keep])


def _behavior(rng: np.random.Generator, start_ms: np.ndarray, stop_ms: np.ndarray) -> list[Series]:
    ms = np.concatenate([np.arange(a, b) for a, b in zip(start_ms, stop_ms, strict=True)])
    stamps = ms / 1000
    steps = rng.normal(0, 0.02, (len(ms), 2))
    pos = np.cumsum(np.cumsum(steps, axis=0) * 0.01, axis=0)
    vel = np.gradient(pos, axis=0) * 1000
    eye = pos + rng.normal(0, 1, (len(ms), 2))
    return [Series("cursor_pos", pos * 1.01, stamps, "columns=[x,y]"),
            Series("eye_pos", eye, stamps, "columns=[x,y]"),
            Series("hand_pos", pos, stamps, "columns=[x,y]"),
            Series("hand_vel", vel, stamps, "columns=[x,y]")]


def write_maze_like(path: Path, n_trials: int, seed: int = 0) -> Path:
    """Write an MC_Maze-like train file with ``n_trials`` trials (3/4 train, 1/4 val)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2900, 3700, n_trials)
    gaps = rng.integers(80, 101, n_trials)
    start_ms = np.concatenate([[0], np.cumsum(lengths + gaps)[:-1]])
    stop_ms = start_ms + lengths
    onset_ms = start_ms + rng.integers(1700, 2200, n_trials)
    ids = np.array([(1 if i < 91 else 2) * 1000 + 10 * (i % 91 + 1) + 1 for i in range(N_UNITS)])
    heldout = np.zeros(N_UNITS, bool)
    heldout[rng.choice(N_UNITS, N_HELDOUT, replace=False)] = True
    rates = np.exp(rng.normal(np.log(1.6), 0.9, N_UNITS))
    spikes = [_spike_times(rng, start_ms, stop_ms, onset_ms, r, rng.uniform(0.5, 3)) for r in rates]
    trials = {"start_time": start_ms / 1000, "stop_time": stop_ms / 1000, "move_onset_time": onset_ms / 1000,
              "trial_type": rng.integers(1, 37, n_trials), "trial_version": rng.integers(0, 3, n_trials),
              "split": np.where(np.arange(n_trials) % 4 == 3, "val", "train")}
    spec = FileSpec("Jenkins", "full", trials, ids, heldout, spikes, np.c_[start_ms, stop_ms] / 1000,
                    _behavior(rng, start_ms, stop_ms))
    return write_nwb(path, spec)
