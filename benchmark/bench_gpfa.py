"""GPFA cost: where elephant's EM spends its time, what nbench changes, and how many EM iterations are needed.

Three parts, each printed as a table:

A. The anchor problem (100 trials x 140 bins of 5 ms, 150 neurons, 20 latents; elephant's default 500 EM
   iterations took 279 s on this machine). ITERS EM iterations per route, taking turns, medians of REPEATS:
   NLB's route (neo SpikeTrains, default BLAS threads), elephant on binned counts with 2 and 1 BLAS threads,
   and nbench (counts, 1 thread, vectorised ``make_precomp``). Log-likelihoods must agree.
B. MC_Maze's size (1,721 training trials x 140 bins, 137 held-in neurons, 52 latents): seconds per EM iteration
   with elephant's own ``make_precomp`` and with nbench's, both on one thread, and the 500-iteration projection.
C. Convergence on the real MC_Maze_Small val tensors (skipped without ../shared/data): the log-likelihood along
   500 EM iterations (NLB's 18 latents) and the co-bps after 25 ... 500 iterations, with alpha2 fixed so that
   only the EM iterations change.

Usage: ``python benchmark/bench_gpfa.py [--repeats 3] [--iters 20] [--quick] [--skip A,B,C]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.ndimage import gaussian_filter1d
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from bench_common import load_average  # noqa: E402

from nbench.baselines.gpfa import ElephantGPFA, GPFAConfig, GPFAModel, counts_to_seqs  # noqa: E402
from nbench.metrics.poisson import bits_per_spike  # noqa: E402

console = Console(width=130)


def latent_spikes(n_trials: int, n_bins: int, n_neurons: int, seed: int = 0) -> np.ndarray:
    """Poisson counts (5 ms bins, ~10 Hz) driven by 8 smooth latents."""
    rng = np.random.default_rng(seed)
    latents = gaussian_filter1d(rng.standard_normal((n_trials, n_bins, 8)), sigma=8, axis=1) * 4.0
    rates = np.exp(latents @ (rng.standard_normal((8, n_neurons)) * 0.2) + np.log(0.05))
    return rng.poisson(rates).astype(float)


def elephant_route(spikes: np.ndarray, x_dim: int, iters: int, threads: int | None) -> dict[str, float]:
    """NLB's route: counts -> neo SpikeTrains (spikes repeated by count) -> elephant.gpfa.GPFA.fit."""
    import neo
    import quantities as pq
    from elephant.gpfa import GPFA

    start = time.perf_counter()
    trains = [[neo.SpikeTrain(np.repeat(np.nonzero(ch)[0], ch[np.nonzero(ch)[0]].astype(int)) * 5.0 * pq.ms,
                              t_stop=spikes.shape[1] * 5.0 * pq.ms) for ch in trial.T] for trial in spikes]
    convert = time.perf_counter() - start
    np.random.seed(0)
    gpfa = GPFA(bin_size=5 * pq.ms, x_dim=x_dim, em_max_iters=iters)
    with threadpool_limits(threads), contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        gpfa.fit(trains)
    return summary(gpfa.fit_info["log_likelihoods"], gpfa.fit_info["iteration_time"],
                   time.perf_counter() - start, convert)


def counts_route(spikes: np.ndarray, x_dim: int, iters: int, threads: int | None, fast: bool) -> dict[str, float]:
    """elephant's gpfa_core.fit on binned counts; ``fast`` swaps in nbench's vectorised make_precomp."""
    from elephant.gpfa import gpfa_core

    from nbench.baselines.gpfa import _elephant_precomp

    seqs = counts_to_seqs(spikes)
    np.random.seed(0)
    with threadpool_limits(threads), contextlib.redirect_stdout(io.StringIO()), _elephant_precomp(fast):
        start = time.perf_counter()
        _, info = gpfa_core.fit(seqs, x_dim=x_dim, bin_width=5.0, em_max_iters=iters)
    return summary(info["log_likelihoods"], info["iteration_time"], time.perf_counter() - start, 0.0)


def summary(lls: list[float], iter_times: list[float], fit_s: float, convert_s: float) -> dict[str, float]:
    finite = [v for v in lls if np.isfinite(v)]
    return {"fit_s": fit_s, "s_per_iter": float(np.median(iter_times)), "ll": finite[-1], "iters": len(lls),
            "convert_s": convert_s}


def take_turns(runs: dict[str, Callable[[], dict[str, float]]], repeats: int) -> dict[str, dict[str, float]]:
    """Each configuration once per round, REPEATS rounds; medians of time fields."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            results[name].append(fn())
            console.print(f"  {name}: {results[name][-1]['s_per_iter']:.3f} s/iter", highlight=False)
    return {name: {key: statistics.median(r[key] for r in res) for key in res[0]} for name, res in results.items()}


def part_a(repeats: int, iters: int, quick: bool) -> None:
    trials = 30 if quick else 100
    spikes = latent_spikes(trials, 140, 150)
    console.print(f"[bold]A.[/bold] {trials} trials x 140 bins x 150 neurons, 20 latents, {iters} EM iterations")
    res = take_turns({
        "elephant, neo SpikeTrains (NLB route), BLAS default": lambda: elephant_route(spikes, 20, iters, None),
        "elephant, counts, 2 BLAS threads": lambda: counts_route(spikes, 20, iters, 2, False),
        "elephant, counts, 1 BLAS thread": lambda: counts_route(spikes, 20, iters, 1, False),
        "nbench: counts, 1 thread, vectorised make_precomp": lambda: counts_route(spikes, 20, iters, 1, True),
    }, repeats)
    base = res["elephant, neo SpikeTrains (NLB route), BLAS default"]["s_per_iter"]
    table = Table(title=f"A. EM cost, {trials} x 140 x 150, 20 latents (medians of {repeats}); {load_average()}",
                  title_justify="left")
    for col in ("route", "neo conversion s", "fit s", "s / EM iter", "x faster / iter", "500-iter projection s",
                f"log-lik after {iters}"):
        table.add_column(col, justify="left" if col == "route" else "right")
    for name, r in res.items():
        table.add_row(name, f"{r['convert_s']:.1f}", f"{r['fit_s']:.1f}", f"{r['s_per_iter']:.3f}",
                      f"{base / r['s_per_iter']:.1f}", f"{r['fit_s'] + (500 - iters) * r['s_per_iter']:.0f}",
                      f"{r['ll']:.4f}")
    console.print(table)
    ours = "nbench: counts, 1 thread, vectorised make_precomp"
    anchors = [name for name in res if name != ours]
    fastest = min(anchors, key=lambda a: res[a]["s_per_iter"])
    speedup = res[fastest]["s_per_iter"] / res[ours]["s_per_iter"]
    console.print(f"headline: nbench {speedup:.1f}x faster per EM iteration than the fastest elephant setting "
                  f"({fastest}); goal 5x: {'met' if speedup >= 5 else 'NOT met'}; {load_average()}", highlight=False)


def part_b(quick: bool) -> None:
    trials, iters = (200, 2) if quick else (1721, 3)
    spikes = latent_spikes(trials, 140, 137, seed=1)
    console.print(f"[bold]B.[/bold] {trials} trials x 140 bins x 137 neurons, 52 latents, {iters} EM iterations")
    table = Table(title="B. EM cost at MC_Maze's size (1 BLAS thread)", title_justify="left")
    for col in ("make_precomp", "fit s (incl. FA start)", "s / EM iter", "500-iter projection", "log-lik"):
        table.add_column(col, justify="left" if col == "make_precomp" else "right")
    for label, fast in (("elephant's (Python loop)", False), ("nbench's (vectorised)", True)):
        r = counts_route(spikes, 52, iters, 1, fast)
        table.add_row(label, f"{r['fit_s']:.1f}", f"{r['s_per_iter']:.2f}",
                      f"{(r['fit_s'] + (500 - iters) * r['s_per_iter']) / 60:.0f} min", f"{r['ll']:.2f}")
        console.print(f"  {label}: {r['s_per_iter']:.2f} s/iter", highlight=False)
    console.print(table)


def part_c(quick: bool) -> None:
    from baseline_data import mc_maze_small_val

    shared = ROOT.parent / "shared" / "data"
    if not (shared / "nlb_mc_maze_small").is_dir():
        console.print("C. skipped: ../shared/data/nlb_mc_maze_small is absent")
        return
    inputs, truth = mc_maze_small_val(shared)
    full = 100 if quick else 500
    gpfa = ElephantGPFA(18, 5.0, em_max_iters=full, em_tol=0.0).fit(inputs.train_spikes_heldin)
    lls = np.array(gpfa.fit_info["log_likelihoods"], dtype=float)
    final = lls[np.isfinite(lls)][-1]
    table = Table(title=f"C. MC_Maze_Small val: EM convergence (18 latents, alpha2 1e-5 fixed; {full} iterations "
                        f"took {gpfa.fit_info['fit_s']:.0f} s, {gpfa.fit_info['em_s_per_iter']:.3f} s/iter)",
                  title_justify="left")
    for col in ("EM iterations", "log-lik", "gap to final", "rel. gain last 5 iters", "co-bps"):
        table.add_column(col, justify="right")
    for k in [k for k in (10, 25, 50, 100, 200, 300, 500) if k <= full]:
        ll, prev = lls[k - 1], lls[k - 6] if k > 5 else lls[0]
        gain = (ll - prev) / (ll - lls[1]) if k > 5 else float("nan")
        model = GPFAModel(GPFAConfig(18, 0.01, 1e-5, em_max_iters=k, em_tol=0.0))
        model.fit(inputs)
        score = bits_per_spike(model.predict(inputs).eval_rates_heldout, truth)
        table.add_row(str(k), f"{ll:.1f}", f"{final - ll:.2f}", f"{gain:.1e}", f"{score:.4f}")
        console.print(f"  {k} iterations: co-bps {score:.4f}", highlight=False)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small problems (smoke test of this script)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip (A, B, C)")
    args = parser.parse_args()
    skip = {p.strip().upper() for p in args.skip.split(",") if p.strip()}
    if "A" not in skip:
        part_a(args.repeats, args.iters, args.quick)
    if "B" not in skip:
        part_b(args.quick)
    if "C" not in skip:
        part_c(args.quick)


if __name__ == "__main__":
    main()
