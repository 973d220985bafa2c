"""Random search over the NDT authors' sweep spaces with short epoch budgets, and top-N ensembles of its trials.

Spaces (``--space``):

- ``generic``: ``configs/sweep_generic.json`` of the NDT repository (dropouts U(0, 0.3); context forward /
  backward randint(4, 32); LR U(1e-5, 5e-3); mask random ratio U(0.9, 1); mask token ratio loguniform(0.5, 1);
  max span randint(1, 5)), how the synthetic presets were found;
- ``mc_maze``: ``configs/mc_maze.json``, the authors' NLB maze space (dropouts U(0.3, 0.7); context randint(10,
  100); mask random ratio U(0.8, 1); max span randint(1, 7)), with the LR drawn loguniform(5e-4, 5e-3) instead of
  U(1e-5, 5e-3) because a CPU budget of a few hundred epochs cannot use the authors' smallest rates, a warm-up of
  5 % of the budget (the authors draw randint(0, 2000) of 50,501 epochs), and the span ramp placed at 30-60 % of the
  budget (the preset's proportions) instead of the authors' epochs 5000-10000; context windows are drawn in 5 ms
  bins and divided by 4 on a 20 ms task, as the presets';

both with the weight decay loguniform(1e-8, 1e-3) and mask ratio U(0.1, 0.4) that every search of the authors
adds. Each trial fits on the task's training trials with a fixed epoch budget and is ranked by what the fit itself
can see: co-bps on the validation trials NDT holds back from training (unmasked held-in input, as at evaluation).
Every trial keeps two checkpoints, as the NLB-era searches did: the authors' lowest masked validation NLL and
the highest validation co-bps (checked at every validation epoch). Test metrics are recorded for the write-up
but never used for ranking or for choosing N.

``--ensemble N`` (with ``--save-rates``) averages the rates of the top 1..N trials by validation co-bps, as the
NLB winners did (AE Studio: top 7 of ~100 on MC_Maze_Small), and prints each ensemble's validation and test
scores. All trials of one search share the model seed, hence the same validation trials.

    PYTHONPATH=src python benchmark/ndt_search.py --task lorenz --trials 0:8 --epochs 150 --out search.jsonl
    python benchmark/ndt_search.py --task mc_maze_small_val --space mc_maze --epochs 400 --trials 0:12 \\
        --out s.jsonl --save-rates rates/
    python benchmark/ndt_search.py --task mc_maze_small_val --out s.jsonl --save-rates rates/ --ensemble 8
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import add_overrides_option

from nbench.baselines.ndt import NDTModel
from nbench.baselines.ndt.data import split_rates
from nbench.baselines.ndt.train import split_trials
from nbench.metrics.poisson import bits_per_spike
from nbench.runner import make_task
from nbench.scoring import score_group
from nbench.submission import ALL_KEYS, Submission
from nbench.tasks.base import TaskInputs


def _loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A draw whose logarithm is uniform between log(low) and log(high)."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def sample_generic(rng: np.random.Generator, epochs: int) -> dict[str, Any]:
    """One draw from the authors' generic sweep space (plus their weight decay and mask ratio draws)."""
    return {
        "dropout": float(rng.uniform(0.0, 0.3)),
        "dropout_rates": float(rng.uniform(0.0, 0.3)),
        "dropout_embedding": float(rng.uniform(0.0, 0.3)),
        "context_forward": int(rng.integers(4, 32)),
        "context_backward": int(rng.integers(4, 32)),
        "lr": float(rng.uniform(1e-5, 5e-3)),
        "mask_random_ratio": float(rng.uniform(0.9, 1.0)),
        "mask_token_ratio": _loguniform(rng, 0.5, 1.0),
        "mask_max_span": int(rng.integers(1, 5)),
        "weight_decay": _loguniform(rng, 1e-8, 1e-3),
        "mask_ratio": float(rng.uniform(0.1, 0.4)),
    }


def sample_mc_maze(rng: np.random.Generator, epochs: int) -> dict[str, Any]:
    """One draw from the authors' NLB maze space, fitted to a CPU epoch budget (module docstring)."""
    return {
        "dropout": float(rng.uniform(0.3, 0.7)),
        "dropout_rates": float(rng.uniform(0.3, 0.7)),
        "dropout_embedding": float(rng.uniform(0.3, 0.7)),
        "context_forward": int(rng.integers(10, 100)),
        "context_backward": int(rng.integers(10, 100)),
        "lr": _loguniform(rng, 5e-4, 5e-3),
        "mask_random_ratio": float(rng.uniform(0.8, 1.0)),
        "mask_token_ratio": _loguniform(rng, 0.5, 1.0),
        "mask_max_span": int(rng.integers(1, 7)),
        "weight_decay": _loguniform(rng, 1e-8, 1e-3),
        "mask_ratio": float(rng.uniform(0.1, 0.4)),
        "warmup_epochs": round(0.05 * epochs),
        "mask_span_ramp_start": round(0.3 * epochs),
        "mask_span_ramp_end": max(round(0.6 * epochs), round(0.3 * epochs) + 1),
    }


SPACES = {"generic": sample_generic, "mc_maze": sample_mc_maze}


class CobpsCheckpoint:
    """Epoch callback: co-bps of the held-back validation trials at every validation epoch; keeps the best weights."""

    def __init__(self, model: NDTModel, inputs: TaskInputs) -> None:
        self.model, self.inputs = model, inputs
        self.val = split_trials(inputs.n_train, model.config.val_fraction, model.seed)[0]
        self.best, self.best_epoch, self.state = -np.inf, -1, None
        self.curve: list[tuple[int, float]] = []

    def __call__(self, epoch: int, train_loss: float, val_loss: float | None) -> None:
        """Score the validation epochs (``val_loss`` given); other epochs are skipped."""
        if val_loss is not None:
            self.record(epoch)

    def record(self, epoch: int) -> None:
        """Score the current weights; keep them if they are the best so far."""
        score = validation_scores(self.model, self.inputs, self.val)["val co-bps"]
        self.curve.append((epoch, round(score, 4)))
        if score > self.best:
            self.best, self.best_epoch = score, epoch
            self.state = copy.deepcopy(self.model.net.state_dict())


def validation_scores(model: NDTModel, inputs: TaskInputs, val: np.ndarray) -> dict[str, float]:
    """co-bps and fp-bps on the training trials the fit held back (never trained on)."""
    rates = split_rates(model.rates(inputs.train_spikes_heldin[val]), model.layout)
    out = {"val co-bps": bits_per_spike(rates["heldout"], inputs.train_spikes_heldout[val])}
    if rates["heldin_forward"] is not None:
        pred = np.concatenate([rates["heldin_forward"], rates["heldout_forward"]], axis=2)
        true = np.concatenate([inputs.train_spikes_heldin_forward[val], inputs.train_spikes_heldout_forward[val]],
                              axis=2)
        out["val fp-bps"] = bits_per_spike(pred, true)
    return out


def run_trial(task: str, overrides: dict[str, Any], seed: int, rates_file: Path | None) -> dict[str, Any]:
    """Fit one configuration; scores at both checkpoints; the co-bps checkpoint's rates to ``rates_file``."""
    prepared = make_task(task)
    inputs, targets = prepared.prepare()
    info = prepared.info
    config = NDTModel.make_config(info.preset_family, overrides, bin_ms=info.bin_ms)
    model = NDTModel(config, seed=seed, workdir=None, device="cpu")
    tracker = model.epoch_callback = CobpsCheckpoint(model, inputs)
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(inputs)
    result: dict[str, Any] = {"fit wall s": round(time.perf_counter() - wall, 1),
                              "fit cpu s": round(time.process_time() - cpu, 1),
                              "epochs": model.summary.epochs, "best epoch": model.summary.best_epoch,
                              "masked val NLL": model.summary.best_val_nll}
    result.update(validation_scores(model, inputs, tracker.val))
    result["test"] = {name: m.value for name, m in score_group(model.predict(inputs).as_float32(), targets).items()}
    if tracker.state is None:  # the budget ended before the first validation epoch
        tracker.record(model.summary.epochs)
    model.net.load_state_dict(tracker.state)  # the co-bps checkpoint
    selected = validation_scores(model, inputs, tracker.val)
    submission = model.predict(inputs).as_float32()
    result["co-bps checkpoint"] = {"epoch": tracker.best_epoch, **selected,
                                   "test": {k: m.value for k, m in score_group(submission, targets).items()}}
    result["val co-bps curve"] = tracker.curve
    if rates_file is not None:
        val_rates = split_rates(model.rates(inputs.train_spikes_heldin[tracker.val]), model.layout)
        np.savez(rates_file, val_trials=tracker.val, val_heldout=val_rates["heldout"], **submission.arrays())
    return result


def ensemble(task: str, rows: list[dict[str, Any]], rates_dir: Path, top: int) -> None:
    """Average the co-bps checkpoints' rates of the top 1..``top`` trials by validation co-bps; print scores.

    Every averaged trial must have held back the same validation trials (same model seed and ``val_fraction``),
    else their validation rates cannot be averaged.
    """
    prepared = make_task(task)
    inputs, targets = prepared.prepare()
    ranked = sorted(rows, key=lambda r: -r["co-bps checkpoint"]["val co-bps"])[:top]
    print(f"{'N':>3s} {'trial':>6s} {'val co-bps':>11s} {'ensemble val co-bps':>20s} {'ensemble test':>40s}")
    sums: dict[str, np.ndarray] = {}
    val: np.ndarray | None = None
    for n, row in enumerate(ranked, start=1):
        with np.load(rates_dir / f"trial{row['trial']}.npz") as saved:
            arrays = {key: saved[key] for key in saved.files}
        trial_val = arrays.pop("val_trials", None)
        if trial_val is None:  # files written before the split was saved: the split of the row's seed
            fraction = row["overrides"].get("val_fraction", NDTModel.make_config(
                prepared.info.preset_family, {}, bin_ms=prepared.info.bin_ms).val_fraction)
            trial_val = split_trials(inputs.n_train, fraction, row.get("seed", 0))[0]
        if val is not None and not np.array_equal(val, trial_val):
            raise SystemExit(f"error: trial {row['trial']} held back other validation trials than trial "
                             f"{ranked[0]['trial']} (another seed or val_fraction); ensemble one seed at a time")
        val = trial_val
        for key, value in arrays.items():
            sums[key] = sums.get(key, 0) + value.astype(np.float64)
        mean = {key: value / n for key, value in sums.items()}
        val_bps = bits_per_spike(mean["val_heldout"], inputs.train_spikes_heldout[val])
        submission = Submission(group=inputs.group, **{k: v for k, v in mean.items() if k in ALL_KEYS})
        test = {k: round(m.value, 4) for k, m in score_group(submission.as_float32(), targets).items()}
        print(f"{n:3d} {row['trial']:6d} {row['co-bps checkpoint']['val co-bps']:11.4f} {val_bps:20.4f}  {test}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--space", choices=sorted(SPACES), default="generic")
    parser.add_argument("--trials", default="0:8", help="range of trial indices, start:stop")
    parser.add_argument("--epochs", type=int, help="epoch budget of every trial")
    parser.add_argument("--search-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="model seed of every trial")
    add_overrides_option(parser, "--fixed", "fixed", "key=value settings applied to every trial")
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file; finished trials are skipped")
    parser.add_argument("--save-rates", type=Path, help="folder for each trial's rates (trial<N>.npz)")
    parser.add_argument("--ensemble", type=int, help="only ensemble the top N trials of --out (needs --save-rates)")
    args = parser.parse_args()
    from nbench.config import parse_set_options

    rows = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()] if args.out.exists() else []
    if args.ensemble is not None:
        if args.save_rates is None or args.ensemble < 1:
            parser.error("--ensemble N needs N >= 1 and the --save-rates folder of the search")
        ensemble(args.task, rows, args.save_rates, args.ensemble)
        return
    if args.epochs is None:
        parser.error("--epochs is required for a search")
    if args.save_rates is not None:
        args.save_rates.mkdir(parents=True, exist_ok=True)
    fixed = parse_set_options(args.fixed)
    bin_ms = make_task(args.task).info.bin_ms
    done = {row["trial"] for row in rows}
    start, stop = (int(x) for x in args.trials.split(":"))
    for trial in range(start, stop):
        rng = np.random.default_rng([args.search_seed, trial])
        overrides = {**SPACES[args.space](rng, args.epochs), "max_epochs": args.epochs,
                     "patience": 10 * args.epochs}
        if args.space == "mc_maze":  # the space's context windows are in 5 ms bins, as the presets'
            for key in ("context_forward", "context_backward"):
                overrides[key] = max(1, round(overrides[key] * 5.0 / bin_ms))
        overrides.update(fixed)
        if trial in done:
            continue
        rates_file = None if args.save_rates is None else args.save_rates / f"trial{trial}.npz"
        result = {"trial": trial, "task": args.task, "seed": args.seed, "overrides": overrides,
                  **run_trial(args.task, overrides, args.seed, rates_file)}
        with args.out.open("a") as fh:
            fh.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
