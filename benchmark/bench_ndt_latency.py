"""Inference latency of NDT against an LFADS-style GRU at MC_Maze size, on CPU.

The NDT paper's claim: 3.9 ms per trial, more than 6x faster than recurrent baselines. Here both models run at
batch size 1 on one MC_Maze trial (140 bins x 182 neurons, the NLB MC_Maze config's input size) with torch
limited to 2 threads; calls of the two models are interleaved so that background load hits both alike, and the
medians of >= 100 calls after warm-up are compared. The GRU runs once with the fused ``nn.GRU`` generator (the
fastest a controller-free LFADS can be) and once stepped bin by bin with ``GRUCell`` (as LFADS with a controller
must run). Extra rows show NDT variants (explicit attention instead of the fused kernel, bfloat16 autocast,
torch.compile when available) and per-trial cost when the 100 eval trials go as one batch.

Run:  PYTHONPATH=src python benchmark/bench_ndt_latency.py [--calls 200] [--threads 2] [--compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfads_gru import LFADSLikeGRU  # noqa: E402

from nbench.baselines.ndt.config import default_config  # noqa: E402
from nbench.baselines.ndt.model import NDTNet  # noqa: E402

N_BINS, N_NEURONS, EVAL_TRIALS = 140, 182, 100


def n_params(model: torch.nn.Module) -> int:
    if isinstance(model, LFADSLikeGRU):
        return model.parameter_count()
    return sum(p.numel() for p in model.parameters())


def timed_calls(fns: dict[str, Callable[[], object]], calls: int, warmup: int) -> dict[str, list[float]]:
    """Per-call seconds of each function, calls interleaved round-robin after ``warmup`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    with torch.inference_mode():
        for i in range(warmup + calls):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                if i >= warmup:
                    times[name].append(time.perf_counter() - start)
    return times


def explicit_attention(net: NDTNet) -> NDTNet:
    """Force the non-fused attention path at inference (for comparison with the fused kernel)."""
    for layer in net.layers:
        layer.attn_dropout = 1e-12  # takes the explicit branch; dropout of 1e-12 is a no-op in effect
    return net.train()  # dropout layers are p=0 in this config, so train mode changes nothing else


def build(args: argparse.Namespace) -> tuple[dict[str, tuple[torch.nn.Module, Callable[[], object], int]], str]:
    torch.manual_seed(0)
    cfg = default_config("mc_maze")
    cfg = type(cfg)(**{**cfg.__dict__, "dropout": 0.0, "dropout_rates": 0.0, "dropout_embedding": 0.0})
    ndt = NDTNet(cfg, N_BINS, N_NEURONS, max_spikes=10).eval()
    gru = LFADSLikeGRU(N_NEURONS, args.encoder, args.generator, args.factors).eval()
    gru_steps = LFADSLikeGRU(N_NEURONS, args.encoder, args.generator, args.factors, step_by_step=True).eval()
    one = torch.poisson(torch.full((1, N_BINS, N_NEURONS), 0.05))
    batch = torch.poisson(torch.full((EVAL_TRIALS, N_BINS, N_NEURONS), 0.05))
    rows: dict[str, tuple[torch.nn.Module, Callable[[], object], int]] = {
        "NDT (fused SDPA attention)": (ndt, lambda: ndt(one), 1),
        "LFADS-style GRU": (gru, lambda: gru(one), 1),
        "LFADS-style GRU, cell loop": (gru_steps, lambda: gru_steps(one), 1),
    }

    def ndt_bf16() -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return ndt(one)

    rows["NDT (bfloat16 autocast)"] = (ndt, ndt_bf16, 1)
    slow = NDTNet(cfg, N_BINS, N_NEURONS, max_spikes=10)
    slow.load_state_dict(ndt.state_dict())
    slow = explicit_attention(slow)
    rows["NDT (explicit attention)"] = (slow, lambda: slow(one), 1)
    note = ""
    if args.compile:
        try:
            compiled = torch.compile(ndt)
            with torch.inference_mode():
                compiled(one)
            rows["NDT (torch.compile)"] = (ndt, lambda: compiled(one), 1)
        except Exception as exc:  # noqa: BLE001 - report why compile is unavailable, keep benchmarking
            note = f"torch.compile unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
    rows[f"NDT, batch of {EVAL_TRIALS} (per trial)"] = (ndt, lambda: ndt(batch), EVAL_TRIALS)
    rows[f"GRU, batch of {EVAL_TRIALS} (per trial)"] = (gru, lambda: gru(batch), EVAL_TRIALS)
    return rows, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(NDT)")
    parser.add_argument("--encoder", type=int, default=200, help="GRU encoder size per direction")
    parser.add_argument("--generator", type=int, default=256, help="GRU generator size")
    parser.add_argument("--factors", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows, note = build(args)
    times = timed_calls({name: fn for name, (_, fn, _) in rows.items()}, args.calls, args.warmup)
    medians = {name: statistics.median(t) * 1e3 / rows[name][2] for name, t in times.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, input {N_BINS} bins x {N_NEURONS} "
          f"neurons, {args.calls} calls after {args.warmup} warm-up rounds (interleaved)")
    print(f"{'model':<34} {'params':>9} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8}")
    for name, (model, _, per) in rows.items():
        t = sorted(times[name])
        p10, p90 = t[len(t) // 10] * 1e3 / per, t[(9 * len(t)) // 10] * 1e3 / per
        print(f"{name:<34} {n_params(model):>9,} {medians[name]:>10.3f} {p10:>8.3f} {p90:>8.3f}")
    ndt_ms, gru_ms = medians["NDT (fused SDPA attention)"], medians["LFADS-style GRU"]
    loop_ms = medians["LFADS-style GRU, cell loop"]
    print(f"\nbatch 1: fused GRU / NDT = {gru_ms / ndt_ms:.1f}x, cell-loop GRU / NDT = {loop_ms / ndt_ms:.1f}x "
          f"(goal >= 6x); NDT {ndt_ms:.2f} ms per trial (goal <= 3.9 ms)")
    if note:
        print(note)


if __name__ == "__main__":
    main()
