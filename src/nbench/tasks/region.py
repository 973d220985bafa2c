"""Region prediction and MtM's evaluation protocol (Zhang et al. 2024; reference/mtm.md sections 2-4).

Six task families over multi-region, multi-session recordings, each scored per session and averaged over sessions:

=============== =========================================================== ===================================
family          queries (per session)                                       metrics
=============== =========================================================== ===================================
``cosmooth``    each neuron in turn hidden, all others visible              co-bps (NLB population), per neuron
``forward``     the last 10 bins of every neuron hidden (first 90 visible)  fp-bps, per neuron
``inter``       each region's neurons hidden, all other regions visible     co-bps, per neuron
``intra``       each neuron of a region in turn hidden, the rest of that    co-bps, per neuron
                region visible, every other region absent
``choice``      nothing hidden; the per-trial binary choice is scored       accuracy (decoded from rates by
                                                                            logistic regression, or predicted)
``whisker``     nothing hidden; the whisker motion energy is scored         R2 (decoded from rates by ridge, or
                                                                            predicted)
=============== =========================================================== ===================================

Rate metrics pool each session's queries (each neuron is hidden in exactly one query) and report both MtM's
per-neuron mean and NLB's population bits/spike; with ground truth (synthetic data) the rate R2 of the hidden
neurons too. Sources: the embedded synthetic ``multi_region`` (task names ``multi_region_<family>``) and IBL
sessions (``ibl_<family>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nbench.data.recording import Recording
from nbench.tasks.base import BehaviorSpec, PreparedTask, Query, Task, TaskInfo
from nbench.tasks.segments import all_visible_query, segment_task

TASK_VERSION = "1"
FORWARD_BINS = 10
CHOICE = BehaviorSpec("choice", "categorical", "logistic_cv")
WHISKER = BehaviorSpec("whisker", "continuous", "ridge_cv")
_RATES = ("co-bps per neuron", "co-bps", "rate R2 heldout")


@dataclass(frozen=True)
class Family:
    """One task family: its queries, metrics, behaviour and what it asks of a model, in words."""

    name: str
    queries: Callable[[Recording], list[Query]]
    metrics: tuple[str, ...]
    behavior: BehaviorSpec | None
    what: str


def neuron_queries(rec: Recording) -> list[Query]:
    """Leave one neuron out: each neuron hidden in turn, every other neuron visible."""
    units = np.arange(rec.n_units)
    return [Query(f"neuron_{n}", rec.session, np.delete(units, n), np.array([n])) for n in units]


def region_queries(rec: Recording) -> list[Query]:
    """Each region's neurons hidden in turn, every other region visible."""
    out = []
    for region in rec.units.regions():
        inside = rec.units.region == region
        out.append(Query(f"region_{region}", rec.session, np.flatnonzero(~inside), np.flatnonzero(inside)))
    return out


def intra_queries(rec: Recording) -> list[Query]:
    """Within each region, each neuron hidden in turn with the rest of its region visible (others absent)."""
    out = []
    for region in rec.units.regions():
        members = np.flatnonzero(rec.units.region == region)
        for n in members:
            out.append(Query(f"{region}_{n}", rec.session, members[members != n], np.array([n])))
    return out


def forward_recording(rec: Recording, forward_bins: int = FORWARD_BINS) -> Recording:
    """The recording with its last ``forward_bins`` bins moved into the forward window (MtM's forward task)."""
    seg = rec.segments
    cut = seg.n_bins - forward_bins
    truth = seg.true_rates
    times = seg.spike_times
    return replace(rec, segments=replace(
        seg, counts=seg.counts[:, :cut], forward=seg.counts[:, cut:], behavior=None, behavior_names=(),
        true_rates=None if truth is None else truth[:, :cut],
        true_forward_rates=None if truth is None else truth[:, cut:], spike_times=times))


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("cosmooth", neuron_queries, _RATES, None, "co-smoothing: each neuron in turn from all others"),
    Family("forward", all_visible_query, ("fp-bps per neuron", "fp-bps"), None,
           f"forward prediction: the last {FORWARD_BINS} bins of every neuron from the first bins"),
    Family("inter", region_queries, _RATES, None, "inter-region: each region from all other regions"),
    Family("intra", intra_queries, _RATES, None, "intra-region: each neuron from the rest of its own region"),
    Family("choice", all_visible_query, (CHOICE.decoded_metric, CHOICE.predicted_metric), CHOICE,
           "choice: the binary choice from the population"),
    Family("whisker", all_visible_query, (WHISKER.decoded_metric, WHISKER.predicted_metric), WHISKER,
           "whisker: the whisker motion energy from the population"),
)}


class RegionTask(Task):
    """One task family over a multi-region source.

    Parameters
    ----------
    source
        ``"multi_region"`` (embedded synthetic) or ``"ibl"``.
    family
        One of :data:`FAMILIES`.
    data_dir
        Data directory (IBL files).
    """

    def __init__(self, source: str, family: str, data_dir: str | Path | None = None) -> None:
        from nbench.tasks.region_sources import SOURCES

        self.source, self.family, self.data_dir = SOURCES[source], FAMILIES[family], data_dir
        fam, src = self.family, self.source
        metrics = fam.metrics if src.truth or fam.behavior else tuple(m for m in fam.metrics if "rate R2" not in m)
        self.info = TaskInfo(
            name=f"{source}_{family}", dataset=source, bin_ms=src.bin_ms, version=TASK_VERSION,
            description=f"{src.title}: {fam.what}", phases=("test", "val"), main_metric=metrics[0],
            metrics=metrics, family=source, pin=src.pin(), citation=src.citation,
            behavior=(fam.behavior,) if fam.behavior else (), n_sessions=src.n_sessions,
            spike_times="recorded", queries=fam.what.split(": ", 1)[1])

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        recordings: Sequence[Recording] = self.source.load(self.data_dir)
        if self.family.name == "forward":
            recordings = [forward_recording(rec) for rec in recordings]
        return segment_task(self.info, recordings, phase, self.family.queries, spike_times=spike_times,
                            forward_inputs=self.family.name == "forward")
