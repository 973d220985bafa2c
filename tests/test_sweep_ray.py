"""The Ray executor: a 24-run sweep (2 tasks x 3 models x 4 seeds) on a local 2-worker Ray cluster gives the
same metrics per run key as the serial executor; the serial executor never imports Ray."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fixtures import import_tiny_tasks

from nbench.results import load_records

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::RuntimeWarning")]
SWEEP = """tasks: [{tasks}]
models: [mean_rate, smoothing, {{name: gpfa, config: {{latent_dim: 3, em_max_iters: 10, alpha2: 0.01}}}}]
seeds: [0, 1, 2, 3]
"""


def sweep(path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbench", "sweep", str(path), "--out", str(out), *extra],
                          capture_output=True, text=True, env=dict(os.environ), timeout=900)


def metrics_by_key(folder: Path) -> dict[str, dict[str, float | None]]:
    return {r.run_key: {name: m.value for name, m in r.metrics.items()} for r in load_records(folder)}


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason='Ray not installed (pip install "nbench[ray]")')
def test_serial_and_ray_give_identical_metrics_per_run_key(isolated_data_dir: Path, tmp_path: Path) -> None:
    tasks = import_tiny_tasks(isolated_data_dir)
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP.format(tasks=", ".join(tasks)))
    serial = sweep(path, tmp_path / "serial")
    assert serial.returncode == 0, serial.stderr
    ray = sweep(path, tmp_path / "ray", "--executor", "ray", "--workers", "2")
    assert ray.returncode == 0, ray.stderr
    assert "on ray (2 at a time)" in ray.stderr and "24 run, 0 failed" in ray.stdout
    a, b = metrics_by_key(tmp_path / "serial"), metrics_by_key(tmp_path / "ray")
    assert len(a) == 24 and a.keys() == b.keys()
    assert a == b  # exactly: same code, same thread count per run
    assert all({"co-bps", "fp-bps"} <= set(m) for m in a.values())


def test_the_serial_executor_never_imports_ray(isolated_data_dir: Path, tmp_path: Path) -> None:
    tasks = import_tiny_tasks(isolated_data_dir)
    path = tmp_path / "s.yaml"
    path.write_text(f"tasks: [{tasks[0]}]\nmodels: [mean_rate]\n")
    code = ("import sys\nfrom nbench.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\nassert 'ray' not in sys.modules, 'ray was imported'\n")
    done = subprocess.run([sys.executable, "-c", code, "sweep", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
