"""SIGKILL of a sweep at random moments: every record file stays complete JSON, a restart reruns no finished run
and finishes the rest, and no temp or lock file is left once it has."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_fixtures import import_tiny_tasks, sweep_yaml

from nbench.results import load_record

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::RuntimeWarning")]
TRIALS = 10


def sweep_process(path: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "nbench", "sweep", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def stored(out: Path) -> dict[Path, str]:
    """Every record file and its run id; each must parse as a complete record."""
    found = {}
    for path in sorted(out.rglob("*.json")):
        if "work" in path.relative_to(out).parts:
            continue
        json.loads(path.read_text())  # complete JSON ...
        found[path] = load_record(path).run_id  # ... and a valid record
    return found


def test_sigkill_at_random_moments_then_restart(isolated_data_dir: Path, tmp_path: Path) -> None:
    tasks = import_tiny_tasks(isolated_data_dir)
    path = sweep_yaml(tmp_path / "s.yaml", tasks=tasks, models=("mean_rate", "smoothing"), seeds=tuple(range(16)))
    out = tmp_path / "out"
    seed = int(os.environ.get("NBENCH_KILL_SEED", "2026"))
    rng = random.Random(seed)
    finished: dict[Path, str] = {}
    for trial in range(TRIALS):
        proc = sweep_process(path, out)
        while not proc.stderr.readline().startswith("sweep:"):  # started: planned, cleaned up, running
            pass
        # A random number of runs finish (at most 2 a trial, so work is left on a fast machine too), then the kill
        # falls at a random moment of the next run (before, during or after it writes its record).
        for _ in range(rng.randint(0, 2)):
            proc.stderr.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.communicate()
        now = stored(out)
        changed = [p for p, run_id in finished.items() if now.get(p) != run_id]
        assert not changed, f"trial {trial} (NBENCH_KILL_SEED={seed}): finished runs were rerun or lost: {changed}"
        finished = now
    proc = sweep_process(path, out)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert 0 < len(finished) < 2 * 2 * 16, "the kills should fall while runs were left to do"
    final = stored(out)
    assert len(final) == 2 * 2 * 16 and all(final[p] == run_id for p, run_id in finished.items())
    assert f"{len(final) - len(finished)} run, 0 failed, {len(finished)} skipped" in stdout
    assert not [p for p in out.rglob(".*") if p.is_file()], "stray temp or lock files after the restart"
