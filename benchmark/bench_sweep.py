"""Sweep machinery overhead: ``nbench sweep``'s serial executor (plan, store, per-key locks, thread limits,
atomic records) against a plain loop of :func:`nbench.runner.run` (what ``leaderboard/make_records.py`` did), and
the Ray executor on a local cluster; plus the cost of a resumed sweep whose runs are all stored.

The runs are tiny (imported tensor tasks of 40 train trials; mean_rate and smoothing), so the machinery's cost is
not hidden behind model fitting. The plain loop is timed with one BLAS/OpenMP thread and with its default; the
modes take turns, ``--repeats`` times; the table shows medians and the ratio against the faster plain loop, with
the load average.

Usage: ``python benchmark/bench_sweep.py [--repeats 3] [--seeds 6] [--ray-workers 2] [--no-ray]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from sweep_fixtures import import_tiny_tasks, sweep_yaml  # noqa: E402

from nbench.runner import run  # noqa: E402
from nbench.runs.execute import SerialExecutor  # noqa: E402
from nbench.runs.store import KeyedStore  # noqa: E402
from nbench.runs.sweep import make_executor, plan_jobs, run_jobs  # noqa: E402
from nbench.runs.sweepfile import load_sweep  # noqa: E402


def quiet(line: str) -> None:
    pass


def plain_loop(runs: list, out: Path, threads: int | None) -> None:
    if threads is None:
        for item in runs:
            run(item.spec, out_dir=out)
        return
    with threadpool_limits(threads):
        for item in runs:
            run(item.spec, out_dir=out)


def sweep(runs: list, out: Path, executor: object) -> None:
    planned = plan_jobs(runs, out)
    summary = run_jobs(planned.jobs, KeyedStore(out), executor, log=quiet)
    assert not summary.failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    os.environ["NBENCH_DATA_DIR"] = str(work / "data")
    tasks = import_tiny_tasks(work / "data")
    runs = load_sweep(sweep_yaml(work / "s.yaml", tasks, ("mean_rate", "smoothing"), tuple(range(args.seeds))))
    modes = {"plain loop, 1 thread": lambda out: plain_loop(runs, out, 1),
             "plain loop, default threads": lambda out: plain_loop(runs, out, None),
             "sweep, serial": lambda out: sweep(runs, out, SerialExecutor())}
    use_ray = not args.no_ray and importlib.util.find_spec("ray") is not None
    times: dict[str, list[float]] = {name: [] for name in modes}
    resumed: list[float] = []
    for name in modes:  # warm-up: imports, data caches
        modes[name](work / "warm")
        shutil.rmtree(work / "warm")
    for rep in range(args.repeats):
        for name, fn in modes.items():
            out = work / f"out-{rep}-{len(times[name])}-{name.split(',')[0].replace(' ', '')}"
            start = time.perf_counter()
            fn(out)
            times[name].append(time.perf_counter() - start)
            if name == "sweep, serial":
                start = time.perf_counter()
                sweep(runs, out, SerialExecutor())  # every run stored: all skipped
                resumed.append(time.perf_counter() - start)
            shutil.rmtree(out)
    if use_ray:
        executor = make_executor("ray", workers=args.ray_workers)
        executor.close = lambda: None  # keep the cluster up between repeats (started once, timed apart)
        times[f"sweep, ray ({args.ray_workers} workers)"] = []
        for rep in range(args.repeats):
            out = work / f"ray-{rep}"
            start = time.perf_counter()
            sweep(runs, out, executor)
            times[f"sweep, ray ({args.ray_workers} workers)"].append(time.perf_counter() - start)
        executor.ray.shutdown()
    anchor = min(statistics.median(times["plain loop, 1 thread"]),
                 statistics.median(times["plain loop, default threads"]))
    print(f"{len(runs)} runs (2 tiny tasks x mean_rate, smoothing x {args.seeds} seeds); medians of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'mode':36s} {'median s':>9s} {'per run ms':>11s} {'vs faster plain loop':>21s}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:36s} {med:9.2f} {1000 * med / len(runs):11.1f} {med / anchor:20.2f}x")
    med = statistics.median(resumed)
    print(f"{'sweep, resumed (all stored)':36s} {med:9.2f} {1000 * med / len(runs):11.1f} {med / anchor:20.2f}x")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
