"""``nbench sweep``: sweep files, one record per run key, resume, failure records, locks, two sweeps at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fixtures import import_tiny_tasks, sweep_yaml

from nbench.cli import main
from nbench.errors import ConfigError
from nbench.results import load_record, load_records, write_record
from nbench.runs.store import KeyedStore, try_lock
from nbench.runs.sweepfile import load_sweep

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
FAST = ("mean_rate", "smoothing")


@pytest.fixture(scope="module")
def tiny_tasks(isolated_data_dir: Path) -> tuple[str, ...]:
    return import_tiny_tasks(isolated_data_dir)


def cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def record_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if "work" not in p.relative_to(root).parts)


# --- sweep files --------------------------------------------------------------------------------------------


def test_grid_expands_tasks_models_config_values_and_seeds(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("tasks: [lorenz, chaotic_rnn]\nseeds: [0, 1]\nmodels:\n  - mean_rate\n"
                    "  - {name: smoothing, config: {alpha: 0.1}, grid: {kern_sd_ms: [30, 40, 50]}}\n")
    runs = load_sweep(path)
    assert len(runs) == 2 * (1 + 3) * 2
    smooth = [r.spec for r in runs if r.spec.model == "smoothing"]
    assert {s.override_dict()["kern_sd_ms"] for s in smooth} == {30, 40, 50}
    assert all(s.override_dict()["alpha"] == 0.1 for s in smooth)
    assert [(r.spec.task, r.spec.seed) for r in runs[:2]] == [("lorenz", 0), ("lorenz", 1)]


def test_blocks_inherit_and_duplicates_count_once(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("seeds: [0]\nmodels: [mean_rate]\nsweeps:\n  - {tasks: [lorenz]}\n"
                    "  - {tasks: [lorenz, chaotic_rnn], seeds: [0, 1], phase: [val, test], optional: true}\n")
    runs = load_sweep(path)
    assert [(r.spec.task, r.spec.seed, r.spec.phase, r.block) for r in runs][:2] == [
        ("lorenz", 0, None, 0), ("lorenz", 0, "val", 1)]
    assert len(runs) == 1 + 2 * 2 * 2 and all(r.optional for r in runs if r.block == 1)


def test_random_samples_are_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("tasks: [lorenz]\nseeds: [0, 1]\nsample: {configs: 3, seed: 7}\nmodels:\n  - name: smoothing\n"
                    "    grid: {kern_sd_ms: [20, 30, 40, 50, 60], alpha: {log_uniform: [0.001, 1]}}\n")
    first, again = load_sweep(path), load_sweep(path)
    assert [r.spec for r in first] == [r.spec for r in again] and len(first) == 3 * 2
    alphas = {r.spec.override_dict()["alpha"] for r in first}
    assert len(alphas) == 3 and all(0.001 <= a <= 1 for a in alphas)
    path.write_text("tasks: [lorenz, chaotic_rnn]\nseeds: [0, 1, 2]\nmodels: [mean_rate, smoothing]\n"
                    "sample: {runs: 5, seed: 1}\n")
    runs = load_sweep(path)
    assert len(runs) == 5 and len({r.spec for r in runs}) == 5
    assert [r.spec for r in runs] == [r.spec for r in load_sweep(path)]


@pytest.mark.parametrize(("text", "message"), [
    ("tasks: [lorenz]\nmodel: [mean_rate]\n", "unknown key 'model'"),
    ("tasks: [lorenz]\nmodels: [mean_rate]\nseeds: [-1]\n", "key 'seeds' expected a list of integers >= 0"),
    ("tasks: lorenz\nmodels: [{name: smoothing, grid: {alpha: 0.1}}]\n", "key 'models[0].grid' expected"),
    ("tasks: [lorenz]\nmodels: [smoothing]\nsample: {configs: 0}\n", "key 'sample' expected"),
    ("models: [mean_rate]\nsweeps:\n  - {tasks: [lorenz], seed: [1]}\n", "unknown key 'sweeps[0].seed'"),
    ("tasks: [lorenz]\nmodels: [{name: smoothing, grid: {alpha: {uniform: [0, 1]}}}]\n", "need sample"),
])
def test_bad_sweep_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_sweep(path)
    assert message in str(exc.value) and str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_a_bad_run_fails_the_sweep_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("tasks: [lorenz]\nmodels: [mean_rate, {name: smoothing, config: {kernel: 3}}]\n")
    assert cli(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "lorenz smoothing kernel=3 seed 0: model 'smoothing': unknown config key 'kernel'" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


# --- resume, failures, one record per run key ---------------------------------------------------------------


def test_resume_skips_finished_runs_and_reruns_a_missing_one(tiny_tasks: tuple[str, ...], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = sweep_yaml(tmp_path / "s.yaml", models=FAST, seeds=(0, 1))
    out = tmp_path / "out"
    assert cli(["sweep", str(path), "--out", str(out)]) == 0
    files = record_files(out)
    assert len(files) == 2 * 2 * 2 and all(p.stem == load_record(p).run_key for p in files)
    ids = {p: load_record(p).run_id for p in files}
    files[3].unlink()
    capsys.readouterr()
    assert cli(["sweep", str(path), "--out", str(out)]) == 0
    assert "1 run, 0 failed, 7 skipped" in capsys.readouterr().out
    assert {p: load_record(p).run_id for p in files if p != files[3]} == {k: v for k, v in ids.items()
                                                                           if k != files[3]}
    assert record_files(out) == files
    assert cli(["sweep", str(path), "--out", str(out), "--rerun"]) == 0
    assert record_files(out) == files and all(load_record(p).run_id != ids[p] for p in files)


def test_an_optional_run_without_its_data_stores_nothing_and_leaves_no_folder(
        tiny_tasks: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"sweeps:\n  - {{tasks: [{tiny_tasks[0]}], models: [mean_rate]}}\n"
                    "  - {tasks: [mc_maze_small], models: [mean_rate], optional: true}\n")
    out = tmp_path / "out"
    assert cli(["sweep", str(path), "--out", str(out)]) == 0
    assert "1 done, 0 failed, 0 skipped, 1 not available here" in capsys.readouterr().err
    assert [p.relative_to(out).parts[0] for p in record_files(out)] == [tiny_tasks[0]]
    assert sorted(p.name for p in out.iterdir() if p.name != "work") == [tiny_tasks[0]]


def test_a_failed_run_leaves_a_failure_record_retried_only_when_asked(tiny_tasks: tuple[str, ...], tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    # More latents than held-in neurons: only the data can tell, so the run fails after planning.
    path.write_text(f"tasks: [{tiny_tasks[0]}]\nmodels: [mean_rate, {{name: gpfa, config: {{latent_dim: 40}}}}]\n")
    out = tmp_path / "out"
    assert cli(["sweep", str(path), "--out", str(out)]) == 1
    (failed,) = load_records(out / tiny_tasks[0] / "gpfa")
    assert failed.status == "error" and failed.metrics == {} and failed.seed == 0
    assert failed.error == "model 'gpfa': config key 'latent_dim' expects 1..24 (held-in neurons), got 40"
    assert failed.model["config"]["latent_dim"] == 40 and (out / "work" / failed.run_key / "error.txt").is_file()
    capsys.readouterr()
    assert cli(["sweep", str(path), "--out", str(out)]) == 0  # the failure is stored: skipped, not retried
    assert "0 run, 0 failed, 2 skipped" in capsys.readouterr().out
    assert cli(["sweep", str(path), "--out", str(out), "--retry-failed"]) == 1
    (again,) = load_records(out / tiny_tasks[0] / "gpfa")
    assert again.run_id != failed.run_id and again.status == "error"


def test_older_per_run_files_merge_into_one_file_per_run_key(tiny_tasks: tuple[str, ...], tmp_path: Path) -> None:
    path = sweep_yaml(tmp_path / "s.yaml", tasks=tiny_tasks[:1], models=("mean_rate",), seeds=(0, 1))
    out = tmp_path / "out"
    assert cli(["sweep", str(path), "--out", str(out)]) == 0
    first, second = record_files(out)
    records = [load_record(first), load_record(second)]
    # the layout before one file per run key: <run_key>-<run_id>.json, reruns side by side
    for record, tag in ((records[0], "20261101T000000Z-aaaaaaaa"), (records[0], "20261102T000000Z-bbbbbbbb"),
                        (records[1], "20261101T000000Z-cccccccc")):
        data = record.to_dict() | {"run_id": tag, "created": f"2026-11-0{tag[7]}T00:00:00Z"}
        (first.parent / f"{record.run_key}-{tag}.json").write_text(json.dumps(data))
    second.unlink()
    assert cli(["sweep", str(path), "--out", str(out)]) == 0  # nothing reruns: the old files count
    assert record_files(out) == [first, second]
    assert load_record(second).run_id == "20261101T000000Z-cccccccc"
    assert load_record(first).run_id == records[0].run_id  # the current file wins over older ones


def test_run_with_seeds_goes_through_the_same_store(tiny_tasks: tuple[str, ...], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli(["run", "-t", tiny_tasks[0], "-m", "smoothing", "--seeds", "0,1,2", "--out", str(out)]) == 0
    assert len(record_files(out)) == 3 and "done 3" in capsys.readouterr().err
    assert cli(["run", "-t", tiny_tasks[0], "-m", "smoothing", "--seeds", "0,1,2", "--out", str(out),
                "--resume"]) == 0
    assert "3 already stored" in capsys.readouterr().err and len(record_files(out)) == 3
    assert cli(["run", "-t", tiny_tasks[0], "-m", "smoothing", "--seed", "1", "--seeds", "0"]) == 2


def test_run_with_seeds_keeps_json_reports_and_submissions_per_seed(tiny_tasks: tuple[str, ...], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out, reports = tmp_path / "out", tmp_path / "reports"
    capsys.readouterr()
    assert cli(["run", "-t", tiny_tasks[0], "-m", "smoothing", "--seeds", "0,1", "--out", str(out), "--json",
                "--report", str(reports), "--save-submission", str(tmp_path / "pred-{seed}.h5")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [item["record"]["seed"] for item in shown] == [0, 1]
    for item, seed in zip(shown, (0, 1), strict=True):
        assert item["submission"] == str(tmp_path / f"pred-{seed}.h5") and Path(item["submission"]).is_file()
        assert Path(item["report"]).is_relative_to(reports / f"seed{seed}") and Path(item["report"]).exists()
    assert cli(["run", "-t", tiny_tasks[0], "-m", "smoothing", "--seeds", "0,1", "--out", str(out), "--resume",
                "--fresh"]) == 2


# --- locks and recovery -------------------------------------------------------------------------------------


def test_a_key_is_held_by_one_process_and_freed_when_it_dies(tmp_path: Path) -> None:
    lock_file = tmp_path / "t" / "m" / ".abc.lock"
    held = try_lock(lock_file)
    assert held is not None and try_lock(lock_file) is None  # a second open file cannot take it
    held.release()
    assert not lock_file.exists()
    code = ("import os, sys; from pathlib import Path; from nbench.runs.store import try_lock\n"
            "held = try_lock(Path(sys.argv[1])); assert held is not None; os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", code, str(lock_file)], check=False)
    assert lock_file.exists()  # the killed holder could not clean up ...
    temp = lock_file.parent / ".abc.json.x1y2.tmp"
    temp.write_text("{ partial")
    found = KeyedStore(tmp_path).recover()  # ... but its lock died with it: taken, temp removed, unlinked
    assert found.locks == [lock_file] and found.temps == [temp]
    assert not lock_file.exists() and not temp.exists()


def test_recovery_leaves_keys_of_live_processes_alone(tmp_path: Path) -> None:
    lock_file = tmp_path / "t" / "m" / ".abc.lock"
    held = try_lock(lock_file)
    temp = lock_file.parent / ".abc.json.x1y2.tmp"
    temp.write_text("{ being written")
    found = KeyedStore(tmp_path).recover()
    assert not found.locks and not found.temps and temp.exists()
    held.release()


def test_two_sweeps_at_once_lose_and_duplicate_nothing(tiny_tasks: tuple[str, ...], tmp_path: Path) -> None:
    path = sweep_yaml(tmp_path / "s.yaml", models=FAST, seeds=(0, 1, 2, 3))
    out = tmp_path / "out"
    procs = [subprocess.Popen([sys.executable, "-m", "nbench", "sweep", str(path), "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [int(o.strip().splitlines()[-1].split(": ")[1].split(" run")[0]) for o, _ in outputs]
    files = record_files(out)
    assert sum(ran) == len(files) == 2 * 2 * 4  # every key stored once, by exactly one of the two sweeps
    assert all(load_record(p).status == "ok" for p in files)
    assert not [p for p in out.rglob(".*") if p.is_file()], "no lock or temp file is left"


def test_records_and_leaderboard_loading_ignore_lock_files(tmp_path: Path) -> None:
    from leaderboard_records import make_record

    write_record(make_record(), tmp_path)
    (tmp_path / "lorenz" / "smoothing" / ".x.lock").write_text("host pid 1\n")
    assert len(load_records(tmp_path)) == 1


def test_progress_counts_and_eta() -> None:
    from types import SimpleNamespace

    from nbench.runs.progress import Progress, clock

    lines: list[str] = []
    progress = Progress(log=lines.append)
    job = SimpleNamespace(label="t m seed 0")
    progress.skip(job)
    progress.begin(total=5, to_run=4, executor=SimpleNamespace(slots=2, name="ray"))
    assert lines[-1] == "sweep: 5 runs; 1 already stored (skipped), 4 to run on ray (2 at a time)"
    assert progress.eta() is None
    progress.start(job), progress.start(job)
    progress.finish(job, 10.0)
    progress.finish(job, 30.0, error="boom")
    assert progress.eta() == 2 * 20.0 / 2  # two left, 20 s each on average, two at a time
    assert lines[-1] == "[2/4] FAILED t m seed 0 (30.0 s): boom | done 1, running 0, failed 1, skipped 1, ETA 0:00:20"
    assert clock(3725) == "1:02:05"


def test_errors_are_one_line_and_bounded() -> None:
    from nbench.runs.jobs import MAX_ERROR, one_line

    assert one_line(ConfigError("model 'x': bad")) == "model 'x': bad"
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"
    assert one_line(RuntimeError()) == "RuntimeError"
    long = one_line(RuntimeError("x" * 5000))
    assert len(long) == MAX_ERROR and long.endswith("...")
