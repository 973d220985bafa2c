"""A model on the real MC_Maze_Small 'val' tensors: co-bps on val; fp-bps, vel R2 and reach direction by CV.

The nlb_tools 'val' file (75 train trials with held-out neurons, forward window and behavior; 25 eval trials
with held-out truth only) gives co-bps directly: fit on the 75 train trials, score the 25 eval trials. It has no
eval behavior, no eval forward spikes and no condition labels, so the rest is estimated by K-fold
cross-validation over the 75 train trials (``--fold-order every``: every K-th trial, as NLB's CV sweeps and
``nbench tune``; ``block``: contiguous blocks in file order, i.e. chronological): fit on the other folds, predict the
held-out fold from its held-in spikes only, and score it with nbench's scorer (``score_group``) against the
fold's own held-out spikes, forward spikes and (lagged) hand velocity:

- co-bps, fp-bps; vel R2 (NLB's ridge from all rates, fit on the training folds);
- models that produce latents: ``vel R2 (from latents)`` and ``reach-direction accuracy (from latents)`` (the
  8-way sector of each trial's net hand displacement, decoded from the latents of its moving bins by k-NN fit on
  the training folds' moving bins); for Swap-VAE also from its content and its style latents alone;
- for every model, the reach direction decoded the same way from its rates of all neurons (as features), and the
  chance level (every bin given the most frequent direction of the training folds' moving bins).

Fold metrics are averaged; with several seeds, the table gives mean and standard deviation over seeds. Usage
(after ``nbench data import FILE --name mc_maze_small_val --like mc_maze_small``):

    PYTHONPATH=src python benchmark/mc_maze_small_cv.py --model swap_vae --seeds 0 1 2 [--folds 3]
        [--fold-order every|block] [--set k=v ...]

Long fits (NDT: about an hour per fold at one thread) can run one fold per process, side by side, and be
combined afterwards (fold means of each seed, then mean and sd over seeds):

    python benchmark/mc_maze_small_cv.py --model ndt --seeds 0 --fold-order block --only-fold 0 > f0.jsonl
    python benchmark/mc_maze_small_cv.py --combine f0.jsonl f1.jsonl f2.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import add_overrides_option

from nbench import registry
from nbench.config import parse_set_options
from nbench.metrics import REACH_DIRECTION
from nbench.metrics.classify import moving_bins, reach_directions
from nbench.runner import make_task
from nbench.scoring import score_group
from nbench.submission import Submission
from nbench.tasks.base import BehaviorSpec, Targets, TaskInputs
from nbench.tasks.folds import cv_fold

VELOCITY = BehaviorSpec("vel", "continuous", "nlb_ridge")
FOLD_METRICS = ("co-bps", "fp-bps", "vel R2", "vel R2 (from latents)", REACH_DIRECTION)


def fold_trials(n_trials: int, folds: int, order: str) -> list[np.ndarray]:
    """Held-out trials of each fold: every ``folds``-th trial, or contiguous blocks."""
    if order == "every":
        return [np.arange(k, n_trials, folds) for k in range(folds)]
    return np.array_split(np.arange(n_trials), folds)


def fold_targets(inputs: TaskInputs, test: np.ndarray, fold: TaskInputs) -> Targets:
    """The held-out fold's truth: held-out and forward spikes, velocity; the training folds' velocity."""
    return Targets(group=inputs.group, eval_spikes_heldout=inputs.train_spikes_heldout[test],
                   train_behavior=fold.train_behavior, eval_behavior=inputs.train_behavior[test],
                   eval_spikes_heldin_forward=inputs.train_spikes_heldin_forward[test],
                   eval_spikes_heldout_forward=inputs.train_spikes_heldout_forward[test],
                   metrics=FOLD_METRICS, behavior=VELOCITY)


def reach_from(sub: Submission, targets: Targets, train: np.ndarray, evals: np.ndarray) -> float:
    """Reach-direction accuracy with ``train`` / ``evals`` (trials x bins x d) as the latents."""
    probe = dataclasses.replace(sub, train_latents=train, eval_latents=evals)
    return score_group(probe, dataclasses.replace(targets, metrics=(REACH_DIRECTION,)), bootstrap=0)[
        REACH_DIRECTION].value


def chance(targets: Targets) -> float:
    """Accuracy of giving every eval moving bin the most frequent direction of the training moving bins."""
    def labels(velocity: np.ndarray) -> np.ndarray:
        per_trial = reach_directions(velocity)
        use = moving_bins(velocity) & ~np.isnan(per_trial)[:, None]
        return np.broadcast_to(per_trial[:, None], use.shape)[use]

    train, evals = labels(targets.train_behavior), labels(targets.eval_behavior)
    return float(np.mean(evals == np.bincount(train.astype(int)).argmax()))


def fold_scores(sub: Submission, targets: Targets, content_dim: int | None) -> dict[str, float]:
    """Declared fold metrics plus reach direction from rates and (Swap-VAE) from content / style latents."""
    out = {k: v.value for k, v in score_group(sub, targets, bootstrap=0).items()}
    rates = {s: np.concatenate([getattr(sub, f"{s}_rates_heldin"), getattr(sub, f"{s}_rates_heldout")], axis=2)
             for s in ("train", "eval")}
    out["reach-direction accuracy (from rates)"] = reach_from(sub, targets, rates["train"], rates["eval"])
    out["reach-direction chance"] = chance(targets)
    if content_dim and sub.train_latents is not None:
        for name, part in (("content", slice(0, content_dim)), ("style", slice(content_dim, None))):
            train, evals = sub.train_latents[..., part], sub.eval_latents[..., part]
            out[f"reach-direction accuracy (from {name} latents)"] = reach_from(sub, targets, train, evals)
            probe = dataclasses.replace(sub, train_latents=train, eval_latents=evals)
            only = dataclasses.replace(targets, metrics=("vel R2 (from latents)",))
            out[f"vel R2 (from {name} latents)"] = score_group(probe, only, bootstrap=0)["vel R2 (from latents)"].value
    return out


def fit_predict(name: str, family: str, overrides: dict, seed: int, inputs: TaskInputs,
                workdir: Path) -> tuple[Submission, Any]:
    cls = registry.get("models", name)
    model = cls(cls.make_config(family, overrides), seed=seed, workdir=workdir, device="cpu")
    model.fit(inputs)
    return model.predict(inputs), model


def run_seed(args: argparse.Namespace, overrides: dict, seed: int, tmp: Path) -> dict[str, Any]:
    task = make_task(args.task)
    inputs, targets = task.prepare()
    family = task.info.preset_family
    out: dict[str, Any] = {"seed": seed}
    t0 = time.perf_counter()
    sub, model = fit_predict(args.model, family, overrides, seed, inputs, tmp / f"s{seed}" / "full")
    out["val co-bps"] = score_group(sub, dataclasses.replace(targets, metrics=("co-bps",)), bootstrap=0)[
        "co-bps"].value
    content_dim = getattr(model.config, "content_dim", None)
    folds = []
    for k, test in enumerate(fold_trials(inputs.n_train, args.folds, args.fold_order)):
        fin = cv_fold(inputs, test)
        s, _ = fit_predict(args.model, family, overrides, seed, fin, tmp / f"s{seed}" / f"fold{k}")
        folds.append(fold_scores(s, fold_targets(inputs, test, fin), content_dim))
    for key in folds[0]:
        out[f"cv {key}"] = float(np.mean([f[key] for f in folds]))
        out[f"cv {key} per fold"] = [round(f[key], 4) for f in folds]
    out["wall s"] = round(time.perf_counter() - t0, 1)
    return out


def run_fold(args: argparse.Namespace, overrides: dict, seed: int, tmp: Path) -> dict[str, Any]:
    """Fit and score fold ``args.only_fold`` of ``seed`` alone (no full fit): one row for ``--combine``."""
    task = make_task(args.task)
    inputs, _ = task.prepare()
    test = fold_trials(inputs.n_train, args.folds, args.fold_order)[args.only_fold]
    fin = cv_fold(inputs, test)
    t0 = time.perf_counter()
    sub, model = fit_predict(args.model, task.info.preset_family, overrides, seed, fin, tmp / f"s{seed}")
    scores = fold_scores(sub, fold_targets(inputs, test, fin), getattr(model.config, "content_dim", None))
    return {"seed": seed, "fold": args.only_fold, "folds": args.folds, "fold order": args.fold_order,
            "fit info": getattr(model, "fit_info", {}), "wall s": round(time.perf_counter() - t0, 1),
            **{f"cv {k}": v for k, v in scores.items()}}


def combine(files: list[Path]) -> None:
    """Mean of the fold rows of each seed, then mean and sd over seeds; refuses an incomplete set of folds."""
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.startswith("{")]
    by_seed: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_seed.setdefault(row["seed"], []).append(row)
    for seed, seed_rows in sorted(by_seed.items()):
        if sorted(r["fold"] for r in seed_rows) != list(range(seed_rows[0]["folds"])):
            raise SystemExit(f"seed {seed}: folds {sorted(r['fold'] for r in seed_rows)} of "
                             f"{seed_rows[0]['folds']}; expected each fold once")
    keys = [k for k in rows[0] if k.startswith("cv ")]
    for key in keys:
        means = np.array([np.mean([r[key] for r in seed_rows]) for seed_rows in by_seed.values()])
        folds = {seed: [round(r[key], 4) for r in sorted(seed_rows, key=lambda r: r["fold"])]
                 for seed, seed_rows in sorted(by_seed.items())}
        sd = means.std(ddof=1) if len(means) > 1 else 0.0
        print(f"  {key:55s} {means.mean():8.4f} +- {sd:.4f}   per seed, per fold: {folds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mc_maze_small_val")
    parser.add_argument("--model", default="swap_vae")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--fold-order", choices=("every", "block"), default="every")
    add_overrides_option(parser)
    parser.add_argument("--only-fold", type=int, default=None, help="fit and score this fold only (no full fit)")
    parser.add_argument("--combine", type=Path, nargs="+", help="combine --only-fold outputs; nothing is fitted")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine)
        return
    overrides = parse_set_options(args.sets)
    if args.only_fold is not None:
        if not 0 <= args.only_fold < args.folds:
            parser.error(f"--only-fold expects 0..{args.folds - 1}, got {args.only_fold}")
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                print(json.dumps(run_fold(args, overrides, seed, Path(tmp))), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for seed in args.seeds:
            runs.append(run_seed(args, overrides, seed, Path(tmp)))
            print(json.dumps(runs[-1]), flush=True)
    print(f"\n{args.model} {overrides or ''} on {args.task}, seeds {args.seeds}, {args.folds} folds "
          f"({args.fold_order}); load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for key in [k for k in runs[0] if not k.endswith("per fold") and k != "seed"]:
        values = np.array([r[key] for r in runs])
        print(f"  {key:55s} {values.mean():8.4f} +- {values.std(ddof=1) if len(values) > 1 else 0:.4f}")


if __name__ == "__main__":
    main()
