"""Aggregation over seeds, the 95% interval, ranking with ties, and old-schema records."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from leaderboard_records import make_record, write_records

from nbench.leaderboard.aggregate import (
    INTERVAL_BOOTSTRAP,
    INTERVAL_NONE,
    INTERVAL_T,
    MetricSummary,
    aggregate,
    group_key,
    mean_interval,
    rank_with_ties,
    summarize,
)
from nbench.results import SCHEMA_VERSION, MetricValue, load_records

T_975_DF2 = 4.302652729749464  # Student t, 97.5% quantile, 2 degrees of freedom (tables: 4.303)
T_975_DF3 = 3.182446305284263  # ... 3 degrees of freedom (tables: 3.182)


def test_mean_sd_ci_on_known_values():
    mean, sd, ci = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and sd == 1.0
    half = T_975_DF2 / math.sqrt(3)
    assert ci == pytest.approx((2.0 - half, 2.0 + half), abs=1e-12)
    mean, sd, ci = mean_interval([0.2, 0.4, 0.4, 0.2])
    assert mean == pytest.approx(0.3) and sd == pytest.approx(math.sqrt(0.04 / 3))
    assert ci[1] - mean == pytest.approx(T_975_DF3 * sd / 2)


def test_one_seed_uses_bootstrap_ci_over_trials_else_the_value():
    with_ci = summarize("co-bps", True, [(7, MetricValue(0.3, True, 100, (0.28, 0.33)))])
    assert (with_ci.mean, with_ci.sd, with_ci.n) == (0.3, None, 1)
    assert with_ci.ci95 == (0.28, 0.33) and with_ci.interval == INTERVAL_BOOTSTRAP
    bare = summarize("co-bps", True, [(7, MetricValue(0.3, True))])
    assert bare.ci95 == (0.3, 0.3) and bare.interval == INTERVAL_NONE


def test_missing_values_are_not_counted():
    s = summarize("co-bps", True, [(0, MetricValue(0.1, True)), (1, MetricValue(None, True)),
                                   (2, MetricValue(0.3, True, ci95=(0.2, 0.4)))])
    assert s.n == 2 and s.seeds == (0, 2) and s.mean == pytest.approx(0.2)
    assert s.trial_ci95 == (None, (0.2, 0.4)) and s.interval == INTERVAL_T
    assert summarize("co-bps", True, [(0, MetricValue(None, True))]) is None


def test_aggregate_groups_by_model_config_and_task():
    records = [make_record(seed=s, metrics={"co-bps": v}) for s, v in [(0, 0.1), (1, 0.2), (2, 0.3)]]
    records += [make_record(seed=0, config={"kern_sd_ms": 20}, metrics={"co-bps": 0.5})]
    records += [make_record(task="chaotic_rnn", seed=0, metrics={"co-bps": 0.9})]
    rows = aggregate((group_key(r), r) for r in records)
    by = {(row.key.task, row.key.config_hash[:4]): row for row in rows}
    assert len(rows) == 3
    main = next(row for row in rows if row.key.task == "lorenz" and len(row.records) == 3)
    s = main.metrics["co-bps"]
    assert (s.mean, s.n, s.seeds) == (pytest.approx(0.2), 3, (0, 1, 2))
    assert s.sd == pytest.approx(0.1) and s.values == pytest.approx((0.1, 0.2, 0.3))
    assert main.origin == "reproduced" and main.references["rate R2 heldout (cond-avg ref)"].mean == 0.75
    assert sum(len(row.records) for row in by.values()) == 5


def test_newest_record_per_seed_wins_and_failures_are_counted():
    records = [make_record(seed=0, metrics={"co-bps": 0.1}, created="2026-01-01T00:00:00Z"),
               make_record(seed=0, metrics={"co-bps": 0.4}, created="2026-02-01T00:00:00Z"),
               make_record(seed=1, metrics={"co-bps": 0.2}),
               make_record(seed=2, metrics={"co-bps": 9.9}, status="error")]
    [row] = aggregate((group_key(r), r) for r in records)
    assert row.metrics["co-bps"].values == (0.4, 0.2) and row.n_failed == 1


def test_only_failed_records_give_no_row():
    assert aggregate([(group_key(r), r) for r in [make_record(status="error")]]) == []


def _summary(lo: float, hi: float, higher: bool = True) -> MetricSummary:
    mid = (lo + hi) / 2
    return MetricSummary("m", higher, (mid,), (0,), (None,), mid, None, 1, (lo, hi), INTERVAL_BOOTSTRAP)


def test_rank_ties_when_intervals_overlap():
    a, b, c, d = _summary(0.50, 0.60), _summary(0.55, 0.65), _summary(0.61, 0.70), _summary(0.10, 0.20)
    assert rank_with_ties([a, b, c, d, None]) == [(2, False), (1, True), (1, True), (4, False), (None, False)]


def test_rank_lower_is_better():
    low, mid, high = _summary(-0.9, -0.8, False), _summary(-0.5, -0.4, False), _summary(-0.45, 0.0, False)
    assert rank_with_ties([high, mid, low]) == [(2, True), (2, True), (1, False)]


intervals = st.lists(st.tuples(st.floats(-5, 5), st.floats(0, 2)), min_size=1, max_size=8)


@given(intervals)
def test_rank_properties(spec):
    rows = [_summary(lo, lo + width) for lo, width in spec]
    ranks = [r for r, _ in rank_with_ties(rows)]
    best = max(range(len(rows)), key=lambda i: rows[i].ci95[1])
    assert ranks[best] == 1  # the row with the highest upper bound is never beaten
    for i, x in enumerate(rows):
        for j, y in enumerate(rows):
            if x.ci95[0] > y.ci95[1]:  # x entirely better than y
                assert ranks[i] < ranks[j]


def test_schema0_records_load_through_migration_and_aggregate(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    for seed, value in [(0, 0.25), (1, 0.35)]:
        old = {"run_id": f"old-{seed}", "run_key": f"k{seed}", "created": f"2025-0{seed + 1}-01T00:00:00Z",
               "task": "lorenz", "phase": "val", "model": {"name": "smoothing", "config": {}, "config_hash": "abc"},
               "seed": seed, "metrics": {"co-bps": value, "tp corr": -0.5}}
        (folder / f"old{seed}.json").write_text(json.dumps(old))
    write_records([make_record(phase="val", metrics={"co-bps": 0.3})], folder)
    records = load_records(folder)
    assert [r.schema_version for r in records].count(SCHEMA_VERSION) == 3
    rows = aggregate((group_key(r), r) for r in records)
    old_row = next(row for row in rows if row.key.task_version == "0")
    assert old_row.metrics["co-bps"].mean == pytest.approx(0.3) and old_row.metrics["co-bps"].n == 2
    assert old_row.metrics["tp corr"].higher_is_better is False  # direction from nbench.metrics.METRICS
    assert len(rows) == 2  # the schema-0 rows are not mixed with the v1 row (task version differs)
