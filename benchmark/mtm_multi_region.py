"""MtM against temporal masking, smoothing and mean_rate on the embedded multi_region set (region-prediction tasks).

Each model answers every query of the four neural task families (co-smoothing, forward prediction, inter-region,
intra-region) of each seed. ``mtm`` and ``mtm_temporal`` are fitted once per seed and the four families share that
fit (the runner stores it under ``<out>/work/mtm-<fingerprint>``, keyed by config, seed and training data; forward
prediction's training trials are the same bins, split into a window and a forward window); smoothing fits a
readout per query, and the deterministic models (smoothing, mean_rate) run for the first seed only. Prints per
family the main metric, the hidden units' rate R2 against the true rates, means and sample standard deviations
over seeds, and the wall time of each run.

Usage::

    python benchmark/mtm_multi_region.py --seeds 0 1 2 --out /tmp/mtm-bench
    python benchmark/mtm_multi_region.py --seeds 0 --models mtm mtm_temporal --set max_epochs=50   # quick look
    python benchmark/mtm_multi_region.py --rows a.json b.json   # one table from the --json rows of several runs
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import add_overrides_option, load_average

from nbench.runner import RunSpec, run

FAMILIES = ("cosmooth", "forward", "inter", "intra")
#: The family's main metric (MtM's per-neuron bits/spike for the region queries) and the rate R2 of the hidden units.
METRICS = {"cosmooth": "co-bps per neuron", "forward": "fp-bps per neuron", "inter": "co-bps per neuron",
           "intra": "co-bps per neuron"}
R2 = "rate R2 heldout"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (values as JSON, else strings) to a config override dict."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_one(model: str, family: str, seed: int, overrides: dict[str, Any], out: Path) -> dict[str, Any]:
    """One run; its main metric, the hidden units' rate R2, wall seconds and fit information."""
    spec = RunSpec.create(f"multi_region_{family}", model, seed=seed,
                          overrides=overrides if model.startswith("mtm") else {})
    started = time.perf_counter()
    result = run(spec, out_dir=out)
    seconds = time.perf_counter() - started
    metrics = result.record.metrics
    row = {"model": model, "family": family, "seed": seed, "seconds": round(seconds, 1),
           "value": metrics[METRICS[family]].value, "r2": metrics[R2].value if R2 in metrics else None,
           "fit_info": result.record.model.get("fit_info", {}), "load": load_average()}
    print(f"{model:14s} {family:9s} seed {seed}  {METRICS[family]} {row['value']:+.4f}  rate R2 "
          f"{row['r2'] if row['r2'] is None else round(row['r2'], 4)}  {seconds:7.1f} s  ({row['load']})", flush=True)
    return row


def summarise(rows: list[dict[str, Any]], models: list[str]) -> None:
    """A table of mean +- sd over seeds per model and family."""
    print(f"\n{'family':9s} {'metric':18s} " + " ".join(f"{m:>24s}" for m in models))
    for family in FAMILIES:
        for label, key in ((METRICS[family], "value"), ("hidden rate R2", "r2"), ("wall s (run)", "seconds")):
            cells = []
            for model in models:
                vals = [r[key] for r in rows if r["model"] == model and r["family"] == family and r[key] is not None]
                if not vals:
                    cells.append(f"{'-':>24s}")
                    continue
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                cells.append(f"{statistics.mean(vals):+12.4f} ± {sd:.4f} (n={len(vals)})".rjust(24))
            print(f"{family:9s} {label:18s} " + " ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["mtm", "mtm_temporal", "smoothing", "mean_rate"])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    add_overrides_option(parser, dest="set", help="MtM config overrides")
    parser.add_argument("--out", type=Path, default=Path("mtm-bench"))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--rows", type=Path, nargs="+", help="only summarise the --json rows of earlier runs")
    args = parser.parse_args()
    if args.rows:
        rows = [row for path in args.rows for row in json.loads(path.read_text())]
        summarise(rows, list(dict.fromkeys(row["model"] for row in rows)))
        return
    overrides = parse_overrides(args.set)
    print(f"MtM on multi_region: seeds {args.seeds}, overrides {overrides or 'none'} ({load_average()})", flush=True)
    rows = []
    for seed in args.seeds:
        for model in args.models:
            seeded = seed == args.seeds[0] or model.startswith("mtm")  # the classic baselines are deterministic
            for family in args.families if seeded else ():
                rows.append(run_one(model, family, seed, overrides, args.out))
    summarise(rows, args.models)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
