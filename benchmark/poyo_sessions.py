"""POYO's central claim on generated data: one model trained on all sessions beats the same model trained on
one session, on that session's eval trials.

Data (``--task``): ``multi_region_whisker`` (default; the embedded synthetic multi-region set, three sessions of
213-314 different neurons, 120 training and 30 eval trials each in the test phase, 2 s trials, the continuous
whisker trace driven by region PO, which every session records) or ``reach`` (``nbench.testing.reaches
.ReachSessionsTask``: four sessions of 32-48 different neurons, 48 training and 12 eval trials each, a shared
2-D hand velocity). Spike times are recorded in both. The target session keeps only its first ``--target-train``
training trials (default 16: the case POYO is for, a session with little data); the other sessions keep all of
theirs. For each seed:

- *all sessions*: ``fit_sessions`` on every session's training trials (unit and session embeddings tell the
  sessions apart), then predict the target session's eval trials;
- *one session*: ``fit`` on the target session's training trials only, with the epoch count scaled so that both
  fits take the same number of optimizer steps (the difference is the data, not the training length).

Both are scored by nbench's scorer (the task's predicted metric, ``whisker R2 (predicted)`` or ``vel R2
(predicted)``) on the target session's view. Usage:

    NBENCH_NUM_THREADS=1 PYTHONPATH=src python benchmark/poyo_sessions.py --seeds 0 1 2 [--task reach] \
        [--target mr1] [--set epochs=15 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import time

import numpy as np
from bench_common import add_overrides_option

from nbench.baselines.poyo import POYOModel
from nbench.config import parse_set_options
from nbench.scoring.view import score_view
from nbench.tasks import make_task
from nbench.tasks.base import PreparedTask, View
from nbench.tasks.folds import train_subset
from nbench.testing.reaches import ReachSessionsTask

ARMS = ("all sessions", "one session")
#: A CPU-sized shape for this comparison (both arms use it): torch_brain's 1.3M layout at depth 2, width 32, and a
#: peak learning rate of 1e-3 (the all-sessions fit of seed 1 never left the initial plateau in 1,920 steps at
#: 5e-4 or at 2e-3; docs/poyo.md).
DEFAULTS = {"dim": 32, "depth": 2, "num_latents_per_step": 8, "epochs": 15, "lr": 1e-3}


def build(task: str, data_seed: int) -> tuple[PreparedTask, str]:
    """The test-phase task with spike times, and its family (for the POYO preset)."""
    if task == "reach":
        return ReachSessionsTask(seed=data_seed).build("test", spike_times=True), "reach_sessions"
    built = make_task(task)
    return built.build("test", spike_times=True), built.info.preset_family


def fit_and_score(config: object, seed: int, views: list, target: View, metric: str) -> tuple[float, float, dict]:
    """``metric`` on ``target``'s eval trials of a model fit on ``views``; fit seconds; fit_info."""
    model = POYOModel(config, seed=seed, device="cpu")
    started = time.perf_counter()
    model.epoch_callback = lambda epoch, loss: epoch % 20 or print(
        f"    epoch {epoch} loss {loss:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    model.fit_sessions([v.inputs for v in views])
    seconds = time.perf_counter() - started
    value = score_view(model.predict(target.inputs), target.targets)[metric].value
    return value, seconds, model.fit_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--task", default="multi_region_whisker", help="a multi-session task with behaviour, or "
                        "'reach' (the generated reaching sessions)")
    parser.add_argument("--target", default=None, help="session scored (default: the task's first)")
    parser.add_argument("--target-train", type=int, default=16, help="training trials kept in the target session")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the generated reaching sessions")
    add_overrides_option(parser, help="POYO config overrides key=value")
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS), help="which fits to run")
    args = parser.parse_args()
    values = {**DEFAULTS, **parse_set_options(args.sets)}
    prepared, family = build(args.task, args.data_seed)
    config = POYOModel.make_config(family, values)
    name = args.target or prepared.views[0].query.session
    # Views build their arrays on each access: build each once, the target session's with fewer training trials.
    views = [View.of(v.query, train_subset(v.inputs, np.arange(args.target_train)) if v.query.session == name
                     else v.inputs, v.targets) for v in prepared.views]
    target = next(v for v in views if v.query.session == name)
    metric = target.inputs.behavior[0].predicted_metric
    steps = math.ceil(sum(v.inputs.n_train for v in views) / config.batch_size) * config.epochs
    single_config = dataclasses.replace(
        config, epochs=round(steps / math.ceil(target.inputs.n_train / config.batch_size)))
    print(f"{len(views)} sessions ({', '.join(f'{v.query.session}: {v.inputs.n_heldin} units' for v in views)}), "
          f"{max(v.inputs.n_train for v in views)} train / {target.inputs.n_eval} eval trials each; target "
          f"{name} keeps {target.inputs.n_train} train trials; "
          f"config {values}; load average {os.getloadavg()}", flush=True)
    rows: dict[str, list[float]] = {arm: [] for arm in args.arms}
    for seed in args.seeds:
        for arm, cfg, fit_views in (("all sessions", config, views), ("one session", single_config, [target])):
            if arm not in rows:
                continue
            value, seconds, info = fit_and_score(cfg, seed, fit_views, target, metric)
            rows[arm].append(value)
            print(f"seed {seed} {arm:<12} {metric} {value:.4f}  ({info['steps']} steps, {info['epochs']} epochs, "
                  f"final loss {info['train_loss'][-1]:.4f}, {seconds:.0f} s, load {os.getloadavg()[0]:.2f})",
                  flush=True)
    print(f"\nload average at end {os.getloadavg()}")
    print(f"{'trained on':<14} {'mean ' + metric:>30} {'sd':>7}  per seed")
    for arm, per_seed in rows.items():
        sd = statistics.stdev(per_seed) if len(per_seed) > 1 else float("nan")
        print(f"{arm:<14} {np.mean(per_seed):>30.4f} {sd:>7.4f}  {', '.join(f'{v:.4f}' for v in per_seed)}")
    if len(rows) == len(ARMS):
        wins = sum(a > b for a, b in zip(rows["all sessions"], rows["one session"], strict=True))
        print(f"all sessions beats one session in {wins} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
