"""Schema check of run records (version 3), applied to every record that is loaded.

Records reach the leaderboard from pull requests, so every key is checked for type, range and length before
anything is aggregated or rendered: metric names must be nbench's (:func:`nbench.metrics.metric_info`) with the
direction of its table, values finite and of sane magnitude, intervals ordered, text short and free of control
and bidirectional characters. :func:`record_problems` lists every problem, one line each.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nbench.config import SEED_MAX
from nbench.text import text_problem

MAX_VALUE = 1e15  # |metric value| and interval bounds; larger values overflow means over seeds
MAX_METRICS = 50
NAME_LEN = 80  # task, dataset, model and metric names, versions, hashes
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TOP_KEYS = ("schema_version", "run_id", "run_key", "created", "status", "error", "kind", "task", "dataset",
            "model", "seed", "metrics", "reference", "breakdown", "neurons", "trials", "cost", "environment",
            "invocation", "submission")
MAX_VIEWS = 200  # sessions in a breakdown, and queries per session
MAX_UNITS = 100_000  # per-unit values of one session and metric
BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
COST_NUMBERS = ("wall_s", "fit_s", "predict_s", "score_s", "peak_mem_mb")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Check:
    """Collects one line per problem: ``key 'a.b' expected ..., got ...``."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, key: str, expected: str, got: Any) -> None:
        self.problems.append(f"key {key!r} expected {expected}, got {got}")

    def text(self, key: str, value: Any, max_len: int = NAME_LEN, optional: bool = False,
             multiline: bool = False) -> None:
        if value is None and optional:
            return
        problem = text_problem(value, max_len, multiline=multiline)
        if problem is not None:
            got = _shown(value) if not isinstance(value, str) or problem == "empty text" else problem
            self.fail(key, f"text of at most {max_len} characters{' or null' if optional else ''}", got)

    def number(self, key: str, value: Any, optional: bool = False, minimum: float = -MAX_VALUE) -> bool:
        if value is None and optional:
            return True
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and minimum <= value <= MAX_VALUE
        if not ok:
            self.fail(key, f"a finite number in [{minimum:g}, {MAX_VALUE:g}]{' or null' if optional else ''}",
                      _shown(value))
        return ok

    def integer(self, key: str, value: Any, lo: int, hi: int, optional: bool = False) -> None:
        if value is None and optional:
            return
        if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
            self.fail(key, f"an integer in [{lo}, {hi}]{' or null' if optional else ''}", _shown(value))

    def choice(self, key: str, value: Any, allowed: tuple[Any, ...]) -> None:
        if value not in allowed:
            self.fail(key, f"one of {', '.join(map(repr, allowed))}", _shown(value))

    def mapping(self, key: str, value: Any, known: tuple[str, ...] | None = None, optional: bool = False
                ) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            self.fail(key, "a mapping", _shown(value))
            return {}
        unknown = [k for k in value if known is not None and k not in known]
        if unknown:
            self.fail(f"{key}.{unknown[0]}", f"one of the keys {', '.join(known or ())}", "an unknown key")
        return value


def record_problems(data: dict[str, Any]) -> list[str]:
    """Every problem of a record dict (already migrated to the current schema), one line each."""
    c = _Check()
    missing = [k for k in TOP_KEYS if k not in data]
    if missing:
        c.fail(missing[0], "to be present", "nothing")
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        c.fail(str(unknown[0])[:NAME_LEN], "one of the record keys", "an unknown key")
    c.integer("schema_version", data.get("schema_version"), 3, 3)
    c.text("run_id", data.get("run_id"), 64)
    c.text("run_key", data.get("run_key"), 64)
    if not (isinstance(data.get("created"), str) and CREATED.match(data["created"])):
        c.fail("created", "a UTC time such as '2026-11-20T10:00:00Z'", _shown(data.get("created")))
    c.choice("status", data.get("status"), ("ok", "error"))
    c.text("error", data.get("error"), 4000, optional=True, multiline=True)
    c.choice("kind", data.get("kind"), ("run", "score"))
    _task(c, data.get("task"))
    _dataset(c, data.get("dataset"))
    _model(c, data.get("model"))
    c.integer("seed", data.get("seed"), 0, SEED_MAX, optional=True)
    _metrics(c, "metrics", data.get("metrics"), from_table=True)
    _metrics(c, "reference", data.get("reference"), from_table=False)
    _breakdown(c, data.get("breakdown"))
    _neurons(c, data.get("neurons"))
    _trials(c, data.get("trials"))
    cost = c.mapping("cost", data.get("cost"), (*COST_NUMBERS, "device"))
    for key in COST_NUMBERS:
        c.number(f"cost.{key}", cost.get(key), optional=True, minimum=0.0)
    c.text("cost.device", cost.get("device"), 40, optional=True)
    _environment(c, data.get("environment"))
    c.text("invocation", data.get("invocation"), 10_000, optional=True)
    sub = c.mapping("submission", data.get("submission"), ("path", "sha256"), optional=True)
    if sub:
        c.text("submission.path", sub.get("path"), 4096)
        c.text("submission.sha256", sub.get("sha256"), 128)
    return c.problems


def _task(c: _Check, value: Any) -> None:
    task = c.mapping("task", value, ("name", "version", "phase", "bin_ms", "group"))
    c.text("task.name", task.get("name"))
    version = task.get("version")
    c.text("task.version", str(version) if isinstance(version, int) and not isinstance(version, bool) else version,
           optional=True)
    c.text("task.phase", task.get("phase"), 16, optional=True)
    c.number("task.bin_ms", task.get("bin_ms"), optional=True, minimum=0.0)
    c.text("task.group", task.get("group"), optional=True)


def _dataset(c: _Check, value: Any) -> None:
    dataset = c.mapping("dataset", value, ("name", "source", "version", "sha256"))
    for key in ("name", "source", "version"):
        c.text(f"dataset.{key}", dataset.get(key), optional=True)
    hashes = c.mapping("dataset.sha256", dataset.get("sha256"), optional=True)
    if len(hashes) > 20:
        c.fail("dataset.sha256", "at most 20 files", f"{len(hashes)}")
    for name, digest in list(hashes.items())[:20]:
        c.text(f"dataset.sha256 file name {_shown(name)}", name, 256)
        c.text(f"dataset.sha256.{str(name)[:40]}", digest, 128)


def _model(c: _Check, value: Any) -> None:
    model = c.mapping("model", value, ("name", "origin", "config", "config_hash", "fit_info"))
    c.text("model.name", model.get("name"))
    c.text("model.origin", model.get("origin"), optional=True)
    c.mapping("model.config", model.get("config"), optional=True)
    c.text("model.config_hash", model.get("config_hash"), 64, optional=True)
    c.mapping("model.fit_info", model.get("fit_info"), optional=True)


def _metrics(c: _Check, section: str, value: Any, from_table: bool) -> None:
    """``metrics`` names and directions come from nbench's table; ``reference`` names are free but short."""
    from nbench.metrics import METRICS, metric_info

    metrics = c.mapping(section, value)
    if len(metrics) > MAX_METRICS:
        c.fail(section, f"at most {MAX_METRICS} entries", f"{len(metrics)}")
        return
    for name, mv in metrics.items():
        key = f"{section}.{str(name)[:NAME_LEN]}"
        info = metric_info(name) if isinstance(name, str) else None
        if from_table and (info is None or info.family == "reference"):
            known = ", ".join(n for n, i in METRICS.items() if i.family != "reference") + ", <name> R2 (decoded) ..."
            c.fail(section, f"metric names of nbench ({known})", f"{_shown(name)}")
            continue
        c.text(f"{section} name", name)
        mv = c.mapping(key, mv, ("value", "higher_is_better", "n", "ci95"))
        if not mv:
            continue
        c.number(f"{key}.value", mv.get("value"), optional=True)
        higher = mv.get("higher_is_better")
        if info is not None and higher is not info.higher_is_better:
            c.fail(f"{key}.higher_is_better", f"{str(info.higher_is_better).lower()} (nbench's metric table)",
                   _shown(higher))
        elif not isinstance(higher, bool):
            c.fail(f"{key}.higher_is_better", "true or false", _shown(higher))
        c.integer(f"{key}.n", mv.get("n"), 0, 2**53, optional=True)
        _interval(c, f"{key}.ci95", mv.get("ci95"))


def _breakdown(c: _Check, value: Any) -> None:
    """``{session: {query: metrics}}``: short names, each metrics mapping checked like ``metrics``."""
    sessions = c.mapping("breakdown", value)
    if len(sessions) > MAX_VIEWS:
        c.fail("breakdown", f"at most {MAX_VIEWS} sessions", f"{len(sessions)}")
        return
    for session, queries in sessions.items():
        c.text("breakdown session name", session)
        key = f"breakdown.{str(session)[:NAME_LEN]}"
        queries = c.mapping(key, queries)
        if len(queries) > MAX_VIEWS:
            c.fail(key, f"at most {MAX_VIEWS} queries", f"{len(queries)}")
            continue
        for query, metrics in queries.items():
            c.text(f"{key} query name", query)
            _metrics(c, f"{key}.{str(query)[:NAME_LEN]}", metrics, from_table=True)


def _per_session(c: _Check, section: str, value: Any) -> list[tuple[str, Any]]:
    """``{session: {metric: x}}`` with short session names and nbench metric names: ``[(key, x), ...]``."""
    from nbench.metrics import metric_info

    sessions = c.mapping(section, value)
    if len(sessions) > MAX_VIEWS:
        c.fail(section, f"at most {MAX_VIEWS} sessions", f"{len(sessions)}")
        return []
    out = []
    for session, metrics in sessions.items():
        c.text(f"{section} session name", session)
        key = f"{section}.{str(session)[:NAME_LEN]}"
        metrics = c.mapping(key, metrics)
        for name, item in list(metrics.items())[:MAX_METRICS + 1]:
            if not isinstance(name, str) or metric_info(name) is None:
                c.fail(key, "metric names of nbench", _shown(name))
                continue
            out.append((f"{key}.{name[:NAME_LEN]}", item))
    return out


def _neurons(c: _Check, value: Any) -> None:
    """Per-unit values: ``{session: {metric: [number or null, ...]}}``."""
    for key, values in _per_session(c, "neurons", value):
        if not isinstance(values, list) or len(values) > MAX_UNITS:
            c.fail(key, f"a list of at most {MAX_UNITS} numbers or nulls", _shown(values))
            continue
        bad = [i for i, v in enumerate(values) if v is not None and not (
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_VALUE)]
        if bad:
            c.fail(f"{key}[{bad[0]}]", f"a finite number in [{-MAX_VALUE:g}, {MAX_VALUE:g}] or null",
                   _shown(values[bad[0]]))


def _trials(c: _Check, value: Any) -> None:
    """Per-trial losses: ``{session: {metric: {"loss": base64, "norm": base64 or null}}}`` of float32s."""
    for key, item in _per_session(c, "trials", value):
        item = c.mapping(key, item, ("loss", "norm"))
        if not item:
            continue
        for part in ("loss", "norm"):
            text = item.get(part)
            if text is None and part == "norm":
                continue
            ok = isinstance(text, str) and len(text) % 4 == 0 and BASE64.match(text) is not None
            if not (ok and (len(text) * 3 // 4 - text.count("=")) % 4 == 0):  # whole float32s
                c.fail(f"{key}.{part}", "base64 of float32 values" + (" or null" if part == "norm" else ""),
                       _shown(text))


def _interval(c: _Check, key: str, ci: Any) -> None:
    if ci is None:
        return
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2):
        c.fail(key, "[low, high] or null", _shown(ci))
        return
    if c.number(f"{key}[0]", ci[0]) and c.number(f"{key}[1]", ci[1]) and ci[0] > ci[1]:
        c.fail(key, "low <= high", _shown(list(ci)))


def _environment(c: _Check, value: Any) -> None:
    env = c.mapping("environment", value, ("python", "platform", "nbench", "packages", "git_commit", "git_dirty"))
    for key in ("python", "nbench", "git_commit"):
        c.text(f"environment.{key}", env.get(key), 64, optional=True)
    c.text("environment.platform", env.get("platform"), 256, optional=True)
    packages = c.mapping("environment.packages", env.get("packages"), optional=True)
    for name, version in list(packages.items())[:100]:
        c.text(f"environment.packages.{str(name)[:40]}", version, 64)
    if env.get("git_dirty") is not None and not isinstance(env.get("git_dirty"), bool):
        c.fail("environment.git_dirty", "true, false or null", _shown(env.get("git_dirty")))

