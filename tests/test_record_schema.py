"""The published record schema (docs/record.schema.json) holds for real records, and ``--json`` output parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli

from nbench import registry
from nbench.record_schema import record_problems
from nbench.results import SCHEMA_VERSION, Record, load_records
from nbench.runner import RunSpec, run
from nbench.testing.sessions import TinySessionsTask

jsonschema = pytest.importorskip("jsonschema")  # a test-only dependency (the test extra)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "record.schema.json").read_text())


def _validate(data: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


def test_the_schema_is_valid_and_describes_this_version() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert set(SCHEMA["required"]) == set(Record.__dataclass_fields__)


def test_run_and_score_records_and_their_json_output_follow_the_schema(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "sub.h5"
    printed = json.loads(cli(["run", "-t", "lorenz", "-m", "smoothing", "--out", str(tmp_path / "runs"),
                               "--save-submission", str(sub), "--json"], capsys)[0])
    _validate(printed["record"])
    assert json.loads(Path(printed["path"]).read_text()) == printed["record"]
    assert printed["submission"] == str(sub) and printed["record"]["trials"]["lorenz"]["co-bps"]["norm"]
    scored = json.loads(cli(["score", str(sub), "--out", str(tmp_path / "scores"), "--json"], capsys)[0])
    assert len(scored) == 1 and scored[0]["record"]["kind"] == "score"
    _validate(scored[0]["record"])
    assert scored[0]["record"]["metrics"] == printed["record"]["metrics"]
    assert scored[0]["record"]["trials"] == printed["record"]["trials"]  # same predictions, same per-trial data


def test_a_record_with_sessions_and_queries_follows_the_schema(tmp_path: Path) -> None:
    registry.register("tasks", "tiny_regions_schema", lambda: TinySessionsTask(queries="regions",
                                                                                name="tiny_regions_schema"))
    record = run(RunSpec.create("tiny_regions_schema", "mean_rate"), tmp_path).record
    data = record.to_dict()
    _validate(data)
    assert set(data["breakdown"]) == set(data["neurons"]) == set(data["trials"]) == {"s1", "s2"}
    assert len(data["neurons"]["s1"]["co-bps"]) == 12  # every unit of the session, over its region queries
    assert record_problems(data) == []  # the check applied to every loaded record accepts the per-unit fields
    assert (Record.from_dict(data).neurons, Record.from_dict(data).trials) == (data["neurons"], data["trials"])


@pytest.mark.parametrize("section, change, message", [
    ("neurons", lambda n: n["s1"].update({"co-bps": "0.1"}), "'neurons.s1.co-bps' expected a list"),
    ("neurons", lambda n: n["s1"]["co-bps"].__setitem__(3, "x"), "'neurons.s1.co-bps[3]' expected a finite number"),
    ("neurons", lambda n: n["s1"].update({"not-a-metric": []}), "'neurons.s1' expected metric names of nbench"),
    ("trials", lambda t: t["s1"]["co-bps"].update(loss="abc"), "'trials.s1.co-bps.loss' expected base64"),
    ("trials", lambda t: t["s1"]["co-bps"].update(loss=None), "'trials.s1.co-bps.loss' expected base64"),
    ("trials", lambda t: t["s1"]["co-bps"].update(extra=1), "'trials.s1.co-bps.extra' expected one of the keys"),
])
def test_malformed_per_unit_and_per_trial_fields_are_refused(tmp_path: Path, section, change, message) -> None:
    registry.register("tasks", "tiny_regions_bad", lambda: TinySessionsTask(queries="regions",
                                                                             name="tiny_regions_bad"))
    data = run(RunSpec.create("tiny_regions_bad", "mean_rate"), tmp_path).record.to_dict()
    change(data[section])
    problems = record_problems(data)
    assert len(problems) == 1 and message in problems[0], problems


def test_older_records_migrate_to_the_schema() -> None:
    records = load_records(ROOT / "leaderboard" / "records")
    assert records and {r.schema_version for r in records} == {SCHEMA_VERSION}
    for record in records:
        _validate(record.to_dict())


def test_list_and_data_list_print_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = json.loads(cli(["list", "tasks", "--json"], capsys)[0])
    lorenz = next(t for t in tasks if t["name"] == "lorenz")
    assert lorenz["metrics"][0] == "co-bps" and lorenz["default_phase"] == "test" and lorenz["family"] == "lorenz"
    models = {m["name"]: m for m in json.loads(cli(["list", "models", "--json"], capsys)[0])}
    assert models["ndt"]["consumes"] == ["bins"] and "smoothing" in models
    metrics = {m["name"]: m for m in json.loads(cli(["list", "metrics", "--json"], capsys)[0])}
    assert metrics["co-bps"]["higher_is_better"] and metrics["co-bps"]["bootstrap_ci"]
    listed = json.loads(cli(["data", "list", "--data-dir", str(tmp_path), "--json"], capsys)[0])
    small = next(d for d in listed if d["name"] == "mc_maze_small")
    assert small["files"]["test"]["state"] == "missing" and small["version"] == "0.220113.0408"
