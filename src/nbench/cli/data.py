"""``nbench data``: fetch NLB datasets from DANDI, add files you have, list what is on disk, import nlb_tools tensor
files, export a task's inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.filesize import decimal
from rich.table import Table

from nbench import registry
from nbench.cli.display import console, echo_json
from nbench.data import dandi_fetch
from nbench.data.cache import data_dir as resolve_data_dir
from nbench.data.dandisets import NLB_DANDISETS, NLB_TEST_TARGETS, dandiset_dir, nlb_dandiset, nlb_targets_path
from nbench.data.download import TransferProgress
from nbench.data.nlb_tensors import ImportedDataset, import_tensors, imported_dir, list_imported
from nbench.errors import UnknownNameError

TARGETS_NAME = "nlb_test_targets"
data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="Data directory [default: $NBENCH_DATA_DIR, else $XDG_CACHE_HOME/nbench or ~/.cache/nbench].")


@click.group("data")
def data() -> None:
    """Fetch NLB datasets from DANDI, add files you have, list what is on disk, import nlb_tools tensor files,
    export a task's inputs.

    \b
    Examples:
      nbench data fetch mc_maze_small
      nbench data fetch mc_maze --test-targets
      nbench data add ~/dandi/000140/
      nbench data list
      nbench data import mc_maze_small_val_5ms.h5 --name my_maze --like mc_maze_small
      nbench data export lorenz
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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list on stdout instead of the table.")
def list_(data_dir: str | None, as_json: bool) -> None:
    """Show the known NLB datasets and imported datasets, and what is on disk (verified, partial, missing).

    Version is the pinned DANDI version, or the first digits of the sha256 for single files.
    """
    with TransferProgress(transient=True) as progress:  # hashing only files changed since last verified
        entries = [(name, f"DANDI:{spec.dandiset_id}", spec.version, spec.approx_bytes,
                    dandi_fetch.dataset_state(name, data_dir, progress)) for name, spec in NLB_DANDISETS.items()]
        entries.append((TARGETS_NAME, "nlb_tools", NLB_TEST_TARGETS.sha256[:8], None,
                        {"": dandi_fetch.targets_state(data_dir, progress)}))
    imported = list_imported(data_dir)
    if as_json:
        echo_json([_entry_json(*entry) for entry in entries] + [_imported_json(found) for found in imported])
        return
    table = Table(title=f"nbench data in {resolve_data_dir(data_dir)}", title_justify="left")
    for column in ("name", "source", "version", "size", "on disk"):
        table.add_column(column, justify="right" if column == "size" else "left",
                         no_wrap=column in ("name", "source", "version"))
    for name, source, version, approx, states in entries:
        table.add_row(name, source, version, _size(states, approx), _status(states))
    for found in imported:
        size = found.path.stat().st_size if found.path.exists() else None
        ok = size == found.meta.get("size")
        table.add_row(found.name, "imported", found.sha256[:8], decimal(size) if size is not None else "-",
                      f"[green]imported[/green] {str(found.meta.get('imported_utc', ''))[:10]}" if ok
                      else "[red]changed or missing[/red]")
    console.print(table)


def _entry_json(name: str, source: str, version: str, approx: int | None,
                states: dict[str, dandi_fetch.FileState]) -> dict[str, Any]:
    files = {role or "file": {"path": str(s.path), "state": s.state, "bytes": s.size,
                              "expected_bytes": s.expected_size} for role, s in states.items()}
    return {"name": name, "source": source, "version": version, "approx_bytes": approx, "files": files}


def _imported_json(found: ImportedDataset) -> dict[str, Any]:
    size = found.path.stat().st_size if found.path.exists() else None
    state = "imported" if size == found.meta.get("size") else "changed or missing"
    return {"name": found.name, "source": "imported", "version": found.sha256[:8], "approx_bytes": None,
            "files": {"file": {"path": str(found.path), "state": state, "bytes": size,
                               "expected_bytes": found.meta.get("size")}},
            "like": found.meta.get("like"), "imported_utc": found.meta.get("imported_utc")}


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


@data.command("export")
@click.argument("task")
@click.option("--phase", type=click.Choice(["val", "test"]), default=None, help="Phase [default: the task's].")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output .h5 [default: <task>_<phase>_inputs.h5 in the current directory].")
@data_dir_option
@click.option("--targets", "targets_path", type=click.Path(dir_okay=False), default=None,
              help="NLB test-phase target file (NLB tasks, test phase).")
def export(task: str, phase: str | None, out_path: Path | None, data_dir: str | None,
           targets_path: str | None) -> None:
    """Write TASK's model inputs in NLB's tensor layout, with the trial and unit order of submissions.

    Train your model on the file, predict rates for its train and eval trials in the same order, and score
    them with `nbench score RATES.h5 --task TASK` (docs/byom.md).
    """
    from nbench.tasks import make_task
    from nbench.tasks.export import describe, export_task

    made = make_task(task, data_dir, targets_path)
    resolved = made.resolve_phase(phase)
    path = export_task(made, out_path or Path(f"{task}_{resolved}_inputs.h5"), resolved)
    for line in describe(path):
        click.echo(line)
    console.print(f"exported {task} ({resolved} phase) inputs: {path}", soft_wrap=True, highlight=False)
    click.echo(f"predict rates for these trials in this order, then: nbench score RATES.h5 --task {task}"
               + (f" --phase {resolved}" if resolved != made.info.default_phase else ""))


@data.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--link", is_flag=True, help="Hard-link the files instead of copying them (same file system).")
@click.option("--force", is_flag=True, help="Replace a different file already in the data directory.")
@data_dir_option
def add(path: Path, link: bool, force: bool, data_dir: str | None) -> None:
    """Place NLB files you already have where nbench reads them, checked offline against shipped digests.

    PATH is a file or a folder, such as the one the dandi client downloaded.

    \b
    Example:
      nbench data add 000140/                        # as `dandi download` left it
      nbench data add eval_data_test.h5
    """
    from nbench.data.add import add_file, candidates

    files = candidates(path)
    with TransferProgress(transient=True) as progress:
        added = [add_file(f, data_dir, link=link, force=force, progress=progress) for f in files]
    for item in added:
        state = "verified (sha256 pinned in nbench)" if item.verified else \
            "unverified: no digest of this file ships with nbench; `nbench data fetch " \
            f"{item.dataset}` checks it against DANDI when online"
        verb = "already in place" if item.already else ("linked" if link else "copied")
        console.print(f"{item.dataset} {item.role}: {verb}, {state}: {item.dest}", soft_wrap=True, highlight=False)
