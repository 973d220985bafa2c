"""Scoring speed: ``nlb_tools.evaluation.evaluate`` against ``nbench score`` on an MC_Maze val-size submission.

Builds a synthetic NLB val-phase target file and submission with the official MC_Maze shapes (1721 train / 574
eval trials, 140 bins, 137 held-in / 45 held-out neurons, 40 forward bins, PSTHs of 108 conditions; realistic
rates and hand velocity), both written as float32 + gzip like ``nlb_tools.make_tensors.save_to_h5``. Then times,
interleaved, several runs of

- nlb_tools: ``evaluate(target_path, submission_path)`` in this process (imports already paid);
- nbench CLI: ``python -m nbench score SUB --targets TARGETS`` as a subprocess (interpreter start, imports,
  validation, scoring with 1000 bootstrap resamples, record writing: everything a user waits for);
- nbench API: ``read_targets`` + ``load_submission`` + ``score`` in this process;

and times nlb_tools both with one BLAS thread and with its default threads (``bench_common``). Prints a table
(median, min, speed-up of the median against each nlb_tools setting), the load average, the headline speed-up of
the CLI against the faster nlb_tools setting, and checks that every NLB number equals nlb_tools' to 1e-9.
Usage: ``python benchmark/bench_score.py [--runs 3] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic NLB generator shared with the parity tests

from bench_common import anchor_pair, headline, load_average, take_turns  # noqa: E402
from nlb_synth import make_group, mc_maze_val_spec, to_submission  # noqa: E402

from nbench.results import MetricValue  # noqa: E402
from nbench.scoring import nlb_result_list, score  # noqa: E402
from nbench.submission import write_submission  # noqa: E402
from nbench.tasks.base import Targets  # noqa: E402
from nbench.tasks.targets_file import read_targets, write_targets  # noqa: E402
from nbench.validation import load_submission, spec_from_targets  # noqa: E402

TOLERANCE = 1e-9
GOAL = 10.0
ANCHOR = "nlb_tools evaluate()"


def build_files(workdir: Path) -> tuple[Path, Path]:
    """Write the MC_Maze val-size target file and submission (float32, gzip); return their paths."""
    tgt, sub = make_group(mc_maze_val_spec(), seed=0)
    as32 = {k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in tgt.items() if k != "train_cond_idx"}
    target_path = write_targets(workdir / "eval_data_val.h5", {"mc_maze": Targets(group="mc_maze", **as32)})
    sub_path = write_submission(workdir / "submission.h5", to_submission("mc_maze", sub))
    return target_path, sub_path


def run_nlb(target_path: Path, sub_path: Path, blas_threads: int | None = None) -> list[dict]:
    from nlb_tools.evaluation import evaluate
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads):
        return evaluate(str(target_path), str(sub_path))


def run_cli(target_path: Path, sub_path: Path, workdir: Path) -> list[dict]:
    out = Path(tempfile.mkdtemp(prefix="records-", dir=workdir))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "nbench", "score", str(sub_path), "--targets", str(target_path),
                    "--out", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    records = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    scores = {r["task"]["group"]: {k: MetricValue(v["value"], v["higher_is_better"]) for k, v in r["metrics"].items()}
              for r in records}
    return nlb_result_list(scores)


def run_api(target_path: Path, sub_path: Path) -> list[dict]:
    targets = read_targets(target_path)
    subs = load_submission(sub_path, {g: spec_from_targets(t) for g, t in targets.items()})
    return nlb_result_list(score(subs, targets))


def max_difference(ours: list[dict], reference: list[dict]) -> dict[str, float]:
    """Largest |ours - reference| per metric; raises if the groups or metric names differ."""
    assert [list(d) for d in ours] == [list(d) for d in reference], (ours, reference)
    diffs: dict[str, float] = {}
    for mine, ref in zip(ours, reference, strict=True):
        (split, values), = mine.items()
        assert sorted(values) == sorted(ref[split]), (values, ref[split])
        for metric, value in ref[split].items():
            diffs[metric] = max(diffs.get(metric, 0.0), abs(float(values[metric]) - float(value)))
    return diffs


def print_table(times: dict[str, list[float]]) -> None:
    """Markdown table: median and min seconds, and how many times faster than each nlb_tools variant."""
    anchors = [name for name in times if name.startswith("nlb_tools")]
    medians = {name: statistics.median(values) for name, values in times.items()}
    head = "".join(f" x vs {a:40s} |" for a in anchors)
    print(f"| {'tool':40s} | median s |  min s |{head}")
    print(f"|{'-' * 42}|----------|--------|" + "".join(f"{'-' * 47}|" for _ in anchors))
    for name, values in times.items():
        ratios = "".join(f" {medians[a] / medians[name]:45.1f} |" for a in anchors)
        print(f"| {name:40s} | {medians[name]:8.2f} | {min(values):6.2f} |{ratios}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (interleaved)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the files [temporary]")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_score-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"building MC_Maze val-size files in {workdir} ...", flush=True)
    target_path, sub_path = build_files(workdir)
    print(f"  targets {target_path.stat().st_size / 2**20:.0f} MiB, submission {sub_path.stat().st_size / 2**20:.0f} "
          f"MiB; {load_average()}", flush=True)
    tools = {
        "nbench score (CLI)": lambda: run_cli(target_path, sub_path, workdir),
        "nbench API": lambda: run_api(target_path, sub_path),
        **anchor_pair(ANCHOR, lambda threads: run_nlb(target_path, sub_path, blas_threads=threads)),
    }
    times, results = take_turns(tools, args.runs)
    print(f"\n{load_average()} (after)\n")
    print_table(times)
    anchors = [name for name in tools if name.startswith(ANCHOR)]
    reference = results[anchors[0]]
    worst = 0.0
    for name in [n for n in tools if n != anchors[0]]:
        diffs = max_difference(results[name], reference)
        worst = max(worst, *diffs.values())
        print(f"\n{name}: max difference from {anchors[0]}: " + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items()))
    print("values:", {k: round(float(v), 6) for d in reference for vals in d.values() for k, v in vals.items()})
    speedup, fastest = headline(times, "nbench score (CLI)", anchors)
    print(f"\nidentical numbers (<= {TOLERANCE:g}): {'yes' if worst <= TOLERANCE else 'NO'}; "
          f"CLI speed-up against the faster nlb_tools setting ({fastest}) {speedup:.1f}x "
          f"(goal {GOAL:g}x: {'met' if speedup >= GOAL else 'NOT met'})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
