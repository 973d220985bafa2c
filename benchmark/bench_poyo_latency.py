"""Inference latency of POYO against NDT per trial at batch 1: a 1 s window of ~100 units, on CPU.

POYO (torch_brain's 1.3M shape, as nbench trains it) reads one trial as ~2,200 spike tokens (100 units at
20 Hz plus a start and an end token per unit) and answers 50 readout times (20 ms bin centres). NDT (nbench's
MC_Maze preset: identity embedding, 100 neurons wide) reads the same second as binned counts, at 5 ms (200
bins, NLB's native width) and at 20 ms (50 bins). POYO is timed twice: the network alone on a tokenised batch,
and end to end from spike times (tokenise + collate + network), which is what a model serving raw spikes pays.

Every call runs at one torch thread and at torch's default thread count; models and thread counts are
interleaved round-robin so that background load hits all rows alike; medians of ``--calls`` calls after
warm-up, with the load average before and after. Needs ``pip install 'nbench[poyo]'``.

Run:  PYTHONPATH=src python benchmark/bench_poyo_latency.py [--calls 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from nbench.baselines.ndt.config import default_config
from nbench.baselines.ndt.model import NDTNet
from nbench.baselines.poyo.backend import batching
from nbench.baselines.poyo.config import POYOConfig
from nbench.baselines.poyo.tokens import SessionTrials, sample
from nbench.baselines.poyo.train import build_model, forward

N_UNITS, RATE_HZ, WINDOW_S, READOUT_BIN_S = 100, 20.0, 1.0, 0.02


def poyo_rows() -> dict[str, tuple[torch.nn.Module, Callable[[], object]]]:
    rng = np.random.default_rng(0)
    n = rng.poisson(N_UNITS * RATE_HZ * WINDOW_S)
    times = np.sort(rng.uniform(0, WINDOW_S, n))
    trials = SessionTrials("s0", np.array([f"s0/{i}" for i in range(N_UNITS)]), [times],
                           [rng.integers(0, N_UNITS, n)], WINDOW_S,
                           ((np.arange(int(WINDOW_S / READOUT_BIN_S)) + 0.5) * READOUT_BIN_S).astype(np.float32))
    config = POYOConfig()
    model = build_model(config, WINDOW_S, 2, list(trials.unit_ids), ["s0"]).eval()
    collate = batching()[0]
    batch = collate([sample(model, trials, 0)])
    print(f"POYO input: {n} spikes + {2 * N_UNITS} start/end tokens, {len(trials.output_times)} readout times")
    return {"POYO network (tokenised batch)": (model, lambda: forward(model, batch)),
            "POYO end to end (spike times in)": (model, lambda: forward(model, collate([sample(model, trials, 0)])))}


def ndt_rows() -> dict[str, tuple[torch.nn.Module, Callable[[], object]]]:
    rows = {}
    for bin_ms in (5, 20):
        cfg = default_config("mc_maze", bin_ms)
        cfg = type(cfg)(**{**cfg.__dict__, "dropout": 0.0, "dropout_rates": 0.0, "dropout_embedding": 0.0})
        n_bins = int(WINDOW_S * 1000 / bin_ms)
        net = NDTNet(cfg, n_bins, N_UNITS, max_spikes=10).eval()
        counts = torch.poisson(torch.full((1, n_bins, N_UNITS), RATE_HZ * bin_ms / 1000)).long()
        rows[f"NDT, {bin_ms} ms bins ({n_bins} x {N_UNITS})"] = (net, lambda net=net, counts=counts: net(counts))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    torch.manual_seed(0)
    rows = {**poyo_rows(), **ndt_rows()}
    settings = sorted({1, default_threads})
    times: dict[tuple[str, int], list[float]] = {(name, t): [] for name in rows for t in settings}
    load_before = os.getloadavg()
    with torch.inference_mode():
        for i in range(args.warmup + args.calls):
            for threads in settings:
                torch.set_num_threads(threads)
                for name, (_, fn) in rows.items():
                    start = time.perf_counter()
                    fn()
                    if i >= args.warmup:
                        times[(name, threads)].append(time.perf_counter() - start)
    print(f"torch {torch.__version__}; {args.calls} calls after {args.warmup} warm-up rounds, interleaved; "
          f"load average before {tuple(round(x, 2) for x in load_before)}, after "
          f"{tuple(round(x, 2) for x in os.getloadavg())}")
    print(f"{'model (batch 1)':<38} {'params':>10} " + " ".join(f"{f'median ms @{t}t':>15}" for t in settings)
          + " " + " ".join(f"{f'p10-p90 @{t}t':>15}" for t in settings))
    medians = {}
    for name, (model, _) in rows.items():
        cells, spreads = [], []
        for t in settings:
            values = sorted(times[(name, t)])
            medians[(name, t)] = statistics.median(values) * 1e3
            cells.append(f"{medians[(name, t)]:>15.2f}")
            spreads.append(f"{values[len(values) // 10] * 1e3:>7.1f}-{values[(9 * len(values)) // 10] * 1e3:<7.1f}")
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:<38} {params:>10,} {' '.join(cells)} {' '.join(spreads)}")
    best = {name: min(medians[(name, t)] for t in settings) for name in rows}
    poyo = best["POYO network (tokenised batch)"]
    for name in rows:
        if name.startswith("NDT"):
            print(f"POYO network / {name} (each at its faster thread count): {poyo / best[name]:.1f}x")


if __name__ == "__main__":
    main()
