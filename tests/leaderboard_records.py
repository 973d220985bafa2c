"""Realistic run records for leaderboard tests (built in memory, written with ``nbench.results.write_record``)."""

from __future__ import annotations

from pathlib import Path

from nbench.config import config_hash
from nbench.results import MetricValue, Record, make_run_key, write_record

TASKS = {"lorenz": (20.0, "v1-7d406eb06d"), "chaotic_rnn": (10.0, "v1-eaace8e175"),
         "mc_maze": (5.0, "000128/0.220113.0407"), "no_such_task": (5.0, "none")}


def make_record(task: str = "lorenz", model: str = "smoothing", seed: int = 0, metrics: dict | None = None,
                config: dict | None = None, status: str = "ok", created: str = "2026-11-20T10:00:00Z",
                kind: str = "run", wall_s: float = 1.5, phase: str = "test",
                ci95: dict | None = None) -> Record:
    """One record; ``metrics`` maps names to values (direction from the name: 'tp corr' is lower-better)."""
    bin_ms, version = TASKS[task]
    config = config if config is not None else {"kern_sd_ms": 50}
    task_meta = {"name": task, "version": "1", "phase": phase, "bin_ms": bin_ms, "group": task}
    values = metrics if metrics is not None else {"co-bps": 0.2 + 0.01 * seed}
    ci95 = ci95 or {}
    return Record(
        run_id=f"20261120T100000Z-{seed:08d}",
        run_key=make_run_key(task_meta, version, model, config_hash(config), seed),
        created=created, status=status, error=None if status == "ok" else "boom", kind=kind, task=task_meta,
        dataset={"name": task, "source": "synthetic", "version": version, "sha256": {"data.h5": "ab" * 32}},
        model={"name": model, "origin": "nbench", "config": config, "config_hash": config_hash(config)},
        seed=seed,
        metrics={name: MetricValue(value=v, higher_is_better=name != "tp corr", n=100, ci95=ci95.get(name))
                 for name, v in values.items()},
        reference={"rate R2 heldout (cond-avg ref)": MetricValue(0.75, True)},
        cost={"wall_s": wall_s, "fit_s": wall_s * 0.8, "predict_s": 0.1, "score_s": 0.1, "peak_mem_mb": 300.0,
              "device": "cpu"},
        environment={"python": "3.11.9", "platform": "Linux", "nbench": "0.1.0", "packages": {},
                     "git_commit": "0123456789abcdef0123456789abcdef01234567", "git_dirty": False},
        invocation=f"nbench run --task {task} --model {model} --seed {seed}",
    )


def write_records(records: list[Record], folder: Path) -> Path:
    for record in records:
        write_record(record, folder)
    return folder


def board_records() -> list[Record]:
    """Three models x three seeds on lorenz, two models on chaotic_rnn: enough for ranks, ties and two tabs."""
    out = []
    for seed in range(3):
        out.append(make_record("lorenz", "smoothing", seed, {"co-bps": 0.21 + 0.002 * seed, "fp-bps": 0.1,
                                                              "rate R2 heldout": 0.6 + 0.01 * seed}, wall_s=2.0))
        out.append(make_record("lorenz", "mean_rate", seed, {"co-bps": 0.0 + 0.001 * seed, "fp-bps": 0.0,
                                                              "rate R2 heldout": 0.0}, config={}, wall_s=0.2))
        out.append(make_record("lorenz", "gru", seed, {"co-bps": 0.3 + 0.003 * seed, "fp-bps": 0.2,
                                                        "rate R2 heldout": 0.8 + 0.01 * seed},
                               config={"hidden": 64}, wall_s=60.0))
        out.append(make_record("chaotic_rnn", "smoothing", seed, {"co-bps": 0.15 + 0.001 * seed}))
        out.append(make_record("chaotic_rnn", "mean_rate", seed, {"co-bps": 0.001 * seed}, config={}))
    return out
