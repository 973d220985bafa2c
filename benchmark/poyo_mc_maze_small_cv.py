"""POYO's directly predicted velocity next to NLB's ridge decoder on smoothing and GPFA rates, real MC_Maze_Small.

The nlb_tools 'val' extract of MC_Maze_Small (75 train trials with held-in and held-out spikes and hand
velocity; 25 eval trials with no behaviour) cannot score behaviour on its eval trials, so every model is scored
by K-fold cross-validation over the 75 train trials (contiguous folds in file order, ``nbench.tasks.folds``):
fit on the other folds, predict the held-out fold from its held-in spikes only, and score the fold with nbench's
own scorer (``score_view``):

- POYO: ``vel R2 (predicted)``, the R2 of the velocity it predicts at the bin centres (held-in spike times
  only; the extract is binned, so the times are drawn uniformly within the 5 ms bins from a fixed seed);
- smoothing and GPFA (NLB's baselines, NLB's mc_maze_small settings): NLB's ``vel R2``, a ridge decoder
  (GridSearchCV over alpha, as nlb_tools) fit on the training folds' rates of all 142 neurons and velocity,
  applied to the fold's predicted rates.

Fold values are averaged per seed; the table gives the mean and spread over seeds. Usage (after
``nbench data import .../mc_maze_small_val_5ms.h5 --name mc_maze_small_val --like mc_maze_small``):

    PYTHONPATH=src python benchmark/poyo_mc_maze_small_cv.py --seeds 0 1 2 [--folds 3] [--set epochs=200 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import add_overrides_option

from nbench import registry
from nbench.config import parse_set_options
from nbench.runner import make_task
from nbench.scoring.view import score_view
from nbench.tasks.base import Targets, TaskInputs
from nbench.tasks.folds import contiguous_folds, cv_fold

MODELS = {"poyo": "vel R2 (predicted)", "smoothing": "vel R2", "gpfa": "vel R2"}


def fold_targets(inputs: TaskInputs, fold: TaskInputs, test: np.ndarray) -> Targets:
    """What the scorer needs for a fold: the fold's true velocity and held-out spikes, the training velocity."""
    spec = inputs.behavior[0]
    return Targets(group=inputs.group, eval_spikes_heldout=inputs.train_spikes_heldout[test],
                   train_behavior=fold.train_behavior, eval_behavior=inputs.train_behavior[test],
                   metrics=(spec.decoded_metric, spec.predicted_metric), behavior=spec)


def fit_score(name: str, family: str, overrides: dict, seed: int, fold: TaskInputs, targets: Targets,
              workdir: Path) -> tuple[float, float, dict]:
    """(metric value, fit seconds, fit_info) of one model on one fold."""
    cls = registry.get("models", name)
    model = cls(cls.make_config(family, overrides), seed=seed, workdir=workdir, device="cpu")
    if name == "poyo":  # a line every 10 epochs: these fits take minutes on a shared CPU
        model.epoch_callback = lambda epoch, loss: epoch % 10 or print(f"  epoch {epoch} loss {loss:.4f} "
                                                                      f"({time.perf_counter() - started:.0f} s)",
                                                                      flush=True)
    started = time.perf_counter()
    model.fit(fold)
    seconds = time.perf_counter() - started
    value = score_view(model.predict(fold), targets)[MODELS[name]].value
    return value, seconds, getattr(model, "fit_info", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mc_maze_small_val")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--only-fold", type=int, default=None, help="run one fold only (exploration)")
    add_overrides_option(parser, help="POYO config overrides key=value")
    parser.add_argument("--workdir", default=None, help="keep POYO checkpoints here (an interrupted run resumes)")
    args = parser.parse_args()
    poyo_overrides = parse_set_options(args.sets)
    task = make_task(args.task)
    inputs = task.build(spike_times=True).views[0].inputs
    family = task.info.preset_family
    folds = contiguous_folds(inputs.n_train, args.folds)
    chosen = range(len(folds)) if args.only_fold is None else [args.only_fold]
    print(f"{args.task}: {inputs.n_train} train trials, {args.folds} contiguous folds, held-in spike times "
          f"{'jittered within bins' if inputs.train_spike_times.jittered else 'recorded'}; "
          f"load average at start {os.getloadavg()}", flush=True)
    results: dict[str, list[float]] = {name: [] for name in args.models}
    log = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.workdir or scratch
        for seed in args.seeds:
            for name in args.models:
                values = []
                for k in chosen:
                    fold = cv_fold(inputs, folds[k])
                    overrides = poyo_overrides if name == "poyo" else {}
                    value, seconds, info = fit_score(name, family, overrides, seed, fold,
                                                     fold_targets(inputs, fold, folds[k]),
                                                     Path(tmp) / f"{name}-{seed}-{k}")
                    values.append(value)
                    log.append({"model": name, "seed": seed, "fold": k, MODELS[name]: round(value, 4),
                                "fit_s": round(seconds, 1), "load": [round(x, 2) for x in os.getloadavg()],
                                **({"final_loss": info["train_loss"][-1], "steps": info["steps"]}
                                   if name == "poyo" else {})})
                    print(json.dumps(log[-1]), flush=True)
                results[name].append(float(np.mean(values)))
    print(f"\nload average at end {os.getloadavg()}; POYO overrides {poyo_overrides or 'none (preset)'}")
    print(f"{'model':<10} {'metric':<20} {'mean over seeds':>16} {'sd':>7}  per seed (mean over folds)")
    for name, per_seed in results.items():
        sd = statistics.stdev(per_seed) if len(per_seed) > 1 else float("nan")
        print(f"{name:<10} {MODELS[name]:<20} {np.mean(per_seed):>16.4f} {sd:>7.4f}  "
              f"{', '.join(f'{v:.4f}' for v in per_seed)}")


if __name__ == "__main__":
    main()
