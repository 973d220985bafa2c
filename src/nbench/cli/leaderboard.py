"""``nbench leaderboard build|check``: the static leaderboard site and its submission entries."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_RECORDS = Path("leaderboard/records")
#: Where ``nbench run`` and ``nbench sweep`` write by default: read when there is no leaderboard/records.
RESULTS_RECORDS = Path("nbench-results")
DEFAULT_SUBMISSIONS = Path("submissions")


def _warn(message: str) -> None:
    click.echo(message, err=True)


def _default(given: Path | None, fallback: Path) -> Path | None:
    """The folder given, else ``fallback`` when it exists in the current folder."""
    if given is not None:
        return given
    return fallback if fallback.is_dir() else None


@click.group("leaderboard")
def leaderboard() -> None:
    """Build the static leaderboard site, or check submission entries."""


@leaderboard.command("build")
@click.option("--records", "records", multiple=True, type=click.Path(path_type=Path),
              help=f"Folder of run records, searched recursively; repeatable [default: {DEFAULT_RECORDS}, else "
                   f"{RESULTS_RECORDS}, whichever exists first].")
@click.option("--submissions", type=click.Path(path_type=Path), default=None,
              help=f"Folder of submission entries [default: {DEFAULT_SUBMISSIONS} if present].")
@click.option("--out", type=click.Path(path_type=Path), default=Path("site"), show_default=True,
              help="Output folder; a previous build there is replaced.")
def build(records: tuple[Path, ...], submissions: Path | None, out: Path) -> None:
    """Turn run records and submission entries into a static site (index.html, results.json, CSV, SVG)."""
    from rich.console import Console

    from nbench.extras import require

    require("matplotlib", "nbench leaderboard build")

    from nbench import registry
    from nbench.leaderboard.site import build_site
    from nbench.scoring.entries import score_entry_file

    records_dirs = list(records) or default_records()
    submissions = _default(submissions, DEFAULT_SUBMISSIONS)
    with Console(stderr=True).status("building the leaderboard") as status:
        result = build_site(records_dirs, submissions, out, score_entry_file, warn=_warn,
                            progress=lambda entry: status.update(f"validating and scoring entry {entry}"),
                            models=registry.names("models"), refusal=capability_refusal)
    click.echo(f"{result.out / 'index.html'}: {result.n_rows} rows from {result.n_records} records "
               f"and {result.n_entries} submission {'entry' if result.n_entries == 1 else 'entries'}, "
               f"{len(result.files)} files")


def capability_refusal(task: str, model: str) -> str | None:
    """Why ``model`` cannot run on ``task`` (its capabilities against what the task scores), or None."""
    from nbench import registry
    from nbench.baselines.base import Capabilities
    from nbench.errors import NbenchError
    from nbench.fitting import check_capabilities
    from nbench.tasks import make_task

    try:
        info = make_task(task).info
        caps = getattr(registry.get("models", model), "capabilities", Capabilities())
    except NbenchError:  # a task or model this installation does not know: nothing to say
        return None
    try:
        check_capabilities(info, model, caps)
    except NbenchError as exc:
        return str(exc).split(" (see ")[0]
    return None


def default_records() -> list[Path]:
    """The first of leaderboard/records and nbench-results that exists here, saying which was read."""
    for folder in (DEFAULT_RECORDS, RESULTS_RECORDS):
        if folder.is_dir():
            _warn(f"records: reading {folder}/ (the first of {DEFAULT_RECORDS}/ and {RESULTS_RECORDS}/ found here; "
                  "choose with --records DIR)")
            return [folder]
    _warn(f"records: none read ({DEFAULT_RECORDS}/ and {RESULTS_RECORDS}/ are not here; choose with --records DIR)")
    return []


@leaderboard.command("check")
@click.option("--submissions", type=click.Path(path_type=Path), default=DEFAULT_SUBMISSIONS, show_default=True,
              help="Folder of submission entries.")
def check(submissions: Path) -> None:
    """Validate and score every submission entry without building the site; print every problem found."""
    from nbench.leaderboard.site import check_entries
    from nbench.scoring.entries import score_entry_file

    n_ok, n_records, problems = check_entries(submissions, score_entry_file, warn=_warn,
                                              progress=lambda entry: _warn(f"checking {entry}"))
    for problem in problems:
        _warn(f"error: {problem}")
    if problems:
        sys.exit(2)
    click.echo(f"{submissions}: {n_ok} {'entry' if n_ok == 1 else 'entries'} ok, {n_records} records")
