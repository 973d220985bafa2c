"""Speed, memory and scaling of building NLB val-phase tensors and targets (incl. PSTH) vs nlb_tools.

Both sides build, from the same MC_Maze-shaped synthetic train NWB (see ``nlb_nwb_synth.py``), everything of the
val phase at 5 ms: train inputs (held-in, held-out, forward, lagged behavior), eval inputs and the eval targets
with PSTHs. nlb_tools runs as users run it on Python 3.11 (pandas 2.x, frames time-sorted after loading, which
reproduces its pinned pandas 1.3.4 and is required for this file layout). Every measurement is a fresh child
process; wall time covers loading + building (not interpreter start-up and imports), peak memory is the child's
``ru_maxrss`` (nlb_tools' smoothing pool workers are reported separately). Sides run interleaved, and the
first run of each size dumps its arrays so the parent can check that they are identical.

    python benchmark/bench_nlb_build.py --sizes 0.0625 0.125 1 2 4 --oracle-sizes 0.0625 0.125
    python benchmark/bench_nlb_build.py --quick           # small smoke run (about 30 s)

Sizes are fractions of the real val-phase shape, MC_Maze's train file (2,295 trials: 1,721 train + 574 val; the
test file adds 574 more trials, 2,869 in all). Each size also times the I/O floor: a plain h5py read, in a fresh
process, of every dataset the build reads (units, trials and the behaviour series); the goal is a build within
3x of that floor and linear in trials (1x / 2x / 4x). User and system CPU seconds are reported beside wall time,
because the kernel time of large temporaries is part of what is measured. The synthetic files are written once
into ``--workdir`` (default ``~/.cache/nbench/bench_nlb``; about 0.77 GB per 1x); nlb_tools needs about 21 MiB per
trial with PSTHs, so it is only run where the machine has the memory (1/8 size: 7.6 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FULL_TRIALS = 2295  # MC_Maze's train file (the val phase): 1,721 train + 574 val trials; the test file adds 574
FLOOR_GROUPS = ("units", "intervals/trials", "processing/behavior")
HERE = Path(__file__).resolve().parent
EXACT_KEYS = ("train_spikes_heldin", "train_spikes_heldout", "train_behavior", "train_spikes_heldin_forward",
              "train_spikes_heldout_forward", "eval_spikes_heldin", "t_eval_spikes_heldout", "t_train_behavior",
              "t_eval_behavior", "t_eval_spikes_heldin_forward", "t_eval_spikes_heldout_forward")


def build_ours(path: Path, bin_ms: int) -> dict[str, np.ndarray]:
    from nbench.data.nlb import PARAMS, load_recording
    from nbench.tasks.nlb import build_arrays

    arrays = build_arrays(PARAMS["mc_maze"], load_recording([path]), "val", bin_ms, "mc_maze")
    return {**arrays.inputs, **{f"t_{k}": v for k, v in arrays.targets.items()}}


def build_nlb_tools(path: Path, bin_ms: int) -> dict[str, np.ndarray]:
    from fixtures.nlb_oracle import sorted_loads
    from nlb_tools.make_tensors import make_eval_input_tensors, make_eval_target_tensors, make_train_input_tensors
    from nlb_tools.nwb_interface import NWBDataset

    with sorted_loads():
        ds = NWBDataset(str(path))
        ds.resample(bin_ms)
        out = dict(make_train_input_tensors(ds, "mc_maze", "train", save_file=False, include_behavior=True,
                                            include_forward_pred=True))
        out.update(make_eval_input_tensors(ds, "mc_maze", "val", save_file=False))
        group = "mc_maze" if bin_ms == 5 else f"mc_maze_{bin_ms}"
        targets = make_eval_target_tensors(ds, "mc_maze", "train", "val", save_file=False, include_psth=True)
    out.update({f"t_{k}": v for k, v in targets[group].items()})
    return out


def read_floor(path: Path, bin_ms: int) -> dict[str, np.ndarray]:
    """The I/O floor: a plain h5py read of every dataset the build reads (units, trials, behaviour series)."""
    import h5py

    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        for group in FLOOR_GROUPS:
            h5[group].visititems(lambda name, obj, g=group: arrays.__setitem__(f"{g}/{name}", obj[()])
                                 if isinstance(obj, h5py.Dataset) else None)
    return arrays


def child(side: str, path: Path, bin_ms: int, dump: Path | None) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(HERE.parent / "tests"))
    sys.path.insert(0, str(HERE.parent / "src"))
    build = {"nbench": build_ours, "nlb_tools": build_nlb_tools, "floor": read_floor}[side]
    if side == "floor":
        import h5py  # noqa: F401
    elif side == "nbench":
        import nbench.data.nlb  # noqa: F401  (imports outside the timed region, as for nlb_tools)
    else:
        import nlb_tools.make_tensors  # noqa: F401
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    arrays = build(path, bin_ms)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = after.ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if dump is not None:
        _dump(arrays, dump)
    print(json.dumps({"wall_s": wall, "user_s": after.ru_utime - before.ru_utime,
                      "sys_s": after.ru_stime - before.ru_stime, "peak_mib": peak, "workers_peak_mib": workers}))


def _dump(arrays: dict, path: Path) -> None:
    flat = {}
    for key, value in arrays.items():
        if key in ("t_eval_cond_idx", "t_train_cond_idx"):
            flat[key + "_concat"] = np.concatenate([np.asarray(v, np.int64) for v in value])
            flat[key + "_len"] = np.array([len(v) for v in value])
        else:
            flat[key] = np.asarray(value)
    np.savez(path, **flat)


def measure(side: str, path: Path, bin_ms: int, dump: Path | None) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--file", str(path), "--bin", str(bin_ms)]
    if dump is not None:
        cmd += ["--dump", str(dump)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{side} child failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def compare(ours: Path, theirs: Path) -> dict:
    """Exact equality of every array but the PSTHs (float64 sums in another order: max relative difference)."""
    a, b = np.load(ours), np.load(theirs)
    report = {"identical": [], "different": []}
    for key in EXACT_KEYS + ("t_eval_cond_idx_concat", "t_eval_cond_idx_len", "t_train_cond_idx_concat"):
        mine, ref = a[key], b[key].astype(a[key].dtype)
        ok = mine.shape == ref.shape and np.array_equal(mine, ref, equal_nan=mine.dtype.kind == "f")
        report["identical" if ok else "different"].append(key)
    psth, ref = a["t_psth"], b["t_psth"]
    same_nan = psth.shape == ref.shape and np.array_equal(np.isnan(psth), np.isnan(ref))
    report["psth_max_rel_diff"] = float(np.nanmax(np.abs(psth - ref) / np.maximum(np.abs(ref), 1e-300))) \
        if same_nan else float("inf")
    return report


def generate(n_trials: int, workdir: Path) -> Path:
    path = workdir / f"mc_maze_like_{n_trials}.nwb"
    if not path.exists():
        print(f"writing {path.name} ...", flush=True)
        part = path.with_name(f".{path.stem}.part.nwb")
        subprocess.run([sys.executable, __file__, "--generate", str(n_trials), "--file", str(part)], check=True)
        os.replace(part, path)
    return path


def available_mib() -> float:
    with open("/proc/meminfo") as fh:
        info = dict(line.split(":", 1) for line in fh)
    return float(info["MemAvailable"].split()[0]) / 1024


def run(sizes: list[float], oracle_sizes: list[float], runs: int, bin_ms: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"bin_ms": bin_ms, "runs": runs, "sizes": {}}
    for size in sizes:
        n = max(8, round(FULL_TRIALS * size))
        path = generate(n, workdir)
        row = {"trials": n, "file_mb": path.stat().st_size / 1e6, "floor": [], "nbench": [], "nlb_tools": []}
        sides = ["floor", "nbench"] + (["nlb_tools"] if size in oracle_sizes else [])
        for i in range(runs):
            for side in sides:
                if side == "nlb_tools" and available_mib() < 20_000 * size * 4 + 2_000:
                    row["skipped"] = f"nlb_tools: only {available_mib():.0f} MiB available"
                    continue
                dump = workdir / f"{side}_{n}.npz" if i == 0 and side != "floor" else None
                row[side].append(measure(side, path, bin_ms, dump))
                print(f"{n} trials {side} run {i + 1}: {row[side][-1]}", flush=True)
        if row["nlb_tools"]:
            row["check"] = compare(workdir / f"nbench_{n}.npz", workdir / f"nlb_tools_{n}.npz")
        results["sizes"][str(size)] = row
    return results


def _median(rows: list[dict], key: str) -> float:
    return float(np.median([r[key] for r in rows])) if rows else float("nan")


def table(results: dict) -> str:
    lines = ["| trials | file MB | h5py floor wall s (user+sys) | nbench wall s (user+sys) | x floor | "
             "nlb_tools wall s | speed-up | nbench peak MiB | nlb_tools peak MiB (pool workers) | memory ratio | "
             "arrays |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in results["sizes"].values():
        ours_t, ours_m = _median(row["nbench"], "wall_s"), _median(row["nbench"], "peak_mib")
        floor_t = _median(row["floor"], "wall_s")
        cpu = {side: _median(row[side], "user_s") + _median(row[side], "sys_s") for side in ("floor", "nbench")}
        ref_t, ref_m = _median(row["nlb_tools"], "wall_s"), _median(row["nlb_tools"], "peak_mib")
        workers = _median(row["nlb_tools"], "workers_peak_mib")
        check = row.get("check")
        arrays = "-" if check is None else (
            f"{len(check['identical'])} identical, {len(check['different'])} differ; PSTH rel. diff "
            f"{check['psth_max_rel_diff']:.1e}")
        ref = "-" if np.isnan(ref_t) else f"{ref_t:.1f}"
        lines.append(f"| {row['trials']} | {row['file_mb']:.0f} | {floor_t:.2f} ({cpu['floor']:.2f}) | "
                     f"{ours_t:.2f} ({cpu['nbench']:.2f}) | {ours_t / floor_t:.1f}x | {ref} | "
                     f"{'-' if np.isnan(ref_t) else f'{ref_t / ours_t:.0f}x'} | {ours_m:.0f} | "
                     f"{'-' if np.isnan(ref_m) else f'{ref_m:.0f} ({workers:.0f})'} | "
                     f"{'-' if np.isnan(ref_m) else f'1/{ref_m / ours_m:.0f}'} | {arrays} |")
    return "\n".join(lines)


def scaling(results: dict) -> str:
    rows = [r for r in results["sizes"].values() if r["nbench"]]
    base = min(rows, key=lambda r: abs(r["trials"] - FULL_TRIALS))
    per = base and _median(base["nbench"], "wall_s") / base["trials"]
    out = ["", "nbench scaling (wall per 1,000 trials; ratio to the full-size run):"]
    for r in rows:
        t = _median(r["nbench"], "wall_s")
        out.append(f"  {r['trials']:6d} trials: {t:7.2f} s, {1000 * t / r['trials']:.2f} s/1k trials, "
                   f"{t / (per * r['trials']):.2f} x linear; peak {_median(r['nbench'], 'peak_mib'):.0f} MiB")
    ref = [r for r in rows if r["nlb_tools"]]
    if len(ref) >= 2:
        n = np.array([r["trials"] for r in ref], float)
        fit_t = np.polyfit(n, [_median(r["nlb_tools"], "wall_s") for r in ref], 1)
        fit_m = np.polyfit(n, [_median(r["nlb_tools"], "peak_mib") for r in ref], 1)
        full_t, full_m = np.polyval(fit_t, FULL_TRIALS), np.polyval(fit_m, FULL_TRIALS)
        out.append(f"nlb_tools at {FULL_TRIALS} trials, EXTRAPOLATED linearly from the measured sizes (it does not "
                   f"fit in this machine's memory): {full_t:.0f} s, {full_m / 1024:.1f} GiB")
        if base["trials"] == FULL_TRIALS:
            ours = _median(base["nbench"], "wall_s")
            out.append(f"  -> nbench at full size is {full_t / ours:.0f}x faster and uses "
                       f"1/{full_m / _median(base['nbench'], 'peak_mib'):.0f} of the memory")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", choices=["nbench", "nlb_tools", "floor"])
    parser.add_argument("--generate", type=int, metavar="TRIALS", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--bin", type=int, default=5)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.0625, 0.125, 1, 2, 4])
    parser.add_argument("--oracle-sizes", type=float, nargs="*", default=[0.0625, 0.125])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache" / "nbench" / "bench_nlb")
    parser.add_argument("--quick", action="store_true", help="sizes 1/64 and 1/32, one run each")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.bin, args.dump)
        return
    if args.generate:
        sys.path.insert(0, str(HERE))
        from nlb_nwb_synth import write_maze_like

        write_maze_like(args.file, args.generate)
        return
    if args.quick:
        args.sizes, args.oracle_sizes, args.runs = [1 / 64, 1 / 32], [1 / 64, 1 / 32], 1
    results = run(args.sizes, args.oracle_sizes, args.runs, args.bin, args.workdir)
    (args.workdir / "results.json").write_text(json.dumps(results, indent=1))
    sys.path.insert(0, str(HERE))
    from bench_common import load_average

    print(f"\nval phase, {args.bin} ms, incl. PSTH; medians of {args.runs} runs; {load_average()}\n")
    print(table(results))
    print(scaling(results))


if __name__ == "__main__":
    main()
