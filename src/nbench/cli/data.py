"""``nbench data``: fetch NLB datasets from DANDI, list what is on disk, import nlb_tools tensor files."""

from __future__ import annotations

from pathlib import Path

import click
from rich.filesize import decimal
from rich.table import Table

from nbench import registry
from nbench.cli.display import console
from nbench.data import dandi_fetch
from nbench.data.cache import data_dir as resolve_data_dir
from nbench.data.dandisets import NLB_DANDISETS, NLB_TEST_TARGETS, dandiset_dir, nlb_dandiset, nlb_targets_path
from nbench.data.download import TransferProgress
from nbench.data.nlb_tensors import import_tensors, imported_dir, list_imported
from nbench.errors import UnknownNameError

TARGETS_NAME = "nlb_test_targets"
data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Data directory [default: $NBENCH_DATA_DIR, else $XDG_CACHE_HOME/nbench or ~/.cache/nbench].")


@click.group("data")
def data() -> None:
    """Fetch NLB datasets from DANDI, list what is on disk, import nlb_tools tensor files.

    \b
    Examples:
      nbench data fetch mc_maze_small
      nbench data fetch mc_maze --test-targets
      nbench data list
      nbench data import mc_maze_small_val_5ms.h5 --name my_maze --like mc_maze_small
    """


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--test-targets", is_flag=True,
              help="Also fetch NLB's public test-phase targets eval_data_test.h5 (106 MB; all datasets).")
@click.option("--force", is_flag=True, help="Delete files already on disk and download them again.")
@data_dir_option
def fetch(names: tuple[str, ...], test_targets: bool, force: bool, data_dir: str | None) -> None:
    """Download datasets NAMES (pinned DANDI versions), verify their sha256, and cache them.

    NAMES are NLB datasets (mc_maze_small ...), IBL sessions (ibl_03d9a098 ...) or `ibl` (every IBL session
    nbench knows, about 0.4-1.2 GB each). An interrupted download resumes where it stopped when the command is
    run again. Files already on disk are verified instead of downloaded again.
    """
    from nbench.data.ibl.catalog import IBL_SESSIONS

    if not names and not test_targets:
        raise click.UsageError("name at least one dataset (see `nbench data list`) or pass --test-targets")
    for name in names:  # every name checked before anything is downloaded
        if name != "ibl" and name not in IBL_SESSIONS:
            nlb_dandiset(name)
    with TransferProgress() as progress:
        for name in names:
            paths = dandi_fetch.fetch(name, data_dir, force=force, progress=progress)
            spec = NLB_DANDISETS.get(name) or next(iter(IBL_SESSIONS.values()))
            progress.note(f"{name}: DANDI {spec.dandiset_id}/{spec.version}, {len(paths)} files verified in "
                          f"{dandiset_dir(spec, data_dir)}")
        if test_targets:
            path = dandi_fetch.fetch_test_targets(data_dir, force=force, progress=progress)
            progress.note(f"NLB test-phase targets verified: {path}")


@data.command("list")
@data_dir_option
def list_(data_dir: str | None) -> None:
    """Show the known NLB datasets and imported datasets, and what is on disk (verified, partial, missing).

    Version is the pinned DANDI version, or the first digits of the sha256 for single files.
    """
    table = Table(title=f"nbench data in {resolve_data_dir(data_dir)}", title_justify="left")
    for column in ("name", "source", "version", "size", "on disk"):
        table.add_column(column, justify="right" if column == "size" else "left",
                         no_wrap=column in ("name", "source", "version"))
    with TransferProgress(transient=True) as progress:  # hashing only files changed since last verified
        for name, spec in NLB_DANDISETS.items():
            states = dandi_fetch.dataset_state(name, data_dir, progress)
            table.add_row(name, f"DANDI:{spec.dandiset_id}", spec.version, _size(states, spec.approx_bytes),
                          _status(states))
        target = dandi_fetch.targets_state(data_dir, progress)
        table.add_row(TARGETS_NAME, "nlb_tools", NLB_TEST_TARGETS.sha256[:8], _size({"": target}, None),
                      _status({"": target}))
    for found in list_imported(data_dir):
        size = found.path.stat().st_size if found.path.exists() else None
        ok = size == found.meta.get("size")
        table.add_row(found.name, "imported", found.sha256[:8], decimal(size) if size is not None else "-",
                      f"[green]imported[/green] {str(found.meta.get('imported_utc', ''))[:10]}" if ok
                      else "[red]changed or missing[/red]")
    console.print(table)


def _size(states: dict[str, dandi_fetch.FileState], approx: int | None) -> str:
    """Bytes on disk, or the expected size (``~``) when nothing is there yet."""
    on_disk = sum(s.size or 0 for s in states.values() if s.state != "partial")
    if on_disk:
        return decimal(on_disk)
    known = sum(s.expected_size or 0 for s in states.values()) or approx
    return f"~{decimal(known)}" if known else "?"


def _status(states: dict[str, dandi_fetch.FileState]) -> str:
    """One word when all files agree, else one entry per file (``train verified, test partial 40%``)."""
    kinds = {s.state for s in states.values()}
    if len(kinds) == 1 and kinds & {"verified", "missing", "unverified"}:
        return {"verified": "[green]verified[/green]", "missing": "[dim]missing[/dim]",
                "unverified": "[yellow]unverified[/yellow]"}[kinds.pop()]
    parts = []
    for role, s in states.items():
        detail = s.state
        if s.state == "partial":
            done = s.size or 0
            detail += f" {100 * done / s.expected_size:.0f}%" if s.expected_size else f" {decimal(done)}"
        color = {"verified": "green", "corrupt": "red", "partial": "yellow", "unverified": "yellow"}.get(s.state,
                                                                                                        "dim")
        parts.append(f"[{color}]{f'{role} ' if role else ''}{detail}[/{color}]")
    return ", ".join(parts)


@data.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Name of the new dataset and of its task.")
@click.option("--bin-ms", type=float, default=None,
              help="Bin width in ms [default: from an NLB group name, or '<n>ms' in the file name].")
@click.option("--like", default=None, metavar="DATASET",
              help="The NLB dataset the file comes from (e.g. mc_maze_small): models use that dataset's presets.")
@click.option("--force", is_flag=True, help="Replace an earlier import of the same name.")
@data_dir_option
def import_(file: Path, name: str, bin_ms: float | None, like: str | None, force: bool, data_dir: str | None) -> None:
    """Import an nlb_tools tensor .h5 FILE (train_spikes_heldin, ..., eval_spikes_heldout) as a dataset.

    The file is validated and copied into the data directory; afterwards `nbench run --task NAME` and
    `nbench score FILE.h5 --task NAME` use it (phase val: the file's train trials, scored on its eval trials).
    """
    imported = {d.name for d in list_imported(data_dir)}
    taken = tuple(n for n in registry.names("tasks", data_dir) if n not in imported)
    found = import_tensors(file, name, data_dir, bin_ms=bin_ms, force=force, taken=taken, like=like)
    shapes = found.meta["shapes"]
    trials, bins, heldin = shapes["train_spikes_heldin"]
    click.echo(f"imported {file} as {name!r}: {trials} train / {shapes['eval_spikes_heldin'][0]} eval trials, "
               f"{bins} bins of {found.bin_ms:g} ms, {heldin} held-in / {shapes['train_spikes_heldout'][2]} "
               f"held-out neurons -> {found.path}")
    if found.meta["ignored_keys"]:
        click.echo(f"ignored keys: {', '.join(found.meta['ignored_keys'])}")
    from nbench.tasks.imported import family_of

    family = family_of(found)
    click.echo(f"model presets: the {family} family" if family else
               "model presets: none (generic defaults); pass --like DATASET if the file comes from an NLB dataset")
    click.echo(f"try: nbench run --task {name} --model smoothing")


@data.command("path")
@click.argument("name", required=False)
@data_dir_option
def path(name: str | None, data_dir: str | None) -> None:
    """Print where the files of dataset NAME go (without NAME: the data directory)."""
    if name is None:
        click.echo(resolve_data_dir(data_dir))
    elif name in NLB_DANDISETS:
        click.echo(dandiset_dir(NLB_DANDISETS[name], data_dir))
    elif name == TARGETS_NAME:
        click.echo(nlb_targets_path(data_dir))
    elif (imported_dir(data_dir) / f"{name}.json").exists():
        click.echo(imported_dir(data_dir) / f"{name}.h5")
    else:
        known = [*NLB_DANDISETS, TARGETS_NAME, *(d.name for d in list_imported(data_dir))]
        raise UnknownNameError(f"unknown dataset {name!r} (known: {', '.join(known)})")
