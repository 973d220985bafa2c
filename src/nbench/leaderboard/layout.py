"""The leaderboard's structure: tabs (dataset x bin size) -> boards (task, version, phase) -> tables (one per
metric family) -> ranked rows. The same plain-data tree is written to ``results.json`` and rendered to HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from nbench.leaderboard.aggregate import ORIGINS, MetricSummary, Row, rank_with_ties
from nbench.leaderboard.entries import safe_url
from nbench.metrics import METRICS

#: Metric families shown as separate tables, in page order; the first metric present ranks the table.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("co-smoothing", ("co-bps", "co-bps per neuron")),
    ("forward prediction", ("fp-bps", "fp-bps per neuron")),
    ("behavior", ("vel R2", "tp corr")),
    ("PSTH", ("psth R2",)),
    ("rate recovery", ("rate R2", "rate R2 heldout", "rate R2 heldin")),
)
OTHER_FAMILY = "other metrics"
#: Behaviour metrics named by a task's behaviour spec (``choice accuracy (decoded)``, ``whisker R2 (predicted)``).
BEHAVIOR_SUFFIXES = (" (decoded)", " (predicted)")
#: Why rows of a table can tie exactly, by family (shown when they do).
TIE_REASONS = {
    "forward prediction": "models without a dynamics model of their own (mean_rate, smoothing, GPFA, Swap-VAE) "
                          "share one forward rule, each neuron's mean training count per bin over the forward "
                          "window, so they tie on this table by construction; only models that predict the forward "
                          "window themselves (e.g. NDT) differ here",
}


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9-]`` form of ``text`` for ids and file names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def families_of(metric_names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Group metric names into families (known order first, unknown metrics in one extra family)."""
    present = set(metric_names)
    known = {m for _, members in FAMILIES for m in members}
    named = sorted(m for m in present - known if m.endswith(BEHAVIOR_SUFFIXES))  # decoded before predicted
    out = [(fam, [m for m in members if m in present] + (named if fam == "behavior" else []))
           for fam, members in FAMILIES]
    out.append((OTHER_FAMILY, sorted(present - known - set(named))))
    return [(fam, members) for fam, members in out if members]


def build_layout(rows: list[Row], models: Iterable[str] = (),
                 refusal: Callable[[str, str], str | None] | None = None) -> list[dict[str, Any]]:
    """Tabs of boards of tables from aggregated rows (see the module docstring); each board lists which of
    ``models`` (the registered ones) have no row on it yet, and, apart, those that cannot run on its task
    (``refusal(task, model)``: the one-line reason, or None when the model can run).

    A task of several sessions (the region-prediction families) gets a tab of its own, labelled with the task's
    family (``multi_region · 20 ms · inter``), and its tables show each session's value beside the mean.
    """
    multi = {row.key.task for row in rows if row.sessions}
    tabs: dict[tuple[str, float | None, str], dict[tuple[str, str, str, str], list[Row]]] = {}
    for row in rows:
        k = row.key
        tabs.setdefault((k.dataset, k.bin_ms, k.task if k.task in multi else ""), {}).setdefault(
            (k.task, k.task_version, k.phase, k.dataset_version), []).append(row)
    out, used_ids = [], set()
    for (dataset, bin_ms, task), boards in sorted(tabs.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2])):
        bin_label = f"{bin_ms:g} ms" if bin_ms is not None else "bin size unknown"
        label = f"{dataset} · {bin_label}" + (f" · {task.removeprefix(dataset + '_')}" if task else "")
        tab_id = _unique(slug(label), used_ids)
        out.append({
            "id": tab_id, "dataset": dataset, "bin_ms": bin_ms, "label": label,
            "boards": [_board(tab_id, key, board_rows, used_ids, models, refusal)
                       for key, board_rows in sorted(boards.items())],
        })
    return out


def _unique(base: str, used: set[str]) -> str:
    candidate, i = base, 2
    while candidate in used:
        candidate, i = f"{base}-{i}", i + 1
    used.add(candidate)
    return candidate


def _board(tab_id: str, key: tuple[str, str, str, str], rows: list[Row], used: set[str],
           models: Iterable[str], refusal: Callable[[str, str], str | None] | None) -> dict[str, Any]:
    task, task_version, phase, dataset_version = key
    board_id = _unique(slug(f"{tab_id}-{task}-v{task_version}-{phase}"), used)
    tables = []
    for family, metrics in families_of(name for row in rows for name in row.metrics):
        members = [row for row in rows if metrics[0] in row.metrics]
        ranks = rank_with_ties([row.metrics[metrics[0]] for row in members])
        ranking = [{"row": row.key.row_id, "rank": rank, "tied": tied}
                   for row, (rank, tied) in zip(members, ranks, strict=True)]
        ranking.sort(key=lambda r: (r["rank"], _sort_mean(rows, r["row"], metrics[0])))
        tables.append({
            "id": _unique(slug(f"{board_id}-{family}"), used), "family": family, "rank_metric": metrics[0],
            "metrics": [_metric_info(name, rows) for name in metrics], "ranking": ranking,
            "sessions": sorted({s for row in members for s in row.sessions.get(metrics[0], {})}),
            "note": tie_note(family, metrics[0], members),
        })
    references = {}
    for row in rows:
        for name, summary in row.references.items():
            references.setdefault(name, summary_dict(summary))
    shown = {row.key.model for row in rows if row.entry is None}
    absent = sorted(set(models) - shown)
    reasons = {model: refusal(task, model) for model in absent} if refusal is not None else {}
    return {"id": board_id, "task": task, "task_version": task_version, "phase": phase,
            "dataset_version": dataset_version, "tables": tables, "references": references,
            "missing_models": [model for model in absent if not reasons.get(model)],
            "unsupported_models": {model: reason for model, reason in reasons.items() if reason},
            "rows": {row.key.row_id: row_dict(row) for row in rows}}


def tie_note(family: str, metric: str, rows: list[Row]) -> str | None:
    """A note when two or more rows have exactly the same per-seed values of the table's rank metric."""
    groups: dict[tuple[float, ...], list[str]] = {}
    for row in rows:
        groups.setdefault(tuple(round(v, 12) for v in row.metrics[metric].values), []).append(row.key.model)
    tied = [names for names in groups.values() if len(names) > 1]
    if not tied:
        return None
    which = "; ".join(", ".join(sorted(set(names))) for names in tied)
    reason = TIE_REASONS.get(family)
    return f"identical {metric} values: {which}" + (f". Why: {reason}." if reason else ".")


def _sort_mean(rows: list[Row], row_id: str, metric: str) -> float:
    """Tie-break within a rank: better mean first."""
    row = next(r for r in rows if r.key.row_id == row_id)
    summary = row.metrics[metric]
    return -summary.mean if summary.higher_is_better else summary.mean


def _metric_info(name: str, rows: list[Row]) -> dict[str, Any]:
    info = METRICS.get(name)
    higher = info.higher_is_better if info else next(r.metrics[name].higher_is_better for r in rows
                                                     if name in r.metrics)
    return {"name": name, "higher_is_better": higher, "description": info.description if info else ""}


def summary_dict(s: MetricSummary) -> dict[str, Any]:
    """JSON form of a metric summary."""
    return {"mean": s.mean, "sd": s.sd, "n": s.n, "ci95": list(s.ci95), "interval": s.interval,
            "higher_is_better": s.higher_is_better, "values": list(s.values), "seeds": list(s.seeds),
            "trial_ci95": [list(ci) if ci is not None else None for ci in s.trial_ci95]}


def row_dict(row: Row) -> dict[str, Any]:
    """JSON form of a row: identity, entry metadata, metrics and provenance."""
    entry, k = row.entry, row.key
    return {
        "id": k.row_id, "model": k.model, "config_hash": k.config_hash, "origin": row.origin,
        "kind": sorted({r.kind for r in row.records}), "n_runs": len(row.records), "n_failed": row.n_failed,
        "origin_label": ORIGINS[row.origin], "scored_by_ci": row.origin != "reported",
        "seeds": [r.seed for r in row.records],
        "entry": None if entry is None else {
            "id": entry.id, "authors": list(entry.authors), "description": entry.description,
            "paper": safe_url(entry.paper), "code": safe_url(entry.code)},
        "metrics": {name: summary_dict(s) for name, s in row.metrics.items()},
        "sessions": {name: {session: summary_dict(s) for session, s in by_session.items()}
                     for name, by_session in row.sessions.items()},
        "provenance": provenance(row),
    }


def provenance(row: Row) -> dict[str, Any]:
    """What is needed to rerun a row: versions, hashes, commits, dates and cost.

    Cost (mean wall time per run, peak memory, device) comes from the records of reproduced rows; for an entry
    it is what its authors reported in ``metadata.yaml`` (scoring a file says nothing about training cost).
    """
    recs = row.records
    env = [r.environment or {} for r in recs]
    entry = row.entry
    if entry is not None:
        wall, mem, devices = entry.cost.get("wall_s"), entry.cost.get("peak_mem_mb"), [entry.cost.get("device")]
    else:
        costs = [r.cost or {} for r in recs]
        walls = [c["wall_s"] for c in costs if isinstance(c.get("wall_s"), (int, float))]
        mems = [c["peak_mem_mb"] for c in costs if isinstance(c.get("peak_mem_mb"), (int, float))]
        wall, mem = (sum(walls) / len(walls) if walls else None), (max(mems) if mems else None)
        devices = [c.get("device") for c in costs]
    return {
        "config": (entry.config if entry and entry.config else recs[0].model.get("config")) or {},
        "dataset_source": recs[0].dataset.get("source"),
        "dataset_version": recs[0].dataset.get("version"),
        "dataset_sha256": dict(recs[0].dataset.get("sha256") or {}),
        "nbench": _distinct(e.get("nbench") for e in env),
        "git_commit": _distinct(e.get("git_commit") for e in env),
        "git_dirty": any(bool(e.get("git_dirty")) for e in env),
        "python": _distinct(e.get("python") for e in env),
        "created": [min(r.created for r in recs), max(r.created for r in recs)],
        "wall_s": wall, "peak_mem_mb": mem, "device": _distinct(devices),
        "cost_reported_by": "authors" if entry is not None else "records",
        "run_keys": [r.run_key for r in recs],
        "submission_sha256": _distinct((r.submission or {}).get("sha256") for r in recs),
    }


def _distinct(values: Iterable[Any]) -> list[Any]:
    return sorted({str(v) for v in values if v is not None})
