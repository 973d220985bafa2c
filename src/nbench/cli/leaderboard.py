"""``nbench leaderboard build|check``: the static leaderboard site and its submission entries."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_RECORDS = Path("leaderboard/records")
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
              help=f"Folder of run records, searched recursively; repeatable [default: {DEFAULT_RECORDS} if present].")
@click.option("--submissions", type=click.Path(path_type=Path), default=None,
              help=f"Folder of submission entries [default: {DEFAULT_SUBMISSIONS} if present].")
@click.option("--out", type=click.Path(path_type=Path), default=Path("site"), show_default=True,
              help="Output folder; a previous build there is replaced.")
def build(records: tuple[Path, ...], submissions: Path | None, out: Path) -> None:
    """Turn run records and submission entries into a static site (index.html, results.json, CSV, SVG)."""
    from rich.console import Console

    from nbench.extras import require

    require("matplotlib", "nbench leaderboard build")

    from nbench.leaderboard.site import build_site
    from nbench.scoring.entries import score_entry_file

    records_dirs = list(records) or [p for p in [_default(None, DEFAULT_RECORDS)] if p is not None]
    submissions = _default(submissions, DEFAULT_SUBMISSIONS)
    with Console(stderr=True).status("building the leaderboard") as status:
        result = build_site(records_dirs, submissions, out, score_entry_file, warn=_warn,
                            progress=lambda entry: status.update(f"validating and scoring entry {entry}"))
    click.echo(f"{result.out / 'index.html'}: {result.n_rows} rows from {result.n_records} records "
               f"and {result.n_entries} submission {'entry' if result.n_entries == 1 else 'entries'}, "
               f"{len(result.files)} files")


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
