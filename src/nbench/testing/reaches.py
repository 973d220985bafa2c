"""Generated reaching sessions recorded from different neurons: the shape of POYO's multi-session claim.

Every session holds trials of one shared behaviour, a 2-D hand velocity: a bell-shaped reach in a random
direction whose onset varies from trial to trial. Each session records its own neurons (own count, preferred
directions, baseline rates and gains): a neuron's rate follows the velocity 100 ms ahead, projected on its
preferred direction. Spikes are drawn as times (an inhomogeneous Poisson process on a 1 ms grid, then placed
uniformly within their ms), so models get recorded spike times; counts are binned from them. Splits are 60 /
20 / 20 per session from the session's seed. One query per session with every unit visible: the task scores
behaviour only (``vel R2`` decoded from rates, ``vel R2 (predicted)``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from nbench.data.recording import BehaviorInfo, Recording, TrialSegments, TrialSpikes, TrialTable, UnitTable
from nbench.tasks.base import BehaviorSpec, DatasetPin, PreparedTask, Task, TaskInfo
from nbench.tasks.segments import all_visible_query, segment_task

VELOCITY = BehaviorSpec("vel", "continuous", "nlb_ridge")
LEAD_S, REACH_S, WIDTH_S = 0.1, 0.15, 0.07


def reach_recording(session: str, n_units: int, n_trials: int = 60, n_bins: int = 50, bin_ms: float = 20.0,
                    seed: int = 0) -> Recording:
    """One generated session (see the module docstring)."""
    rng = np.random.default_rng([seed, zlib.crc32(session.encode())])
    angle = rng.uniform(0, 2 * np.pi, n_trials)
    onset = rng.uniform(0.2, 0.5, n_trials) * n_bins * bin_ms / 1000

    def velocity(t: np.ndarray) -> np.ndarray:  # trials x times x 2
        speed = np.exp(-0.5 * ((t[None] - onset[:, None] - REACH_S) / WIDTH_S) ** 2)
        return speed[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)[:, None]

    ms = np.arange(int(n_bins * bin_ms)) / 1000.0
    preferred = rng.uniform(0, 2 * np.pi, n_units)
    direction = np.stack([np.cos(preferred), np.sin(preferred)])
    base_hz, gain = rng.uniform(4, 16, n_units), rng.uniform(1.0, 2.0, n_units)
    rate_hz = base_hz * np.exp(gain * (velocity(ms + LEAD_S) @ direction))  # trials x ms x units
    per_ms = rng.poisson(rate_hz / 1000.0)
    trial, when, unit = np.nonzero(per_ms)
    n = per_ms[trial, when, unit]
    trial, when, unit = (np.repeat(a, n) for a in (trial, when, unit))
    time_ms = when + rng.random(len(when))
    order = np.lexsort((time_ms, trial))
    events = TrialSpikes(trial[order], time_ms[order], unit[order].astype(np.int32))
    counts = np.zeros((n_trials, n_bins, n_units), np.float32)
    np.add.at(counts, (events.trial, (events.time_ms // bin_ms).astype(np.int64), events.unit), 1)
    centres = (np.arange(n_bins) + 0.5) * bin_ms / 1000
    split = rng.permutation(np.repeat(["train", "val", "test"], _split_sizes(n_trials)))
    units = UnitTable(session=session, local_id=np.arange(n_units), region=np.full(n_units, "M1"))
    segments = TrialSegments(bin_ms=bin_ms, counts=counts, behavior=velocity(centres), behavior_names=("x", "y"),
                             spike_times=events)
    return Recording(name="reach_sessions", units=units, trials=TrialTable({"split": split}), segments=segments,
                     behavior=(BehaviorInfo("vel", "continuous", ("x", "y")),),
                     provenance={"source": "synthetic", "name": "reach_sessions", "version": "1", "seed": seed})


def _split_sizes(n: int) -> list[int]:
    train, val = int(0.6 * n), int(0.2 * n)
    return [train, val, n - train - val]


class ReachSessionsTask(Task):
    """Generated reaching sessions, one view per session, every unit visible, behaviour scored.

    Parameters
    ----------
    sessions
        ``(session name, neuron count)`` pairs.
    n_trials
        Trials per session (60 % train, 20 % val, 20 % test).
    seed
        Seed of the generator (each session draws from ``(seed, session name)``).
    name
        Task name.
    """

    def __init__(self, sessions: Sequence[tuple[str, int]] = (("r1", 40), ("r2", 32), ("r3", 48), ("r4", 36)),
                 n_trials: int = 60, seed: int = 0, name: str = "reach_sessions") -> None:
        self.sessions, self.n_trials, self.seed = tuple(sessions), n_trials, seed
        self.info = TaskInfo(
            name=name, dataset="reach_sessions", bin_ms=20.0, version="1",
            description="generated reaching sessions with different neurons, shared hand velocity",
            phases=("test", "val"), main_metric=VELOCITY.predicted_metric,
            metrics=(VELOCITY.decoded_metric, VELOCITY.predicted_metric),
            pin=DatasetPin("synthetic", "reach_sessions", f"1-seed{seed}"), behavior=(VELOCITY,),
            n_sessions=len(self.sessions), spike_times="recorded", queries="none (every unit visible)")

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        recordings = [reach_recording(name, n, self.n_trials, seed=self.seed) for name, n in self.sessions]
        return segment_task(self.info, recordings, phase, all_visible_query, spike_times=spike_times)
