"""NDT and smoothing on the real MC_Maze_Small 'val' tensors: co-bps on val, vel R2 and fp-bps by cross-validation.

The nlb_tools 'val' file (75 train trials with held-out neurons, forward window and behavior; 25 eval trials
with held-out truth only) gives co-bps directly: fit on the 75 train trials, score the 25 eval trials. It has no
eval behavior and no eval forward spikes, so vel R2 and fp-bps are estimated by K-fold cross-validation over the
75 train trials (contiguous folds in file order): fit on the other folds, predict the held-out fold from its
held-in spikes only, then
- fp-bps: NLB bits/spike of the fold's predicted forward rates (held-in + held-out neurons) against its forward
  spikes;
- vel R2: NLB's decoder (GridSearchCV(Ridge(), alpha in logspace(-4, 0, 9)), 5-fold unshuffled, on all neurons'
  rates) fit on the training folds' train rates and behavior, scored on the fold's predicted rates;
- co-bps of the fold's held-out neurons as a cross-check of the val number.
Fold metrics are averaged. Usage (after ``nbench data import FILE --name mc_maze_small_val``):

    PYTHONPATH=src python benchmark/ndt_mc_maze_small_cv.py --model ndt --folds 3 [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from nbench import registry
from nbench.config import parse_set_options
from nbench.metrics.decoding import velocity_decoding
from nbench.metrics.poisson import bits_per_spike
from nbench.runner import make_task
from nbench.tasks.base import TaskInputs
from nbench.tasks.folds import contiguous_folds, cv_fold


def vel_r2(train_rates: np.ndarray, train_vel: np.ndarray, eval_rates: np.ndarray, eval_vel: np.ndarray) -> float:
    """NLB's ridge decoding of velocity from rates (trials x bins x neurons), the scorer's own implementation."""
    return velocity_decoding(train_rates, train_vel, None, eval_rates, eval_vel, None)[0]


def fit_predict(name: str, task: str, overrides: dict, seed: int, inputs: TaskInputs, workdir: Path):
    cls = registry.get("models", name)
    model = cls(cls.make_config(task, overrides), seed=seed, workdir=workdir, device="cpu")
    model.fit(inputs)
    return model.predict(inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mc_maze_small_val")
    parser.add_argument("--model", default="ndt")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", nargs="*", default=[])
    args = parser.parse_args()
    overrides = parse_set_options(args.sets)
    inputs, targets = make_task(args.task).prepare()
    out: dict = {"model": args.model, "overrides": overrides, "seed": args.seed, "folds": args.folds}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.process_time()
        sub = fit_predict(args.model, args.task, overrides, args.seed, inputs, Path(tmp) / "full")
        out["val co-bps"] = bits_per_spike(sub.eval_rates_heldout, targets.eval_spikes_heldout)
        out["fit cpu s (full)"] = round(time.process_time() - t0, 1)
        folds = []
        for k, test in enumerate(contiguous_folds(inputs.n_train, args.folds)):
            fin = cv_fold(inputs, test)
            s = fit_predict(args.model, args.task, overrides, args.seed, fin, Path(tmp) / f"fold{k}")
            rates_tr = np.concatenate([s.train_rates_heldin, s.train_rates_heldout], axis=2)
            rates_ev = np.concatenate([s.eval_rates_heldin, s.eval_rates_heldout], axis=2)
            fwd_true = np.concatenate([inputs.train_spikes_heldin_forward[test],
                                       inputs.train_spikes_heldout_forward[test]], axis=2)
            fp_bps = float("nan")  # models without forward predictions (smoothing) have no fp-bps
            if s.eval_rates_heldin_forward is not None:
                fwd_pred = np.concatenate([s.eval_rates_heldin_forward, s.eval_rates_heldout_forward], axis=2)
                fp_bps = bits_per_spike(fwd_pred, fwd_true)
            folds.append({
                "co-bps": bits_per_spike(s.eval_rates_heldout, inputs.train_spikes_heldout[test]),
                "fp-bps": fp_bps,
                "vel R2": vel_r2(rates_tr, fin.train_behavior, rates_ev, inputs.train_behavior[test]),
            })
        for key in folds[0]:
            out[f"cv {key}"] = float(np.mean([f[key] for f in folds]))
            out[f"cv {key} per fold"] = [round(f[key], 4) for f in folds]
        out["total cpu s"] = round(time.process_time() - t0, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
