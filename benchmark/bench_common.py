"""What every benchmark here shares: the machine's load, interleaved timing, and the honest headline ratio.

House rule: an anchor is timed both with one BLAS/OpenMP thread and with its default thread count, taking turns
with nbench in the same run, and the headline ratio is taken against the *faster* anchor setting (on a busy
machine, multi-threaded BLAS can be several times slower than one thread; that slowdown is not nbench's speed).
The load average is printed with every table, because absolute times on a shared machine mean little without it.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def load_average() -> str:
    """The 1/5/15-minute load averages and the CPU count, e.g. ``load 1.02 / 0.98 / 0.75 on 2 CPUs``."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def take_turns(tools: dict[str, Callable[[], Any]], runs: int,
               log: Callable[[str], None] = print) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run every tool once per round, ``runs`` rounds; return the seconds of each run and each tool's last result."""
    times: dict[str, list[float]] = {name: [] for name in tools}
    results: dict[str, Any] = {}
    for run in range(runs):
        for name, fn in tools.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
            log(f"  run {run + 1}/{runs} {name:44s} {times[name][-1]:8.2f} s   ({load_average()})")
    return times, results


def anchor_pair(name: str, run: Callable[[int | None], Any]) -> dict[str, Callable[[], Any]]:
    """The two anchor settings as tools: ``run(1)`` with one BLAS/OpenMP thread and ``run(None)``, the default."""
    return {f"{name}, 1 thread": lambda: run(1), f"{name}, default threads": lambda: run(None)}


def headline(times: dict[str, list[float]], ours: str, anchors: list[str]) -> tuple[float, str]:
    """Speed-up of ``ours`` against the faster of ``anchors`` (by median), and that anchor's name."""
    fastest = min(anchors, key=lambda a: statistics.median(times[a]))
    return statistics.median(times[fastest]) / statistics.median(times[ours]), fastest



def add_overrides_option(parser: argparse.ArgumentParser, flag: str = "--set", dest: str = "sets",
                         help: str = "key=value config overrides") -> None:
    """Add a ``KEY=VALUE ...`` option that may be repeated; every occurrence adds to the list."""
    # ``extend``: a plain nargs="*" list would keep only the last occurrence, silently.
    parser.add_argument(flag, dest=dest, nargs="*", action="extend", default=[], metavar="KEY=VALUE", help=help)
