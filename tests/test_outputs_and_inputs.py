"""What a run leaves on disk and what it accepts before it starts: stale temp files of killed processes, the
leaderboard's site swap, file modes under the umask, unwritable outputs and bad config values or seeds."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from leaderboard_records import board_records, make_record, write_records

from nbench.cli import main
from nbench.io import write_json_atomic
from nbench.leaderboard.site import MARKER, build_site
from nbench.results import write_record
from nbench.scoring.entries import score_entry_file


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return int(done.value.code or 0), capsys.readouterr().err.strip().splitlines()


def python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=300)


# ---- item 11: temp files of killed processes, the site swap ---------------------------------------------------

def test_item11_temp_file_of_a_killed_process_is_removed_by_the_next_write(tmp_path):
    killed = python("""
        import os, signal, sys
        from nbench.io import atomic_path
        block = atomic_path(sys.argv[1])
        block.__enter__().write_text("half a record")
        os.kill(os.getpid(), signal.SIGKILL)  # between the temp write and its rename
        """, str(tmp_path / "a.json"))
    assert killed.returncode == -signal.SIGKILL
    [stale] = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # A live writer's temp file in the same folder must survive the clean-up.
    live = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        from nbench.io import atomic_path
        with atomic_path(sys.argv[1]) as tmp:
            tmp.write_text("in progress")
            print(tmp, flush=True)
            sys.stdin.readline()
        """), str(tmp_path / "b.json")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        live_tmp = Path(live.stdout.readline().strip())
        write_json_atomic(tmp_path / "c.json", {"x": 1})
        assert not stale.exists() and live_tmp.exists()
    finally:
        live.communicate("\n", timeout=60)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "c.json"]


def test_item11_killed_site_build_leaves_a_complete_site_and_the_next_build_cleans_up(tmp_path):
    records = write_records(board_records(), tmp_path / "records")
    site = tmp_path / "site"
    build_site([records], None, site, score_entry_file)
    # Rebuild in a process that is killed at the first rename of a folder (after that rename), or, when the swap
    # needs none, right after the swap, before the previous site is removed.
    killed = python("""
        import os, shutil, signal, sys
        from pathlib import Path
        real_replace = os.replace

        def replace_then_die(src, dst):
            real_replace(src, dst)
            if Path(dst).is_dir():
                os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace_then_die
        shutil.rmtree = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        from nbench.leaderboard.site import build_site
        build_site([Path(sys.argv[1])], None, Path(sys.argv[2]), scorer=None)
        """, str(records), str(site))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (site / "index.html").is_file() and (site / "results.json").is_file() and (site / MARKER).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")]  # the killed build's leftovers
    build_site([records], None, site, score_entry_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records", "site"]


# ---- item 12: modes follow the umask ---------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_item12_written_files_follow_the_umask(tmp_path, monkeypatch, umask, mode):
    from nbench.runner import RunSpec, make_task, run
    from nbench.submission import write_submission
    from nbench.tasks.targets_file import write_targets

    monkeypatch.setenv("NBENCH_DATA_DIR", str(tmp_path / "data"))
    old = os.umask(umask)
    try:
        result = run(RunSpec.create("lorenz", "mean_rate"), out_dir=tmp_path / "out")  # record + synthetic cache
        _, targets = make_task("lorenz").prepare("val")
        files = [result.record_path, *(tmp_path / "data" / "synthetic").glob("*.h5"),
                 write_record(make_record(), tmp_path / "records"), write_json_atomic(tmp_path / "x.json", [1]),
                 write_submission(tmp_path / "sub.h5", result.submission),
                 write_targets(tmp_path / "targets.h5", {"lorenz": targets})]
    finally:
        os.umask(old)
    modes = {str(f.relative_to(tmp_path)): oct(stat.S_IMODE(f.stat().st_mode)) for f in files}
    assert len(modes) == 6 and set(modes.values()) == {oct(mode)}, modes


# ---- item 15: outputs are checked before any work ---------------------------------------------------------------

def _blocked(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "sub"


@pytest.mark.parametrize("option, make, message", [
    ("--out", _blocked, r"error: --out .*/a-file/sub: cannot write here \(.*a-file is a file, not a folder\)"),
    ("--out", lambda t: t / ("x" * 300), r"error: --out .*: cannot write here \(a name of 300 bytes; file "
                                          r"systems allow 255"),
    ("--save-submission", lambda t: _blocked(t) / "s.h5", r"error: --save-submission .*/a-file/sub/s.h5: cannot "
                                                          r"write here"),
    ("--save-submission", lambda t: t / ("s" * 250 + ".h5"), r"error: --save-submission .*: cannot write here \(a "
                                                             r"name of \d+ bytes"),
    ("--data-dir", lambda t: t / ("d" * 300), r"error: --data-dir .*: a path component has 300 bytes"),
])
def test_item15_unwritable_outputs_fail_before_any_work(tmp_path, capsys, monkeypatch, option, make, message):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "a-file").write_text("not a folder")
    target = make(tmp_path)
    argv = ["run", "--task", "lorenz", "--model", "mean_rate", "--out", str(tmp_path / "out"), option, str(target)]
    if option == "--out":
        argv = argv[:-4] + argv[-2:]
    code, err = run_cli(argv, capsys)
    assert code == 2 and len(err) == 1, err
    assert re.match(message, err[0]), err[0]
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()  # nothing was prepared or fitted


def test_item15_score_checks_out_before_validating(tmp_path, capsys):
    code, err = run_cli(["score", str(tmp_path / "missing.h5"), "--task", "lorenz", "--out",
                         str(_blocked(tmp_path))], capsys)
    assert code == 2 and err == [f"error: --out {_blocked(tmp_path)}: cannot write here ({tmp_path / 'a-file'} "
                                 "is a file, not a folder)"]


# ---- item 16: config values and seeds are checked up front -------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--model", "smoothing", "--set", "alpha=.nan"], "config key 'alpha' expects a finite float, got nan"),
    (["--model", "smoothing", "--set", "alpha=.inf"], "config key 'alpha' expects a finite float, got inf"),
    (["--model", "gpfa", "--set", "em_tol=.nan"], "config key 'em_tol' expects a finite float, got nan"),
    (["--model", "smoothing", "--set", "kern_sd_ms=1e12"], "config key 'kern_sd_ms' expects a value in (0, 10000] "
                                                           "ms, got 1000000000000.0"),
    (["--model", "gpfa", "--seed", "-1"], "seed expected an integer in [0, 4294967295], got -1"),
    (["--model", "gpfa", "--seed", str(2**32)], "got 4294967296"),
    (["--model", "ndt", "--seed", str(2**70)], f"got {2**70}"),
], ids=["alpha_nan", "alpha_inf", "em_tol_nan", "huge_kernel", "seed_negative", "seed_2_32", "seed_2_70"])
def test_item16_bad_config_values_and_seeds_fail_before_any_work(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(tmp_path / "data"))
    code, err = run_cli(["run", "--task", "lorenz", "--out", str(tmp_path / "out"), *args], capsys)
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_item16_tune_checks_its_seed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(tmp_path / "data"))
    code, err = run_cli(["tune", "--task", "lorenz", "--seed", "-5", "--out", str(tmp_path / "t.yaml")], capsys)
    assert code == 2 and err == ["error: seed expected an integer in [0, 4294967295], got -5"]
    assert json.dumps(sorted(os.listdir(tmp_path))) == "[]"
