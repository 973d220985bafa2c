"""Run records: one versioned JSON document per run or scored submission.

Schema version 3 (every key always present; ``null`` where not applicable); the JSON Schema is
``docs/record.schema.json``::

    schema_version  int, 3
    run_id          unique id of this execution ("20261122T015000Z-1a2b3c4d")
    run_key         hash of task + task version + phase + dataset version + model + config hash + seed
    created         UTC time, ISO 8601 with "Z"
    status          "ok" or "error";  error: message or null
    kind            "run" (a baseline reproduced by nbench) or "score" (a scored submission file)
    task            {name, version, phase, bin_ms, group}
    dataset         {name, source, version, sha256: {file: hash}}
    model           {name, origin, config, config_hash, fit_info}: fit_info holds the model's fit diagnostics
                    (e.g. EM iterations and log-likelihood, epochs and best validation loss), {} if none
    seed            int or null
    metrics         {metric name: {value, higher_is_better, n, ci95: [lo, hi] or null}}
    reference       {name: {value, higher_is_better, n, ci95}}: numbers that give context (not the model's)
    breakdown       {session: {query: {metric: {value, higher_is_better, n, ci95}}}} for tasks of several
                    queries or sessions (each session's pooled values under "(all)"); {} for single-view tasks
    neurons         {session: {metric: [value or null, ...]}}: per-unit values behind pooled metrics (each unit's
                    bits/spike for co-bps and fp-bps, its R2 for rate R2), in the view's column order, 6
                    significant digits; {} when none
    trials          {session: {metric: {loss, norm}}}: per-eval-trial losses for paired comparisons
                    (``nbench compare``), base64 little-endian float32, norm null when uniform
                    (:mod:`nbench.scoring.trials`); {} when none
    cost            {wall_s, fit_s, predict_s, score_s, peak_mem_mb, device}
    environment     {python, platform, nbench, packages: {name: version}, git_commit, git_dirty}
    invocation      the command line, or null
    submission      {path, sha256} for kind "score", else null

Older schema versions load through :func:`migrate` (1 -> 2 adds an empty ``breakdown``, 2 -> 3 empty ``neurons``
and ``trials``); every loaded record is then checked against the schema (:mod:`nbench.record_schema`): types,
ranges, lengths, metric names and directions from nbench's table.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbench.errors import ValidationError
from nbench.io import write_json_atomic
from nbench.record_schema import record_problems

SCHEMA_VERSION = 3
ALL_QUERIES = "(all)"  # a session's pooled values in ``breakdown``
MAX_RECORD_BYTES = 4 * 2**20  # a record is a few kB to tens of kB (per-trial losses: ~16 kB for lorenz)


class RecordError(ValidationError):
    """A record that does not match the schema; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source}: not a valid nbench record: {problems[0]}{more}")
        self.problems = [f"{source}: {problem}" for problem in problems]


@dataclass
class MetricValue:
    """One metric of one run."""

    value: float | None
    higher_is_better: bool
    n: int | None = None
    ci95: tuple[float, float] | None = None


@dataclass
class Record:
    """A run record; see the module docstring for the schema."""

    run_id: str
    run_key: str
    created: str
    status: str
    kind: str
    task: dict[str, Any]
    dataset: dict[str, Any]
    model: dict[str, Any]
    seed: int | None
    metrics: dict[str, MetricValue]
    reference: dict[str, MetricValue] = field(default_factory=dict)
    breakdown: dict[str, dict[str, dict[str, MetricValue]]] = field(default_factory=dict)
    neurons: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    trials: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    invocation: str | None = None
    submission: dict[str, Any] | None = None
    error: str | None = None
    schema_version: int = SCHEMA_VERSION

    def sessions(self) -> dict[str, dict[str, MetricValue]]:
        """Each session's pooled metrics (``breakdown[session]["(all)"]``) for a task of two or more sessions,
        else ``{}``."""
        if len(self.breakdown) < 2:
            return {}
        return {session: queries[ALL_QUERIES] for session, queries in self.breakdown.items()
                if ALL_QUERIES in queries}

    def __repr__(self) -> str:
        seed = "" if self.seed is None else f" seed {self.seed}"
        shown = ", ".join(f"{k} {v.value:.4g}" for k, v in list(self.metrics.items())[:4] if v.value is not None)
        return (f"<Record {self.kind} {self.task.get('name')} ({self.task.get('phase')}) {self.model.get('name')}"
                f"{seed}: {shown or self.status}; run {self.run_id}>")

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON data; a non-finite metric value or interval becomes null (undefined)."""
        out = asdict(self)
        values = [*out["metrics"].values(), *out["reference"].values()]
        values += [v for queries in out["breakdown"].values() for m in queries.values() for v in m.values()]
        for value in values:
            if value["value"] is not None and not math.isfinite(value["value"]):
                value["value"] = None
            if value["ci95"] is not None:
                finite = all(math.isfinite(bound) for bound in value["ci95"])
                value["ci95"] = list(value["ci95"]) if finite and value["value"] is not None else None
        order = ["schema_version", "run_id", "run_key", "created", "status", "error", "kind", "task", "dataset",
                 "model", "seed", "metrics", "reference", "breakdown", "neurons", "trials", "cost", "environment",
                 "invocation", "submission"]
        return {key: out[key] for key in order}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "record") -> Record:
        data = migrate(data, source)
        problems = record_problems(data)
        if problems:
            raise RecordError(source, problems)
        try:
            metrics = {k: _metric_from(v) for k, v in data["metrics"].items()}
            reference = {k: _metric_from(v) for k, v in data.get("reference", {}).items()}
            breakdown = {s: {q: {k: _metric_from(v) for k, v in m.items()} for q, m in queries.items()}
                         for s, queries in data.get("breakdown", {}).items()}
            fields = {k: v for k, v in data.items() if k not in ("metrics", "reference", "breakdown")}
            return cls(metrics=metrics, reference=reference, breakdown=breakdown, **fields)
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"{source}: not a valid nbench record ({type(exc).__name__}: {exc})") from exc


def _metric_from(value: dict[str, Any]) -> MetricValue:
    ci = value.get("ci95")
    return MetricValue(value=value["value"], higher_is_better=bool(value["higher_is_better"]), n=value.get("n"),
                       ci95=tuple(ci) if ci is not None else None)


def _migrate_v0(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 0 (pre-release): flat ``metrics`` {name: float}, ``task`` a string, no ``kind``/``reference``."""
    from nbench.metrics import METRICS

    out = dict(data)
    task = out.get("task")
    if isinstance(task, str):
        out["task"] = {"name": task, "version": "0", "phase": out.pop("phase", None), "bin_ms": None, "group": task}
    out["metrics"] = {
        name: value if isinstance(value, dict) else
        {"value": value, "higher_is_better": METRICS[name].higher_is_better if name in METRICS else True,
         "n": None, "ci95": None}
        for name, value in out.get("metrics", {}).items()
    }
    out.setdefault("kind", "run")
    out.setdefault("reference", {})
    out.setdefault("status", "ok")
    out.setdefault("error", None)
    out.setdefault("submission", None)
    out.setdefault("invocation", None)
    out.setdefault("cost", {})
    out.setdefault("environment", {})
    out.setdefault("dataset", {"name": out["task"]["name"], "source": None, "version": None, "sha256": {}})
    out["schema_version"] = 1
    return out


def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1: no ``breakdown`` (every task had one view)."""
    out = dict(data)
    out.setdefault("breakdown", {})
    out["schema_version"] = 2
    return out


def _migrate_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2: no per-unit values (``neurons``) and no per-trial losses (``trials``)."""
    out = dict(data)
    out.setdefault("neurons", {})
    out.setdefault("trials", {})
    out["schema_version"] = 3
    return out


MIGRATIONS = {0: _migrate_v0, 1: _migrate_v1, 2: _migrate_v2}


def migrate(data: dict[str, Any], source: str = "record") -> dict[str, Any]:
    """Bring a record dict of any known schema version up to :data:`SCHEMA_VERSION`."""
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 0:
        raise ValidationError(f"{source}: key 'schema_version' expected an integer <= {SCHEMA_VERSION}, "
                              f"got {version!r}")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data


def make_run_key(task: dict[str, Any], dataset_version: str | None, model_name: str, config_hash: str,
                 seed: int | None) -> str:
    """Deterministic key identifying *what* was run (same inputs, same key)."""
    parts = [task["name"], str(task["version"]), str(task["phase"]), str(dataset_version), model_name, config_hash,
             str(seed)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def new_run_id() -> str:
    """Unique id of one execution: UTC timestamp plus random suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_path(out_dir: str | Path, task: str, model: str, run_key: str) -> Path:
    """Where the record of ``run_key`` lives: ``<out_dir>/<task>/<model>/<run_key>.json`` (one file per run key)."""
    return Path(out_dir) / task / model / f"{run_key}.json"


def legacy_record_paths(folder: Path, run_key: str) -> list[Path]:
    """Records of ``run_key`` written before one file per run key (``<run_key>-<run_id>.json``), oldest first."""
    return sorted(Path(folder).glob(f"{run_key}-*.json"))


def write_record(record: Record, out_dir: str | Path) -> Path:
    """Write ``record`` atomically as ``<out_dir>/<task>/<model>/<run_key>.json``, replacing an earlier record of
    the same run key (older ``<run_key>-<run_id>.json`` files of that key are removed); return the path."""
    path = record_path(out_dir, record.task["name"], record.model["name"], record.run_key)
    write_json_atomic(path, record.to_dict())
    for old in legacy_record_paths(path.parent, record.run_key):
        old.unlink(missing_ok=True)
    return path


def find_record(out_dir: str | Path, task: str, model: str, run_key: str) -> Record | None:
    """The record of ``run_key`` under ``out_dir``, or None when there is none.

    An older folder may hold several ``<run_key>-<run_id>.json`` files of the key and no ``<run_key>.json``: then
    the newest ok record counts (else the newest). An unreadable file raises :class:`ValidationError`.
    """
    path = record_path(out_dir, task, model, run_key)
    if path.is_file():
        return load_record(path)
    legacy = [load_record(p) for p in legacy_record_paths(path.parent, run_key)]
    if not legacy:
        return None
    return max(legacy, key=lambda r: (r.status == "ok", r.created))


def load_record(path: str | Path) -> Record:
    """Load one record (any known schema version)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise ValidationError(f"{path}: record of {size:,} bytes, expected at most {MAX_RECORD_BYTES:,}")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: record not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValidationError(f"{path}: not valid JSON ({reason})") from exc
    return Record.from_dict(data, source=str(path))


def load_records(directory: str | Path) -> list[Record]:
    """Load every ``*.json`` record under ``directory`` (recursively; not its ``work/`` folder of model work
    files), sorted by path."""
    directory = Path(directory)
    return [load_record(p) for p in sorted(directory.rglob("*.json")) if p.relative_to(directory).parts[0] != "work"]

