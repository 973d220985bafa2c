"""The site build: files, results.json, CSV, escaping of hostile metadata, atomic replacement, CLI."""

from __future__ import annotations

import csv
import io
import json
from html import unescape

import pytest
import yaml
from leaderboard_records import board_records, make_record, write_records

from nbench.cli import main
from nbench.errors import ValidationError
from nbench.leaderboard.site import MARKER, build_site
from nbench.scoring.entries import score_entry_file

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def add_entry(subs, entry_id, name, records, **meta):
    folder = subs / entry_id
    folder.mkdir(parents=True)
    seeds = []
    for i, record in enumerate(records):
        (folder / f"seed{i}.json").write_text(json.dumps(record.to_dict()))
        seeds.append({"seed": record.seed, "file": f"seed{i}.json"})
    (folder / "metadata.yaml").write_text(yaml.safe_dump(dict(name=name, authors=["E. Vil"], seeds=seeds, **meta)))
    return folder


def make_inputs(root):
    records = write_records(board_records(), root / "records")
    subs = root / "submissions"
    subs.mkdir()
    add_entry(subs, "hostile", HOSTILE, [make_record(metrics={"co-bps": 0.301}, kind="score",
                                                     ci95={"co-bps": (0.28, 0.33)})],
              description=HOSTILE, paper="https://example.org/paper?a=1&b=2")
    add_entry(subs, "formula", "=HYPERLINK(\"http://x\")", [make_record(metrics={"co-bps": 0.1}, kind="score")])
    return records, subs


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    records, subs = make_inputs(root)
    result = build_site([records], subs, root / "site", score_entry_file)
    return root, result


def test_files_are_written(site):
    root, result = site
    out = root / "site"
    assert result.n_records == 17 and result.n_entries == 2 and result.n_rows == 7
    for name in ["index.html", "results.json", MARKER]:
        assert (out / name).is_file()
    assert len(list((out / "csv").glob("*.csv"))) == 4  # lorenz: 3 families, chaotic_rnn: co-smoothing
    assert len(list((out / "plots").glob("*.svg"))) >= 4
    assert all(p.stat().st_mode & 0o044 for p in out.rglob("*"))  # readable by the web server
    assert not [p for p in root.iterdir() if p.name.startswith(".site")]  # no staging left behind


def test_results_json_ranks_and_aggregates(site):
    root, _ = site
    results = json.loads((root / "site" / "results.json").read_text())
    assert results["schema"] == "nbench-leaderboard/1"
    tab = next(t for t in results["tabs"] if t["dataset"] == "lorenz")
    assert tab["label"] == "lorenz · 20 ms"
    [board] = tab["boards"]
    families = [t["family"] for t in board["tables"]]
    assert families == ["co-smoothing", "forward prediction", "rate recovery"]
    ranking = board["tables"][0]["ranking"]
    models = [board["rows"][r["row"]]["model"] for r in ranking]
    ranks = [(r["rank"], r["tied"]) for r in ranking]
    assert models == ["gru", HOSTILE, "smoothing", '=HYPERLINK("http://x")', "mean_rate"]
    assert ranks == [(1, True), (1, True), (3, False), (4, False), (5, False)]
    gru = board["rows"][ranking[0]["row"]]
    s = gru["metrics"]["co-bps"]
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.303) and s["sd"] == pytest.approx(0.003)
    assert gru["origin"] == "reproduced" and gru["provenance"]["wall_s"] == 60.0
    hostile = board["rows"][ranking[1]["row"]]
    assert hostile["origin"] == "submitted" and hostile["entry"]["paper"] == "https://example.org/paper?a=1&b=2"
    assert hostile["metrics"]["co-bps"]["ci95"] == [0.28, 0.33]


def test_hostile_metadata_is_escaped(site):
    root, _ = site
    html = (root / "site" / "index.html").read_text()
    assert HOSTILE not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert html.count("<script") == 1  # only the page's own script
    assert 'href="https://example.org/paper?a=1&amp;b=2"' in html
    assert "Content-Security-Policy" in html and "script-src 'sha256-" in unescape(html)


def test_csv_neutralises_formulas(site):
    root, _ = site
    path = next((root / "site" / "csv").glob("lorenz*co-smoothing.csv"))
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["model"] for r in rows][3] == "'=HYPERLINK(\"http://x\")"
    assert rows[0]["model"] == "gru" and rows[0]["co-bps n"] == "3" and rows[0]["rank"] == "1"
    assert float(rows[0]["co-bps ci95_lo"]) < 0.303 < float(rows[0]["co-bps ci95_hi"])


def test_bad_link_or_entry_fails_and_keeps_the_previous_site(tmp_path):
    records, subs = make_inputs(tmp_path)
    build_site([records], subs, tmp_path / "site", score_entry_file)
    before = (tmp_path / "site" / "index.html").read_bytes()
    add_entry(subs, "bad-link", "ok name", [make_record()], code="javascript:alert(1)")
    with pytest.raises(ValidationError, match="bad-link.*'code'"):
        build_site([records], subs, tmp_path / "site", score_entry_file)
    assert (tmp_path / "site" / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records", "site", "submissions"]


def test_refuses_to_overwrite_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.md").write_text("mine")
    with pytest.raises(ValidationError, match="not a previous leaderboard build"):
        build_site([], None, tmp_path / "docs", score_entry_file)
    assert (tmp_path / "docs" / "keep.md").read_text() == "mine"


def test_empty_build_and_reproducible_output(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build_site([], None, tmp_path / "empty", score_entry_file)
    assert "No results yet" in (tmp_path / "empty" / "index.html").read_text()
    records = write_records(board_records(), tmp_path / "records")
    build_site([records], None, tmp_path / "a", score_entry_file)
    build_site([records], None, tmp_path / "b", score_entry_file)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_cli_build_and_one_line_error(tmp_path, capsys):
    records, subs = make_inputs(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", "build", "--records", str(records), "--submissions", str(subs),
              "--out", str(tmp_path / "out")])
    assert done.value.code == 0 and "7 rows from 17 records" in capsys.readouterr().out
    (subs / "hostile" / "metadata.yaml").write_text("name: x\nauthors: [a]\nseeds: []\n")
    with pytest.raises(SystemExit) as done:
        main(["leaderboard", "check", "--submissions", str(subs)])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and err[-1].startswith("error: ") and "'seeds'" in err[-1]


def test_several_record_folders_merge_and_rerun_seeds_count_once(tmp_path):
    old = write_records([make_record(seed=s, metrics={"co-bps": 0.1}) for s in range(2)], tmp_path / "shipped")
    new = write_records([make_record(seed=s, metrics={"co-bps": 0.2}, created="2026-12-01T00:00:00Z")
                         for s in range(3)], tmp_path / "rerun")
    result = build_site([old, new], None, tmp_path / "site", score_entry_file)
    results = json.loads((tmp_path / "site" / "results.json").read_text())
    [row] = results["tabs"][0]["boards"][0]["rows"].values()
    assert result.n_records == 5 and row["seeds"] == [0, 1, 2]
    assert row["metrics"]["co-bps"]["values"] == [0.2, 0.2, 0.2]
