"""Regenerate the baseline records shipped in ``leaderboard/records/`` (and the example entry's files).

Every run is an ordinary ``nbench run`` (same runner, same scorer); only fast baselines on the embedded synthetic
tasks are shipped, so the page is never empty and CI can regenerate them in about a minute.

Usage, from the repository root::

    python leaderboard/make_records.py                 # the shipped set: RUNS x SEEDS into leaderboard/records
    python leaderboard/make_records.py --models mean_rate --seeds 0 1
    python leaderboard/make_records.py --example       # also rewrite submissions/example/*.h5

Runs of a model that is not installed are skipped with a message. The folders of the runs that succeeded are
replaced only after all runs finished, so an interrupted regeneration leaves the previous records in place.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from nbench import registry
from nbench.errors import NbenchError
from nbench.results import Record, write_record
from nbench.runner import RunSpec, run
from nbench.submission import write_submission

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("lorenz", "chaotic_rnn")
MODELS = ("mean_rate", "smoothing", "gpfa")
SEEDS = (0, 1, 2)
#: The example entry: a baseline's predictions submitted as files (shows the entry format end to end).
EXAMPLE = {"task": "lorenz", "model": "smoothing", "overrides": {"kern_sd_ms": 40}, "seeds": (0, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=ROOT / "leaderboard" / "records")
    parser.add_argument("--example", action="store_true", help="also regenerate the example entry's .h5 files")
    args = parser.parse_args(argv)
    invocation = shlex.join(["python", "leaderboard/make_records.py", *sys.argv[1:]])
    results: dict[tuple[str, str], list[Record]] = {}
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            if not _available(model):
                print(f"skipped: model {model!r} is not available in this nbench")
                continue
            for task in args.tasks:
                for seed in args.seeds:
                    result = run(RunSpec.create(task, model, seed=seed), out_dir=work, invocation=invocation)
                    results.setdefault((task, model), []).append(result.record)
                    print(f"{task} {model} seed {seed}: co-bps {result.record.metrics['co-bps'].value:.4f}")
    for (task, model), records in results.items():
        shutil.rmtree(args.out / task / model, ignore_errors=True)
        for record in records:
            write_record(record, args.out)
    if args.example and _available(EXAMPLE["model"]):
        make_example(ROOT / "submissions" / "example", invocation)
    return 0


def _available(model: str) -> bool:
    try:
        registry.get("models", model)
    except (NbenchError, ImportError):
        return False
    return True


def make_example(folder: Path, invocation: str) -> None:
    """Prediction files of the example entry (its metadata.yaml is written by hand and kept)."""
    with tempfile.TemporaryDirectory() as work:
        for seed in EXAMPLE["seeds"]:
            spec = RunSpec.create(EXAMPLE["task"], EXAMPLE["model"], seed=seed, overrides=EXAMPLE["overrides"])
            result = run(spec, out_dir=work, invocation=invocation)
            write_submission(folder / f"seed{seed}.h5", result.submission)
            print(f"example seed {seed}: co-bps {result.record.metrics['co-bps'].value:.4f}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
