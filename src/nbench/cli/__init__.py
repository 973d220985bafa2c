"""The ``nbench`` command line: a thin click layer over the library.

Sub-commands live in their own modules and are imported only when invoked, so ``nbench --help`` stays fast.
Every :class:`~nbench.errors.NbenchError` is printed as one line on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from nbench import __version__
from nbench.errors import NbenchError

# name -> ("module:attribute", one-line help shown by `nbench --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("nbench.cli.run:run", "Run a baseline model on a task, score it and write a record."),
    "score": ("nbench.cli.score:score", "Validate and score a submission .h5 file."),
    "list": ("nbench.cli.listing:list_", "List registered tasks, models or metrics."),
    "compare": ("nbench.cli.compare:compare", "Compare two runs on one task with a paired bootstrap interval."),
    "report": ("nbench.cli.report:report", "Write an HTML report with plots of one run."),
    "data": ("nbench.cli.data:data", "Fetch, add, list, import and export datasets."),
    "tune": ("nbench.cli.tune:tune", "Cross-validated hyperparameter search for a model on a task."),
    "sweep": ("nbench.cli.sweep:sweep", "Run a sweep file (serial or Ray), resuming where it stopped."),
    "leaderboard": ("nbench.cli.leaderboard:leaderboard", "Build the static leaderboard site."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (target, _) in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module, _, attr = COMMANDS[cmd_name][0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise click.UsageError(f"no such command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)


def _module_exists(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.partition(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbench")
def cli() -> None:
    """nbench: benchmark models of neural population spiking activity.

    \b
    Run a baseline:     nbench run --task lorenz --model smoothing
    Score your rates:   nbench score submission.h5 --task lorenz
    Compare two runs:   nbench compare A.json B.json
    What is there:      nbench list tasks | models | metrics
    """


class _WarningLines(logging.Handler):
    """nbench's logged warnings as ``warning: ...`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)


def _show_warnings() -> None:
    log = logging.getLogger("nbench")
    if not any(isinstance(h, _WarningLines) for h in log.handlers):
        log.addHandler(_WarningLines(logging.WARNING))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turning user errors into one line and exit code 2."""
    _show_warnings()
    try:
        cli.main(args=argv, prog_name="nbench", standalone_mode=False)
    except NbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "nbench"
        click.echo(f"error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
