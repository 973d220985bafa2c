"""Random search over the NDT authors' sweep space with short epoch budgets (how the shipped defaults were found).

Space: ``configs/sweep_generic.json`` of the NDT repository (dropouts U(0, 0.3); context forward / backward
randint(4, 32); LR U(1e-5, 5e-3); mask random ratio U(0.9, 1); mask token ratio loguniform(0.5, 1); max span
randint(1, 5)) plus the weight decay loguniform(1e-8, 1e-3) and mask ratio U(0.1, 0.4) that every search of the
authors adds. Each trial fits on the task's training trials with a fixed epoch budget and is ranked by what the
fit itself can see: co-bps and fp-bps on the validation trials NDT holds back from training (unmasked held-in
input, as at evaluation), with the authors' masked validation NLL reported beside them. Test metrics (rate R2,
co-bps) are recorded for the write-up but never used for ranking.

    PYTHONPATH=src python benchmark/ndt_search.py --task lorenz --trials 0:8 --epochs 150 --out search.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nbench.baselines.ndt import NDTModel
from nbench.baselines.ndt.data import split_rates
from nbench.metrics.poisson import bits_per_spike
from nbench.runner import make_task
from nbench.scoring import score_group


def sample_generic(rng: np.random.Generator) -> dict[str, Any]:
    """One draw from the authors' generic sweep space (plus their weight decay and mask ratio draws)."""
    return {
        "dropout": float(rng.uniform(0.0, 0.3)),
        "dropout_rates": float(rng.uniform(0.0, 0.3)),
        "dropout_embedding": float(rng.uniform(0.0, 0.3)),
        "context_forward": int(rng.integers(4, 32)),
        "context_backward": int(rng.integers(4, 32)),
        "lr": float(rng.uniform(1e-5, 5e-3)),
        "mask_random_ratio": float(rng.uniform(0.9, 1.0)),
        "mask_token_ratio": float(np.exp(rng.uniform(np.log(0.5), np.log(1.0)))),
        "mask_max_span": int(rng.integers(1, 5)),
        "weight_decay": float(np.exp(rng.uniform(np.log(1e-8), np.log(1e-3)))),
        "mask_ratio": float(rng.uniform(0.1, 0.4)),
    }


def validation_scores(model: NDTModel, inputs: Any) -> dict[str, float]:
    """co-bps and fp-bps on the training trials the fit held back (never trained on)."""
    val = np.asarray(model.summary.val_trials)
    rates = split_rates(model.rates(inputs.train_spikes_heldin[val]), model.layout)
    out = {"val co-bps": bits_per_spike(rates["heldout"], inputs.train_spikes_heldout[val])}
    if rates["heldin_forward"] is not None:
        pred = np.concatenate([rates["heldin_forward"], rates["heldout_forward"]], axis=2)
        true = np.concatenate([inputs.train_spikes_heldin_forward[val], inputs.train_spikes_heldout_forward[val]],
                              axis=2)
        out["val fp-bps"] = bits_per_spike(pred, true)
    return out


def run_trial(task: str, overrides: dict[str, Any], seed: int) -> dict[str, Any]:
    inputs, targets = make_task(task).prepare()
    model = NDTModel(NDTModel.make_config(task, overrides), seed=seed, workdir=None, device="cpu")
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(inputs)
    result: dict[str, Any] = {"fit wall s": round(time.perf_counter() - wall, 1),
                              "fit cpu s": round(time.process_time() - cpu, 1),
                              "epochs": model.summary.epochs, "best epoch": model.summary.best_epoch,
                              "masked val NLL": model.summary.best_val_nll}
    result.update(validation_scores(model, inputs))
    metrics = score_group(model.predict(inputs).as_float32(), targets)
    result["test"] = {name: m.value for name, m in metrics.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--trials", default="0:8", help="range of trial indices, start:stop")
    parser.add_argument("--epochs", type=int, required=True, help="epoch budget of every trial")
    parser.add_argument("--search-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="model seed of every trial")
    parser.add_argument("--fixed", nargs="*", default=[], help="key=value settings applied to every trial")
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file; finished trials are skipped")
    args = parser.parse_args()
    from nbench.config import parse_set_options

    fixed = parse_set_options(args.fixed)
    done = set()
    if args.out.exists():
        done = {json.loads(line)["trial"] for line in args.out.read_text().splitlines() if line.strip()}
    start, stop = (int(x) for x in args.trials.split(":"))
    for trial in range(start, stop):
        rng = np.random.default_rng([args.search_seed, trial])
        overrides = {**sample_generic(rng), **fixed, "max_epochs": args.epochs, "patience": 10 * args.epochs}
        if trial in done:
            continue
        result = {"trial": trial, "task": args.task, "overrides": overrides, **run_trial(args.task, overrides,
                                                                                          args.seed)}
        with args.out.open("a") as fh:
            fh.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
