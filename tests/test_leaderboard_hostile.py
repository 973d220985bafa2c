"""Hostile leaderboard entries: records that set their own direction or references, malformed records, YAML alias
bombs, formula and bidirectional text, huge strings and symlinks anywhere on an entry's paths."""

from __future__ import annotations

import csv
import io
import json
import math
import os

import pytest
import yaml
from leaderboard_records import board_records, make_record, write_records

from nbench.cli import main
from nbench.errors import ValidationError
from nbench.leaderboard.aggregate import aggregate, group_key
from nbench.leaderboard.entries import load_metadata
from nbench.leaderboard.layout import build_layout
from nbench.leaderboard.site import _add_board_files, build_site, render_index, table_csv
from nbench.results import load_record
from nbench.scoring.entries import score_entry_file

RLO = "\u202e"
BASE = {"name": "entry", "authors": ["A. Person"], "seeds": [{"seed": 0, "file": "s0.json"}]}


def add_entry(subs, entry_id, record: dict, **meta):
    folder = subs / entry_id
    folder.mkdir(parents=True)
    (folder / "s0.json").write_text(json.dumps(record))
    (folder / "metadata.yaml").write_text(yaml.safe_dump({**BASE, **meta}))
    return folder


def record_dict(**kwargs) -> dict:
    return make_record(kind="score", **kwargs).to_dict()


def run_cli(argv, capsys) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return done.value.code, capsys.readouterr().err.strip().splitlines()


def test_item1_submitted_direction_is_refused_and_never_used(tmp_path, capsys):
    """co-bps: {value: -100, higher_is_better: false} must not rank first under a ↑ header."""
    records = write_records(board_records(), tmp_path / "records")
    flipped = record_dict(metrics={"co-bps": -100.0})
    flipped["metrics"]["co-bps"]["higher_is_better"] = False
    add_entry(tmp_path / "subs", "flipped", flipped)
    code, err = run_cli(["leaderboard", "build", "--records", str(records), "--submissions",
                         str(tmp_path / "subs"), "--out", str(tmp_path / "site")], capsys)
    assert code == 2 and len(err) == 1
    assert "'metrics.co-bps.higher_is_better' expected true (nbench's metric table), got False" in err[0]
    # Aggregation takes the direction from the table even for a record that says otherwise.
    record = make_record(metrics={"co-bps": 0.1})
    record.metrics["co-bps"].higher_is_better = False
    [row] = aggregate([(group_key(record), record)])
    assert row.metrics["co-bps"].higher_is_better is True


def test_item2_submitted_reference_values_do_not_reach_the_board(tmp_path):
    records = write_records(board_records(), tmp_path / "records")
    hostile = record_dict(model="AAA", metrics={"co-bps": 0.1})  # sorts before every trusted row
    hostile["reference"]["rate R2 heldout (cond-avg ref)"]["value"] = 0.999
    add_entry(tmp_path / "subs", "ref-override", hostile, name="AAA")
    build_site([records], tmp_path / "subs", tmp_path / "site", score_entry_file)
    results = json.loads((tmp_path / "site" / "results.json").read_text())
    board = next(t for t in results["tabs"] if t["dataset"] == "lorenz")["boards"][0]
    assert board["references"]["rate R2 heldout (cond-avg ref)"]["mean"] == 0.75  # the trusted records' value


ALIAS_BOMB = """name: bomb
authors: [A. Person]
seeds: [{seed: 0, file: s0.json}]
config:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
"""


def test_item3_metadata_aliases_and_size_are_refused(tmp_path):
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "s0.json").write_text(json.dumps(record_dict()))
    (folder / "metadata.yaml").write_text(ALIAS_BOMB)
    with pytest.raises(ValidationError, match=r"metadata.yaml: not valid YAML at line 6 \(alias \*a \(aliases are "
                                              r"refused\)\)"):
        load_metadata(folder)
    (folder / "metadata.yaml").write_text(yaml.safe_dump(BASE) + "# padding\n" * 8000)
    with pytest.raises(ValidationError, match=r"metadata.yaml: 80,\d+ bytes, expected at most 65,536"):
        load_metadata(folder)


def _bad(change):
    data = record_dict()
    change(data)
    return data


MALFORMED = [
    ("string_value", lambda d: d["metrics"]["co-bps"].update(value="0.9"), "'metrics.co-bps.value' expected a "
                                                                           "finite number"),
    ("huge_value", lambda d: d["metrics"]["co-bps"].update(value=1.7e308), "'metrics.co-bps.value'"),
    ("text_ci", lambda d: d["metrics"]["co-bps"].update(ci95="ab"), "'metrics.co-bps.ci95' expected [low, high]"),
    ("inf_ci", lambda d: d["metrics"]["co-bps"].update(ci95=[-math.inf, math.inf]), "'metrics.co-bps.ci95[0]'"),
    ("reversed_ci", lambda d: d["metrics"]["co-bps"].update(ci95=[0.3, 0.1]), "expected low <= high"),
    ("model_text", lambda d: d.update(model="x"), "'model' expected a mapping"),
    ("metrics_null", lambda d: d.update(metrics=None), "'metrics' expected a mapping"),
    ("seed_text", lambda d: d.update(seed="0"), "'seed' expected an integer"),
    ("task_list", lambda d: d.update(task=[1]), "'task' expected a mapping"),
    ("bad_created", lambda d: d.update(created=3), "'created' expected a UTC time"),
]


@pytest.mark.parametrize("case, change, message", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_item4_malformed_records_give_one_line_per_problem(tmp_path, capsys, case, change, message):
    subs = tmp_path / "subs"
    add_entry(subs, "bad", _bad(change))
    for command in (["check", "--submissions", str(subs)],
                    ["build", "--submissions", str(subs), "--out", str(tmp_path / "site")]):
        code, err = run_cli(["leaderboard", *command], capsys)
        errors = [line for line in err if line.startswith("error: ")]
        # besides the errors: progress, and which records folder the build read (it was not given)
        others = [line for line in err if line not in errors and not line.startswith("records: reading ")]
        assert code == 2 and errors and all(line == "checking bad" for line in others), err
        assert any(message in line for line in errors), err
    assert not (tmp_path / "site").exists()


def test_item4_check_lists_every_problem_of_a_record(tmp_path, capsys):
    subs = tmp_path / "subs"
    add_entry(subs, "bad", _bad(lambda d: d.update(model="x", metrics=None, seed=-1)))
    code, err = run_cli(["leaderboard", "check", "--submissions", str(subs)], capsys)
    assert code == 2
    assert [line.split("s0.json: ")[1] for line in err if line.startswith("error: ")] == [
        "key 'model' expected a mapping, got 'x'", "key 'model.name' expected text of at most 80 characters, "
        "got None", "key 'seed' expected an integer in [0, 4294967295] or null, got -1",
        "key 'metrics' expected a mapping, got None"]


def test_item5_csv_header_is_neutralised():
    table = {"metrics": [{"name": "=cmd|' /C calc'!A0"}], "ranking": []}
    header = next(csv.reader(io.StringIO(table_csv(table, {}))))
    assert header[7] == "'=cmd|' /C calc'!A0 mean" and not any(cell.startswith("=") for cell in header)


def test_item6_long_names_and_big_records_are_refused(tmp_path):
    long_metric = record_dict()
    long_metric["metrics"]["x" * 10_000_000] = long_metric["metrics"]["co-bps"]
    (tmp_path / "a.json").write_text(json.dumps(long_metric))
    with pytest.raises(ValidationError, match="record of 10,00.,... bytes, expected at most 4,194,304"):
        load_record(tmp_path / "a.json")
    long_model = record_dict(model="m" * 5000)
    (tmp_path / "b.json").write_text(json.dumps(long_model))
    with pytest.raises(ValidationError, match="'model.name' expected text of at most 80 characters, got 5,000 "
                                              "characters"):
        load_record(tmp_path / "b.json")
    unknown = record_dict()
    unknown["metrics"]["y" * 1000] = unknown["metrics"]["co-bps"]
    (tmp_path / "c.json").write_text(json.dumps(unknown))
    with pytest.raises(ValidationError, match=r"key 'metrics' expected metric names of nbench \(co-bps, "):
        load_record(tmp_path / "c.json")


def test_item7_symlinks_are_refused_on_every_path_component(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s0.json").write_text(json.dumps(record_dict()))
    (outside / "metadata.yaml").write_text(yaml.safe_dump(BASE))
    subs = tmp_path / "subs"
    subs.mkdir()
    os.symlink(outside, subs / "linked-entry")  # the entry folder itself
    with pytest.raises(ValidationError, match="linked-entry: expected a regular folder, got a symlink"):
        load_metadata(subs / "linked-entry")
    entry = subs / "entry"
    entry.mkdir()
    os.symlink(outside, entry / "sub")  # a subfolder on the way to the file
    (entry / "metadata.yaml").write_text(yaml.safe_dump({**BASE, "seeds": [{"seed": 0, "file": "sub/s0.json"}]}))
    with pytest.raises(ValidationError, match=r"'seeds\[0\].file' expected an existing regular file, no symlink "
                                              "on its path"):
        load_metadata(entry)
    (entry / "metadata.yaml").unlink()
    os.symlink(outside / "metadata.yaml", entry / "metadata.yaml")  # the metadata file
    with pytest.raises(ValidationError, match="metadata.yaml: expected a regular file, got a symlink"):
        load_metadata(entry)


def test_item8_bidirectional_controls_are_refused_and_never_rendered(tmp_path):
    folder = tmp_path / "rlo"
    folder.mkdir()
    (folder / "s0.json").write_text(json.dumps(record_dict()))
    for key, value in (("name", f"model{RLO}x"), ("authors", [f"A{RLO}"]), ("description", f"d{RLO}")):
        (folder / "metadata.yaml").write_text(yaml.safe_dump({**BASE, key: value}))
        with pytest.raises(ValidationError, match=f"key '{key}' expected"):
            load_metadata(folder)
    (tmp_path / "r.json").write_text(json.dumps(record_dict(model=f"evil{RLO}")))
    with pytest.raises(ValidationError, match="'model.name' expected .* got control character U.202E"):
        load_record(tmp_path / "r.json")
    # The page strips them from anything that reaches it (here a record built in memory, never checked).
    record = make_record(model=f"evil{RLO}name")
    tabs = build_layout(aggregate([(group_key(record), record)]))
    _add_board_files(tabs[0]["boards"][0], {})
    html = render_index(tabs, "2026-01-01T00:00:00Z")
    assert RLO not in html and "evilname" in html
