"""Test metrics of one NDT training against wall time: how far a preset gets in a given time, and whether more
epochs would help.

Fits the task's NDT preset (plus ``--set`` overrides) exactly as ``nbench run --task T --model ndt --seed S`` does
and, every ``--every`` epochs, scores the *current* weights on the task's evaluation trials (for the ``*_rates``
tasks: rate R2 against the true rates). The curve is for the record only: the fit never sees it, and the final
line scores the checkpoint the fit itself selected (masked validation NLL or held-back co-bps, per the config),
which is what ``nbench run`` reports. Scoring the current weights uses no random numbers, so the training is the
same as without the curve. Each point is appended to ``--out`` (JSON lines) as soon as it is measured.

``--sweep FILE --sweep-out DIR`` records the curve of every NDT fit that ``nbench sweep FILE --out DIR
--train-committed`` trains (one task per sweep file), so the committed predictions and their curve come from the
same training.

Usage::

    NBENCH_NUM_THREADS=1 python benchmark/ndt_curve.py --task lorenz_rates --seed 0 --every 50 --out c.jsonl
    python benchmark/ndt_curve.py --task chaotic_rnn_rates --set max_epochs=1200 --every 25 --out c.jsonl
    python benchmark/ndt_curve.py --table c0.jsonl c1.jsonl   # one table from earlier runs
    NBENCH_NUM_THREADS=1 python benchmark/ndt_curve.py --sweep s0.yaml --sweep-out runs --every 50 --out c.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import add_overrides_option, load_average

from nbench.baselines.base import preset_key
from nbench.baselines.ndt import NDTModel
from nbench.config import parse_set_options
from nbench.scoring import score_group
from nbench.tasks import make_task


class CurveRecorder:
    """Epoch callback: every ``every`` epochs, the evaluation metrics of the current weights, written at once."""

    def __init__(self, model: NDTModel, inputs: Any, targets: Any, every: int, out: Path, meta: dict) -> None:
        self.model, self.inputs, self.targets, self.every = model, inputs, targets, every
        self.out, self.meta = out, meta
        self.started = time.perf_counter()
        self.last_val_nll: float | None = None

    def __call__(self, epoch: int, train_loss: float, val_loss: float | None) -> None:
        if val_loss is not None:
            self.last_val_nll = val_loss
        if epoch % self.every:
            return
        scoring_started = time.perf_counter()
        elapsed = scoring_started - self.started  # training time so far
        metrics = evaluation_metrics(self.model, self.inputs, self.targets)
        self.started += time.perf_counter() - scoring_started  # scoring is not training time
        self.write({"point": "curve", "epoch": epoch, "train s": round(elapsed, 1),
                    "train loss": round(train_loss, 5), "last masked val NLL": self.last_val_nll, **metrics})

    def write(self, row: dict[str, Any]) -> None:
        with self.out.open("a") as fh:
            fh.write(json.dumps({**self.meta, **row}) + "\n")
        print(json.dumps(row), flush=True)


def evaluation_metrics(model: NDTModel, inputs: Any, targets: Any) -> dict[str, float]:
    """Point estimates of the task's metrics for the model's current weights (no bootstrap)."""
    scored = score_group(model.predict(inputs).as_float32(), targets, bootstrap=0)
    return {name: round(value.value, 4) for name, value in scored.items()}


def fit_and_record_selected(model: NDTModel, recorder: CurveRecorder, fit_inputs: Any,
                            fit: Callable[[NDTModel, Any], None]) -> None:
    """Fit ``model`` with ``fit``, then append the scores of the checkpoint the fit selected, with its cost."""
    import torch

    wall, load = time.perf_counter(), load_average()
    fit(model, fit_inputs)
    recorder.write({"point": "selected", "epoch": model.summary.best_epoch, "epochs": model.summary.epochs,
                    "fit wall s": round(time.perf_counter() - wall, 1), "torch threads": torch.get_num_threads(),
                    "load at start": load, "load at end": load_average(),
                    **evaluation_metrics(model, recorder.inputs, recorder.targets)})


def run_curve(task: str, seed: int, overrides: dict[str, Any], every: int, out: Path) -> None:
    """Fit the preset with a :class:`CurveRecorder`; append the selected checkpoint's scores last."""
    prepared = make_task(task)
    inputs, targets = prepared.prepare()
    info = prepared.info
    config = NDTModel.make_config(preset_key(NDTModel, info.preset_keys, info.bin_ms), overrides, bin_ms=info.bin_ms)
    model = NDTModel(config, seed=seed, workdir=None, device="cpu")
    meta = {"task": task, "seed": seed, "overrides": overrides}
    recorder = model.epoch_callback = CurveRecorder(model, inputs, targets, every, out, meta)
    fit_and_record_selected(model, recorder, inputs, NDTModel.fit)


def run_sweep_with_curves(sweep_file: Path, out_dir: Path, every: int, out: Path) -> None:
    """``nbench sweep SWEEP_FILE --out OUT_DIR --train-committed`` with a :class:`CurveRecorder` on each NDT fit."""
    import yaml

    from nbench.cli import main as cli_main

    tasks = yaml.safe_load(sweep_file.read_text()).get("tasks") or []
    if len(tasks) != 1:
        raise SystemExit(f"{sweep_file}: key 'tasks' expects exactly one task for --sweep, got {tasks!r}")
    inputs, targets = make_task(tasks[0]).prepare()
    plain_fit = NDTModel.fit

    def fit_with_curve(model: NDTModel, fit_inputs: Any) -> None:
        meta = {"task": tasks[0], "seed": model.seed, "overrides": {}, "sweep": str(sweep_file)}
        recorder = model.epoch_callback = CurveRecorder(model, inputs, targets, every, out, meta)
        fit_and_record_selected(model, recorder, fit_inputs, plain_fit)

    NDTModel.fit = fit_with_curve  # type: ignore[method-assign]
    cli_main(["sweep", str(sweep_file), "--out", str(out_dir), "--train-committed"])


def print_table(files: list[Path], metric: str | None) -> None:
    """Epoch, training minutes and the main metric of each run's curve, then each run's selected checkpoint."""
    for path in files:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if not rows:
            continue
        key = metric or next(k for k in ("rate R2", "co-bps") if k in rows[-1])
        print(f"{path}: task {rows[0]['task']}, seed {rows[0]['seed']}, overrides {rows[0]['overrides']}")
        for row in rows:
            if row["point"] == "curve":
                print(f"  epoch {row['epoch']:5d}  {row['train s'] / 60:6.1f} min  {key} {row[key]:.4f}")
            else:
                print(f"  selected epoch {row['epoch']} of {row['epochs']}: {key} {row[key]:.4f}, fit "
                      f"{row['fit wall s'] / 60:.1f} min at {row['torch threads']} thread(s), "
                      f"{row['load at start']} -> {row['load at end']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task")
    parser.add_argument("--seed", type=int, default=0)
    add_overrides_option(parser, dest="overrides")
    parser.add_argument("--every", type=int, default=50, help="epochs between curve points")
    parser.add_argument("--out", type=Path, help="JSON-lines file the points are appended to")
    parser.add_argument("--table", nargs="+", type=Path, help="only print the curves of these files")
    parser.add_argument("--sweep", type=Path, help="record the curves of this sweep file's NDT fits")
    parser.add_argument("--sweep-out", type=Path, help="the sweep's --out folder")
    parser.add_argument("--metric", help="metric of --table [default: rate R2, else co-bps]")
    args = parser.parse_args()
    if args.table:
        print_table(args.table, args.metric)
        return
    if args.sweep:
        if args.sweep_out is None or args.out is None:
            parser.error("--sweep needs --sweep-out and --out")
        run_sweep_with_curves(args.sweep, args.sweep_out, args.every, args.out)
        return
    if not args.task or args.out is None or args.every < 1:
        parser.error("a curve needs --task, --out and --every >= 1")
    run_curve(args.task, args.seed, parse_set_options(args.overrides), args.every, args.out)


if __name__ == "__main__":
    main()
