"""Aggregation of run records over seeds, and ranking with ties.

Records are grouped by what was run: task, task version, phase, dataset name and version, bin size, model,
config hash and (for leaderboard entries) the entry they came from. Within a group each seed counts once (the
newest record of a seed wins), and failed runs are counted but not averaged.

The 95% interval of a metric (used for ranking and shown in tooltips) is defined as:

* n >= 2 seeds: the Student-t confidence interval of the mean over seeds,
  ``mean +- t(0.975, n-1) * sd / sqrt(n)`` with the sample standard deviation ``sd`` (ddof=1);
* n == 1 seed: the record's own bootstrap 95% CI over evaluation trials, when the scorer computed one;
* otherwise the single value itself (a zero-width interval).

Ranking (competition style with ties): a row's rank is 1 + the number of rows whose whole interval is better
than this row's whole interval (strictly above it for higher-is-better metrics, strictly below otherwise).
Rows whose intervals overlap therefore share a rank unless a third row separates them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from nbench.leaderboard.entries import Entry
from nbench.metrics import metric_info
from nbench.results import MetricValue, Record

INTERVAL_T = "t interval of the mean over seeds"
INTERVAL_BOOTSTRAP = "bootstrap over trials (single seed)"
INTERVAL_NONE = "single value (no interval available)"


@dataclass(frozen=True)
class GroupKey:
    """Identity of one leaderboard row: what was run, up to the seed."""

    task: str
    task_version: str
    phase: str
    dataset: str
    dataset_version: str
    bin_ms: float | None
    model: str
    config_hash: str
    entry: str | None = None

    @property
    def row_id(self) -> str:
        """Short stable identifier, safe for HTML ids and file names."""
        return "r" + hashlib.sha256(repr(self).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one row, aggregated over seeds.

    Attributes
    ----------
    values, seeds, trial_ci95
        Per-seed values, their seeds and each seed's bootstrap 95% CI over trials (None where not computed).
    mean, sd, n
        Mean, sample standard deviation (ddof=1; None when n == 1) and number of seeds.
    ci95, interval
        The 95% interval used for ranking and how it was obtained (see the module docstring).
    """

    name: str
    higher_is_better: bool
    values: tuple[float, ...]
    seeds: tuple[int | None, ...]
    trial_ci95: tuple[tuple[float, float] | None, ...]
    mean: float
    sd: float | None
    n: int
    ci95: tuple[float, float]
    interval: str


@dataclass
class Row:
    """A group of records (one model/config on one task) and its aggregated metrics."""

    key: GroupKey
    records: list[Record]
    metrics: dict[str, MetricSummary]
    references: dict[str, MetricSummary]
    n_failed: int = 0
    entry: Entry | None = field(default=None, repr=False)
    sessions: dict[str, dict[str, MetricSummary]] = field(default_factory=dict)  # metric -> session -> summary

    @property
    def origin(self) -> str:
        """Where the row's numbers come from (see :data:`ORIGINS`)."""
        if self.entry is not None:
            return "rescored" if all(path.suffix == ".h5" for _, path in self.entry.seeds) else "reported"
        if all(r.kind == "run" for r in self.records):
            return "trained"
        if all(r.kind == "run" or r.submission for r in self.records):
            return "rescored"
        return "reported"


#: Row origins: trained and scored by nbench's own code (the trusted records folder, which CI regenerates),
#: scored from committed prediction files (models too slow for CI, leaderboard entries' .h5 files), or a record
#: passed in by hand (an entry's .json record), shown as reported and never as reproduced.
ORIGINS = {
    "trained": "trained and scored by CI",
    "rescored": "scored by CI from committed predictions",
    "reported": "reported",
}


def mean_interval(values: Sequence[float]) -> tuple[float, float | None, tuple[float, float] | None]:
    """Mean, sample sd (ddof=1) and Student-t 95% CI of the mean; sd and CI are None for one value."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("no values to summarize")
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, None, None
    sd = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.975, arr.size - 1)) * sd / math.sqrt(arr.size)
    return mean, sd, (mean - half, mean + half)


def summarize(name: str, higher_is_better: bool, samples: Sequence[tuple[int | None, MetricValue]]
              ) -> MetricSummary | None:
    """Aggregate one metric over ``(seed, value)`` samples; None when no sample has a value."""
    kept = [(seed, mv) for seed, mv in samples if mv.value is not None and math.isfinite(mv.value)]
    if not kept:
        return None
    values = tuple(float(mv.value) for _, mv in kept)
    trial_ci = tuple(tuple(mv.ci95) if mv.ci95 is not None else None for _, mv in kept)
    mean, sd, t_ci = mean_interval(values)
    if t_ci is not None:
        ci, how = t_ci, INTERVAL_T
    elif trial_ci[0] is not None:
        ci, how = trial_ci[0], INTERVAL_BOOTSTRAP
    else:
        ci, how = (mean, mean), INTERVAL_NONE
    return MetricSummary(name=name, higher_is_better=higher_is_better, values=values,
                         seeds=tuple(seed for seed, _ in kept), trial_ci95=trial_ci, mean=mean, sd=sd,
                         n=len(values), ci95=(float(ci[0]), float(ci[1])), interval=how)


def group_key(record: Record, entry: str | None = None, model_name: str | None = None,
              config_hash: str | None = None) -> GroupKey:
    """The row a record belongs to; ``entry``/``model_name``/``config_hash`` override for leaderboard entries."""
    bin_ms = record.task.get("bin_ms")
    return GroupKey(
        task=str(record.task.get("name")), task_version=str(record.task.get("version")),
        phase=str(record.task.get("phase")), dataset=str(record.dataset.get("name") or record.task.get("name")),
        dataset_version=str(record.dataset.get("version")), bin_ms=float(bin_ms) if bin_ms is not None else None,
        model=model_name or str(record.model.get("name")),
        config_hash=config_hash or str(record.model.get("config_hash") or "none"), entry=entry)


def aggregate(items: Iterable[tuple[GroupKey, Record]], entries: dict[str, Entry] | None = None) -> list[Row]:
    """Group ``(key, record)`` pairs into rows and aggregate their metrics over seeds.

    Failed records (status other than ``"ok"``) are counted in ``Row.n_failed``; of several ok records with the
    same seed only the newest (by ``created``) is kept. Rows come back sorted by key.
    """
    groups: dict[GroupKey, list[Record]] = {}
    for key, record in items:
        groups.setdefault(key, []).append(record)
    rows = []
    for key in sorted(groups, key=repr):
        ok = _one_per_seed([r for r in groups[key] if r.status == "ok"])
        if not ok:
            continue
        rows.append(Row(key=key, records=ok, metrics=_summaries(ok, "metrics"),
                        references=_summaries(ok, "reference"), n_failed=len(groups[key]) - _n_ok(groups[key]),
                        entry=(entries or {}).get(key.entry) if key.entry else None, sessions=_session_summaries(ok)))
    return rows


def _n_ok(records: list[Record]) -> int:
    return sum(r.status == "ok" for r in records)


def _one_per_seed(records: list[Record]) -> list[Record]:
    """Keep the newest record per seed (records without a seed are all kept), ordered by seed."""
    newest: dict[object, Record] = {}
    for i, record in enumerate(sorted(records, key=lambda r: r.created)):
        newest[record.seed if record.seed is not None else ("no seed", i)] = record
    return sorted(newest.values(), key=lambda r: (r.seed is None, r.seed if r.seed is not None else 0, r.created))


def _summaries(records: list[Record], section: str) -> dict[str, MetricSummary]:
    """Summaries of one section; a metric's direction is nbench's (its metric table), never a record's."""
    names: dict[str, bool] = {}
    for record in records:
        for name, mv in getattr(record, section).items():
            info = metric_info(name)
            names.setdefault(name, info.higher_is_better if info is not None else mv.higher_is_better)
    out = {}
    for name, higher in names.items():
        samples = [(r.seed, getattr(r, section)[name]) for r in records if name in getattr(r, section)]
        summary = summarize(name, higher, samples)
        if summary is not None:
            out[name] = summary
    return out


def _session_summaries(records: list[Record]) -> dict[str, dict[str, MetricSummary]]:
    """Per-session metrics of a multi-session task over seeds: metric -> session -> summary ({} otherwise)."""
    samples: dict[str, dict[str, list[tuple[int | None, MetricValue]]]] = {}
    for record in records:
        for session, values in record.sessions().items():
            for name, mv in values.items():
                samples.setdefault(name, {}).setdefault(session, []).append((record.seed, mv))
    out: dict[str, dict[str, MetricSummary]] = {}
    for name, by_session in samples.items():
        for session in sorted(by_session):
            summary = summarize(name, by_session[session][0][1].higher_is_better, by_session[session])
            if summary is not None:
                out.setdefault(name, {})[session] = summary
    return out


def rank_with_ties(summaries: Sequence[MetricSummary | None]) -> list[tuple[int | None, bool]]:
    """Rank rows by one metric; returns ``(rank, tied)`` per row (rank None where the metric is missing).

    rank = 1 + the number of rows whose 95% interval lies entirely on the better side of this row's interval;
    ``tied`` is True when another row has the same rank.
    """
    ranks: list[int | None] = []
    for mine in summaries:
        if mine is None:
            ranks.append(None)
            continue
        better = 0
        for other in summaries:
            if other is None or other is mine:
                continue
            if mine.higher_is_better and other.ci95[0] > mine.ci95[1]:
                better += 1
            elif not mine.higher_is_better and other.ci95[1] < mine.ci95[0]:
                better += 1
        ranks.append(better + 1)
    counts = {r: ranks.count(r) for r in ranks if r is not None}
    return [(r, r is not None and counts[r] > 1) for r in ranks]
