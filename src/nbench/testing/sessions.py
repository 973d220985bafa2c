"""A tiny multi-session task generated in milliseconds, for tests, examples and plug-in authors.

Each session has its own neuron count and two regions (``"A"``, ``"B"``); two conditions drive smooth latents,
a binary per-trial ``choice`` follows the condition (with some flips) and a two-column per-bin behaviour reads
the latents. Counts are Poisson draws of known rates (expected counts per bin). Splits are 70 / 10 / 20 per
session from a fixed seed. Queries: ``"heldout"`` (the last quarter of each session's neurons hidden, one
query per session) or ``"regions"`` (each region hidden in turn, two queries per session).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nbench.data.recording import BehaviorInfo, Recording, TrialSegments, TrialTable, UnitTable
from nbench.tasks.base import BehaviorSpec, DatasetPin, PreparedTask, Query, Task, TaskInfo
from nbench.tasks.info import latent_metrics
from nbench.tasks.segments import heldout_query, segment_task

BEHAVIORS = {
    "choice": BehaviorSpec("choice", "categorical", "logistic_cv"),
    "series": BehaviorSpec("reach", "continuous", "nlb_ridge"),
}


def tiny_recording(session: str, n_units: int, n_trials: int = 80, n_bins: int = 20, seed: int = 0) -> Recording:
    """One generated session (see the module docstring)."""
    rng = np.random.default_rng([seed, n_units, n_trials])
    condition = rng.integers(0, 2, n_trials)
    t = np.linspace(0, 1, n_bins)
    latents = np.stack([np.sin(2 * np.pi * t + np.pi * condition[:, None]),
                        np.cos(np.pi * t + 0.5 * condition[:, None])], axis=-1)
    latents = latents + 0.1 * rng.standard_normal(latents.shape)
    weights = rng.normal(0, 1.0, (2, n_units))
    rates = np.exp(latents @ weights + np.log(rng.uniform(0.4, 1.2, n_units)))
    counts = rng.poisson(rates).astype(np.float32)
    behavior = latents @ np.array([[1.0, 0.3], [-0.4, 1.0]])
    choice = np.where(rng.random(n_trials) < 0.9, condition, 1 - condition).astype(np.float64)
    split = rng.permutation(np.repeat(["train", "val", "test"], [int(0.7 * n_trials), int(0.1 * n_trials),
                                                                 n_trials - int(0.7 * n_trials) - int(0.1 * n_trials)]))
    heldout = np.arange(n_units) >= n_units - max(1, n_units // 4)
    units = UnitTable(session=session, local_id=np.arange(n_units),
                      region=np.where(np.arange(n_units) % 2 == 0, "A", "B"), flags={"heldout": heldout})
    trials = TrialTable({"split": split, "condition": condition, "choice": choice})
    segments = TrialSegments(bin_ms=20.0, counts=counts, behavior=behavior, behavior_names=("x", "y"),
                             true_rates=rates.astype(np.float32))
    return Recording(name="tiny_sessions", units=units, trials=trials, segments=segments,
                     behavior=(BehaviorInfo("choice", "categorical"), BehaviorInfo("reach", "continuous")),
                     provenance={"source": "synthetic", "name": "tiny_sessions", "version": "test"})


def region_queries(rec: Recording) -> list[Query]:
    """Each region hidden in turn, every other unit visible."""
    out = []
    for region in rec.units.regions():
        hidden = rec.units.region == region
        out.append(Query(f"region_{region}", rec.session, np.flatnonzero(~hidden), np.flatnonzero(hidden)))
    return out


class TinySessionsTask(Task):
    """The tiny multi-session task.

    Parameters
    ----------
    sessions
        ``(session name, neuron count)`` pairs.
    queries
        ``"heldout"`` or ``"regions"``.
    behavior
        ``None``, ``"choice"`` (categorical, accuracy) or ``"series"`` (per-bin, NLB ridge R2).
    name
        Task name.
    """

    def __init__(self, sessions: Sequence[tuple[str, int]] = (("s1", 12), ("s2", 9)), queries: str = "heldout",
                 behavior: str | None = None, name: str = "tiny_sessions") -> None:
        self.sessions, self.queries = tuple(sessions), queries
        specs = (BEHAVIORS[behavior],) if behavior else ()
        metrics = ["co-bps", "co-bps per neuron", "rate R2 heldout"]
        for spec in specs:
            metrics += [spec.decoded_metric, spec.predicted_metric, *latent_metrics(spec, "tiny_sessions")]
        self.info = TaskInfo(
            name=name, dataset="tiny_sessions", bin_ms=20.0, version="1", description="tiny generated sessions",
            phases=("test", "val"), metrics=tuple(metrics), pin=DatasetPin("synthetic", "tiny_sessions", "test"),
            behavior=specs, n_sessions=len(sessions), spike_times="jittered",
            queries="each region in turn" if queries == "regions" else "held-out neurons")

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        recordings = [tiny_recording(name, n, seed=i) for i, (name, n) in enumerate(self.sessions)]
        make = region_queries if self.queries == "regions" else heldout_query
        return segment_task(self.info, recordings, phase, make, spike_times=spike_times)
