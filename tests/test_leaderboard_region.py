"""Region-prediction tasks on the leaderboard: a tab per task family, each session's value beside the mean."""

from __future__ import annotations

import csv
import io
import json

import pytest
from leaderboard_records import make_record, write_records

from nbench.leaderboard.site import build_site
from nbench.results import ALL_QUERIES, MetricValue, Record
from nbench.scoring.entries import score_entry_file

SESSIONS = ("mr0", "mr1", "mr2")


def region_record(family: str, model: str, seed: int, per_session: dict[str, tuple[float, ...]]) -> Record:
    """A multi_region record: per metric, one value per session; the task metric is their mean (as scored)."""
    metrics = {name: sum(values) / len(values) for name, values in per_session.items()}
    record = make_record("lorenz", model, seed, metrics, config={"m": model})
    record.task = {**record.task, "name": f"multi_region_{family}", "group": f"multi_region_{family}"}
    record.dataset = {**record.dataset, "name": "multi_region", "version": "v1-test"}
    record.breakdown = {
        session: {"LP": {name: MetricValue(values[i] + 0.5, True, 10) for name, values in per_session.items()},
                  ALL_QUERIES: {name: MetricValue(values[i], True, 30) for name, values in per_session.items()}}
        for i, session in enumerate(SESSIONS)}
    return record


def region_records() -> list[Record]:
    out = [make_record("lorenz", "smoothing", 0, {"co-bps": 0.2})]
    for seed in (0, 1):
        out.append(region_record("inter", "smoothing", seed, {"co-bps": (0.10 + seed * 0.02, 0.20, 0.30),
                                                               "co-bps per neuron": (0.1, 0.1, 0.1)}))
        out.append(region_record("inter", "mean_rate", seed, {"co-bps": (0.0, 0.01 * seed, -0.01),
                                                               "co-bps per neuron": (0.0, 0.0, 0.0)}))
        out.append(region_record("choice", "smoothing", seed, {"choice accuracy (predicted)": (0.6, 0.7, 0.8),
                                                                "choice accuracy (decoded)": (0.7, 0.8, 0.9)}))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("region")
    records = write_records(region_records(), root / "records")
    build_site([records], None, root / "site", score_entry_file)
    return root / "site"


def _board(tabs: list[dict], label: str) -> dict:
    (tab,) = [t for t in tabs if t["label"] == label]
    (board,) = tab["boards"]
    return board


def test_each_region_family_has_its_own_tab(built):
    tabs = json.loads((built / "results.json").read_text())["tabs"]
    assert [t["label"] for t in tabs] == ["lorenz · 20 ms", "multi_region · 20 ms · choice",
                                          "multi_region · 20 ms · inter"]
    assert _board(tabs, "lorenz · 20 ms")["tables"][0]["sessions"] == []


def test_session_columns_are_means_over_seeds(built):
    tabs = json.loads((built / "results.json").read_text())["tabs"]
    board = _board(tabs, "multi_region · 20 ms · inter")
    (table,) = board["tables"]
    assert table["family"] == "co-smoothing" and table["sessions"] == list(SESSIONS)
    smoothing = next(row for row in board["rows"].values() if row["model"] == "smoothing")
    assert smoothing["sessions"]["co-bps"]["mr0"]["mean"] == pytest.approx(0.11)  # (0.10 + 0.12) / 2
    assert smoothing["sessions"]["co-bps"]["mr0"]["n"] == 2
    assert smoothing["sessions"]["co-bps"]["mr2"]["mean"] == pytest.approx(0.30)
    assert smoothing["metrics"]["co-bps"]["mean"] == pytest.approx((0.11 + 0.20 + 0.30) / 3)
    assert [board["rows"][r["row"]]["model"] for r in table["ranking"]] == ["smoothing", "mean_rate"]

    lines = list(csv.DictReader(io.StringIO((built / table["csv"]).read_text())))
    assert float(lines[0]["co-bps [mr0] mean"]) == pytest.approx(0.11)
    assert float(lines[1]["co-bps [mr1] mean"]) == pytest.approx(0.005)
    html = (built / "index.html").read_text()
    assert 'title="co-bps of session mr2"' in html and "co-bps (mean)" in html


def test_named_behaviour_metrics_form_the_behaviour_table(built):
    tabs = json.loads((built / "results.json").read_text())["tabs"]
    (table,) = _board(tabs, "multi_region · 20 ms · choice")["tables"]
    assert table["family"] == "behavior"
    assert [m["name"] for m in table["metrics"]] == ["choice accuracy (decoded)", "choice accuracy (predicted)"]
    assert table["rank_metric"] == "choice accuracy (decoded)" and table["sessions"] == list(SESSIONS)
