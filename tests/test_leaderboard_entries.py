"""Submission entries: metadata validation (one-line errors), link filtering, scoring of .h5 files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml
from leaderboard_records import make_record

from nbench.errors import DataError, ValidationError
from nbench.leaderboard.entries import entry_records, load_entries, load_metadata, safe_url
from nbench.results import write_record
from nbench.scoring.entries import score_entry_file


@pytest.fixture(scope="module")
def lorenz_run(tmp_path_factory):
    """A real mean_rate run on lorenz (synthetic data generated into a private data folder)."""
    from nbench.runner import RunSpec, run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBENCH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield run(RunSpec.create("lorenz", "mean_rate", seed=0))


def write_entry(folder, metadata, files=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.yaml").write_text(yaml.safe_dump(metadata) if isinstance(metadata, dict) else metadata)
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    return folder


def record_bytes(**kwargs) -> bytes:
    return json.dumps(make_record(**kwargs).to_dict()).encode()


BASE = {"name": "My model", "authors": ["A. Person"], "seeds": [{"seed": 0, "file": "s0.json"}]}


def test_valid_metadata(tmp_path):
    meta = dict(BASE, description="two\nlines", paper="https://arxiv.org/abs/1", code="http://x.org/y",
                config={"lr": 0.1}, cost={"wall_s": 3600, "device": "A100"}, phase="test")
    entry = load_metadata(write_entry(tmp_path / "my-model", meta, {"s0.json": record_bytes()}))
    assert entry.name == "My model" and entry.authors == ("A. Person",) and entry.phase == "test"
    assert entry.seeds == ((0, tmp_path / "my-model" / "s0.json"),) and entry.config_hash


@pytest.mark.parametrize("change, key", [
    ({"paper": "javascript:alert(1)"}, "paper"),
    ({"code": "data:text/html,<script>x</script>"}, "code"),
    ({"paper": "https://ok.org/\" onmouseover=\"x"}, "paper"),
    ({"paper": "//evil.org/x"}, "paper"),
    ({"name": "two\nlines"}, "name"),
    ({"name": ""}, "name"),
    ({"authors": []}, "authors"),
    ({"seeds": []}, "seeds"),
    ({"seeds": [{"seed": -1, "file": "s0.json"}]}, "seeds[0].seed"),
    ({"seeds": [{"seed": 0, "file": "s0.json"}, {"seed": 0, "file": "s0.json"}]}, "seeds[1].seed"),
    ({"seeds": [{"seed": 0, "file": "../outside.json"}]}, "seeds[0].file"),
    ({"seeds": [{"seed": 0, "file": "/etc/passwd.json"}]}, "seeds[0].file"),
    ({"seeds": [{"seed": 0, "file": "missing.h5"}]}, "seeds[0].file"),
    ({"seeds": [{"seed": 0, "file": "s0.txt"}]}, "seeds[0].file"),
    ({"seeds": [{"seed": 0, "file": "s0.json"}], "tasks": 3}, "tasks"),
    ({"phase": "train"}, "phase"),
    ({"cost": {"wall_s": "fast"}}, "cost.wall_s"),
    ({"naem": "typo"}, "naem"),
])
def test_bad_metadata_is_one_line_naming_file_and_key(tmp_path, change, key):
    folder = write_entry(tmp_path / "entry", dict(BASE, **change), {"s0.json": record_bytes(), "s0.txt": b"x"})
    with pytest.raises(ValidationError) as info:
        load_metadata(folder)
    message = str(info.value)
    assert "\n" not in message and "metadata.yaml" in message and repr(key) in message


def test_h5_files_need_tasks_and_symlinks_are_refused(tmp_path):
    folder = write_entry(tmp_path / "e", dict(BASE, seeds=[{"seed": 0, "file": "s.h5"}]), {"s.h5": b"x"})
    with pytest.raises(ValidationError, match="'tasks'"):
        load_metadata(folder)
    (tmp_path / "secret.json").write_bytes(record_bytes())
    os.symlink(tmp_path / "secret.json", folder / "link.json")
    write_entry(folder, dict(BASE, seeds=[{"seed": 0, "file": "link.json"}]))
    with pytest.raises(ValidationError, match="symlinks are refused"):
        load_metadata(folder)


def test_bad_yaml_folder_name_and_missing_metadata(tmp_path):
    with pytest.raises(ValidationError, match="not valid YAML at line 1"):
        load_metadata(write_entry(tmp_path / "a", "name: [unclosed"))
    with pytest.raises(ValidationError, match="entry folder name"):
        load_metadata(write_entry(tmp_path / "Bad Name", BASE))
    (tmp_path / "b").mkdir()
    with pytest.raises(ValidationError, match="metadata file not found"):
        load_metadata(tmp_path / "b")


@pytest.mark.parametrize("url, ok", [
    ("https://arxiv.org/abs/2109.04463", True), ("http://example.org", True), ("HTTPS://x.org", True),
    ("java\tscript:alert(1)", False), ("https://x.org/\x00", False),
    ("javascript:alert(1)", False), ("https://", False), ("ftp://x.org/f", False), ("x.org", False),
    ("https://x.org/a b", False), ("https://x.org/'", False), (None, False), (3, False),
])
def test_safe_url(url, ok):
    assert safe_url(url) == (url if ok else None)


def test_record_entries_are_checked(tmp_path):
    folder = write_entry(tmp_path / "e", BASE, {"s0.json": record_bytes(seed=1)})
    with pytest.raises(ValidationError, match="seed"):
        entry_records(load_metadata(folder), score_entry_file)
    write_entry(folder, BASE, {"s0.json": record_bytes(task="no_such_task")})
    with pytest.raises(ValidationError, match="task.name"):  # not a registered task
        entry_records(load_metadata(folder), score_entry_file)
    write_entry(folder, BASE, {"s0.json": record_bytes(status="error")})
    with pytest.raises(ValidationError, match="status"):
        entry_records(load_metadata(folder), score_entry_file)
    write_entry(folder, dict(BASE, phase="val"), {"s0.json": record_bytes()})
    with pytest.raises(ValidationError, match="phase"):
        entry_records(load_metadata(folder), score_entry_file)
    stale = make_record()
    stale.task["version"] = "0"
    write_entry(folder, BASE, {"s0.json": json.dumps(stale.to_dict()).encode()})
    with pytest.raises(ValidationError, match="'task.version' expected '1'"):
        entry_records(load_metadata(folder), score_entry_file)


def test_h5_entry_is_scored_like_nbench_score(tmp_path, lorenz_run):
    from nbench.submission import write_submission

    folder = tmp_path / "subs" / "mean-copy"
    folder.mkdir(parents=True)
    write_submission(folder / "seed0.h5", lorenz_run.submission)
    write_entry(folder, dict(BASE, tasks=["lorenz"], seeds=[{"seed": 3, "file": "seed0.h5"}]))
    [entry] = load_entries(tmp_path / "subs")
    [record] = entry_records(entry, score_entry_file)  # the fixture's NBENCH_DATA_DIR is still set
    assert record.kind == "score" and record.seed == 3 and record.task["name"] == "lorenz"
    assert record.dataset["version"] == lorenz_run.record.dataset["version"]
    for name, value in lorenz_run.record.metrics.items():
        assert record.metrics[name].value == pytest.approx(value.value, rel=1e-6), name


def test_bad_h5_entry_fails_with_one_line(tmp_path, lorenz_run):
    from nbench.submission import write_submission

    sub = lorenz_run.submission
    broken = type(sub)(**{**{k: getattr(sub, k) for k in ("group", "train_rates_heldin", "train_rates_heldout",
                                                           "eval_rates_heldin")},
                          "eval_rates_heldout": np.asarray(sub.eval_rates_heldout)[:, :, :-1]})
    folder = tmp_path / "broken"
    folder.mkdir()
    write_submission(folder / "s.h5", broken)
    write_entry(folder, dict(BASE, tasks=["lorenz"], seeds=[{"seed": 0, "file": "s.h5"}]))
    with pytest.raises(ValidationError) as info:
        entry_records(load_metadata(folder), score_entry_file)
    assert "\n" not in str(info.value) and "s.h5" in str(info.value)


def test_unavailable_targets_are_skipped_with_a_warning(tmp_path):
    def scorer(path, task, phase, seed):
        raise DataError(f"{task}: data not downloaded")

    folder = write_entry(tmp_path / "e", dict(BASE, tasks=["mc_maze"], seeds=[{"seed": 0, "file": "s.h5"}]),
                         {"s.h5": b"\x89HDF\r\n\x1a\n"})
    warnings = []
    assert entry_records(load_metadata(folder), scorer=scorer, warn=warnings.append) == []
    assert len(warnings) == 1 and "mc_maze" in warnings[0] and "skipped" in warnings[0]


def test_load_entries_skips_hidden_and_files(tmp_path):
    write_entry(tmp_path / "b-entry", BASE, {"s0.json": record_bytes()})
    write_entry(tmp_path / "a-entry", BASE, {"s0.json": record_bytes()})
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "README.md").write_text("docs")
    assert [e.id for e in load_entries(tmp_path)] == ["a-entry", "b-entry"]
    write_record(make_record(), tmp_path / "c-entry")  # a folder without metadata.yaml is an error
    with pytest.raises(ValidationError, match="metadata file not found"):
        load_entries(tmp_path)
