"""Build the static leaderboard site: records + submission entries -> ``index.html``, ``results.json``, one CSV
per table, SVG plots and the config of every row.

Everything is computed in memory first; files are then written into a staging folder beside the output (each
file atomically through :mod:`nbench.io`), which is swapped in for the previous build by two renames only when
complete, so a failed build leaves the previous site untouched and never a half-written one.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from nbench import __version__
from nbench.errors import NbenchError, ValidationError
from nbench.io import atomic_path, exchange_paths, remove_stale_temps, temp_prefix
from nbench.leaderboard import plots
from nbench.leaderboard.aggregate import INTERVAL_T, ORIGINS, GroupKey, aggregate, group_key
from nbench.leaderboard.entries import Entry, Scorer, entry_folders, entry_records, load_entries, load_metadata
from nbench.leaderboard.layout import build_layout
from nbench.results import Record, RecordError, load_records
from nbench.text import strip_bidi

MARKER = ".nbench-site"
ORIGIN_HELP = {
    "trained": "trained and scored by nbench from the baseline code (CI reruns these runs before every build)",
    "rescored": "predictions in committed files (runs too slow for CI, leaderboard entries), scored by CI",
    "reported": "a record passed in by hand, shown as reported (not rescored)",
}
RESULTS_SCHEMA = "nbench-leaderboard/1"


@dataclass
class BuildResult:
    """What a build produced."""

    out: Path
    n_records: int
    n_entries: int
    n_rows: int
    files: list[str] = field(default_factory=list)


def collect(records_dirs: Sequence[Path], submissions_dir: Path | None, scorer: Scorer,
            warn: Callable[[str], None] = print,
            progress: Callable[[str], None] | None = None) -> tuple[list[tuple[GroupKey, Record]], list[Entry]]:
    """Load trusted records and validate every entry, its files scored by ``scorer``; return ``(key, record)``
    pairs and the entries."""
    items: list[tuple[GroupKey, Record]] = []
    for folder in records_dirs:
        if not Path(folder).is_dir():
            raise ValidationError(f"{folder}: records folder not found")
        items += [(group_key(r), r) for r in load_records(folder)]
    entries = load_entries(submissions_dir) if submissions_dir is not None else []
    for entry in entries:
        if progress:
            progress(entry.id)
        for record in entry_records(entry, scorer=scorer, warn=warn):
            items.append((group_key(record, entry=entry.id, model_name=entry.name,
                                    config_hash=entry.config_hash), record))
    return items, entries


def check_entries(submissions_dir: Path, scorer: Scorer, warn: Callable[[str], None] = print,
                  progress: Callable[[str], None] | None = None) -> tuple[int, int, list[str]]:
    """Validate every entry, its files scored by ``scorer``, without stopping at the first bad one.

    Returns the number of entries that passed, their records, and every problem found (one line each; a bad
    record lists all its schema problems).
    """
    n_ok, n_records, problems = 0, 0, []
    for folder in entry_folders(submissions_dir):
        if progress:
            progress(folder.name)
        try:
            n_records += len(entry_records(load_metadata(folder), scorer=scorer, warn=warn))
            n_ok += 1
        except RecordError as exc:
            problems += exc.problems
        except NbenchError as exc:
            problems.append(str(exc))
    return n_ok, n_records, problems


def build_site(records_dirs: Sequence[Path], submissions_dir: Path | None, out_dir: Path, scorer: Scorer,
               warn: Callable[[str], None] = print,
               progress: Callable[[str], None] | None = None, models: Sequence[str] = (),
               refusal: Callable[[str, str], str | None] | None = None) -> BuildResult:
    """Build the site into ``out_dir`` (replacing a previous build there); see the module docstring.

    ``models``: the registered models; each board names those without a row on it, and apart those that cannot
    run on its task (``refusal(task, model)`` gives the reason, None when the model can run).
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    items, entries = collect(records_dirs, submissions_dir, scorer, warn, progress)
    rows = aggregate(items, {e.id: e for e in entries})
    tabs = build_layout(rows, models, refusal)
    files: dict[str, bytes] = {}
    for tab in tabs:
        for board in tab["boards"]:
            _add_board_files(board, files)
    generated = _build_time()
    results = {"schema": RESULTS_SCHEMA, "generated": generated, "nbench_version": __version__,
               "interval": _INTERVAL_TEXT, "tabs": tabs}
    files["results.json"] = (json.dumps(results, indent=1, allow_nan=False) + "\n").encode()
    files["index.html"] = render_index(tabs, generated).encode()
    _publish(files, out_dir)
    return BuildResult(out=out_dir, n_records=len(items), n_entries=len(entries), n_rows=len(rows),
                       files=sorted(files))


_INTERVAL_TEXT = (f"{INTERVAL_T} (n >= 2); bootstrap 95% CI over evaluation trials (n == 1); rank = 1 + number "
                  "of rows whose whole interval is better")


def _build_time() -> str:
    """UTC build time; ``SOURCE_DATE_EPOCH`` makes builds reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _add_board_files(board: dict[str, Any], files: dict[str, bytes]) -> None:
    """Plots, CSVs and configs of one board; records their relative paths in the board."""
    rows = list(board["rows"].values())
    for row in rows:
        row["config_url"] = f"configs/{row['id']}.json"
        files[row["config_url"]] = (json.dumps(row["provenance"]["config"], indent=2, sort_keys=True,
                                               default=str) + "\n").encode()
    for table in board["tables"]:
        table["csv"] = f"csv/{table['id']}.csv"
        files[table["csv"]] = table_csv(table, board["rows"]).encode()
    board["plots"] = []
    if not board["tables"]:
        return
    main = board["tables"][0]["metrics"][0]
    ranked = [board["rows"][r["row"]] for r in board["tables"][0]["ranking"]]
    svgs = [("strip", f"{main['name']} per seed", plots.strip_plot(ranked, main)),
            ("cost", f"{main['name']} against compute cost", plots.cost_plot(rows, main))]
    scatter = plots.scatter_plot(rows)
    if scatter is not None:
        svgs.append(("scatter", f"co-bps against {scatter[1]}", scatter[0]))
    for kind, title, svg in svgs:
        if svg is not None:
            src = f"plots/{board['id']}-{kind}.svg"
            files[src] = svg.encode()
            board["plots"].append({"src": src, "title": title})


def _csv_text(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (a cell starting with = + - @ is prefixed with ') and
    drop bidirectional controls."""
    value = strip_bidi(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def table_csv(table: dict[str, Any], rows: dict[str, dict[str, Any]]) -> str:
    """One CSV line per ranked row: identity, then mean, sd, n and 95% interval of every metric, and of the rank
    metric in each session (tasks of several sessions)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["rank", "tied", "model", "entry", "origin", "config_hash", "n_runs"]
    rank_metric = table["metrics"][0]["name"]
    columns = [(m["name"], None) for m in table["metrics"]] + [(rank_metric, s) for s in table.get("sessions", ())]
    for name, session in columns:
        label = name if session is None else f"{name} [{session}]"
        head += [f"{label} {part}" for part in ("mean", "sd", "n", "ci95_lo", "ci95_hi")]
    writer.writerow([_csv_text(cell) for cell in head])
    for ranked in table["ranking"]:
        row = rows[ranked["row"]]
        line = [ranked["rank"], ranked["tied"], row["model"], row["entry"]["id"] if row["entry"] else "",
                row["origin"], row["config_hash"], row["n_runs"]]
        for name, session in columns:
            s = row["metrics"].get(name) if session is None else row["sessions"].get(name, {}).get(session)
            line += [s["mean"], s["sd"], s["n"], *s["ci95"]] if s else ["", "", "", "", ""]
        writer.writerow(["" if v is None else _csv_text(v) for v in line])
    return buf.getvalue()


def _asset(name: str) -> str:
    return resources.files("nbench.leaderboard").joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` output without bidirectional controls (the page's own markup, marked safe, untouched)."""
    return value if isinstance(value, markupsafe.Markup) else strip_bidi(value)


def render_index(tabs: list[dict[str, Any]], generated: str) -> str:
    """``index.html``: autoescaped template, inline CSS/JS allowed by hash in a strict Content-Security-Policy."""
    from nbench.leaderboard.format import register_filters

    # finalize: no bidirectional control reaches the page, whatever the input checks let through.
    env = jinja2.Environment(loader=jinja2.PackageLoader("nbench.leaderboard", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_finalize)
    register_filters(env)
    css, js = _asset("static/leaderboard.css"), _asset("static/leaderboard.js")
    csp = (f"default-src 'none'; img-src 'self'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    return env.get_template("index.html").render(tabs=tabs, generated=generated, version=__version__,
                                                    css=css, js=js, csp=csp, origins=ORIGINS, origin_help=ORIGIN_HELP)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not (out.is_dir() and ((out / MARKER).exists() or not any(out.iterdir()))):
        raise ValidationError(f"{out}: output folder exists and is not a previous leaderboard build (no {MARKER} "
                              "file); choose another --out or remove it")


def _publish(files: dict[str, bytes], out: Path) -> None:
    """Write ``files`` into a staging folder beside ``out``, then swap it in (readable by everyone).

    On Linux the swap is one ``renameat2(RENAME_EXCHANGE)``, so ``out`` holds a complete site at every instant;
    elsewhere it is two renames. Staging and old folders of a killed build are removed by the next one.
    """
    _check_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out.parent)
    staging = Path(tempfile.mkdtemp(prefix=temp_prefix(f"{out.name}.staging"), dir=out.parent))
    try:
        for rel, content in files.items():
            with atomic_path(staging / rel) as tmp:
                tmp.write_bytes(content)
        (staging / MARKER).write_text(f"built by nbench {__version__}\n")
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if not out.exists():
            os.replace(staging, out)
        elif not exchange_paths(staging, out):  # staging now holds the previous site, removed below
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(f"{out.name}.old"), dir=out.parent))
            os.replace(out, old)  # onto the empty folder just made
            os.replace(staging, out)
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
