"""Files a user already has (``nbench data add PATH``): NLB NWB files downloaded with the dandi client, or NLB's
test-phase target file, placed where nbench reads them and verified offline where a digest ships with nbench.

An NWB file is recognised by its header (subject and session identify the NLB dataset, as
:func:`nbench.data.dandi_fetch.check_nwb_identity` checks) and its file name (the train or test asset). A
directory is searched for such files, so the dandi client's layout (``<dandiset id>/sub-*/...nwb``) can be
given as it is. A file whose size or sha256 differs from a shipped digest is refused; a file without a shipped
digest is placed *unverified* (``nbench data fetch NAME`` verifies it against DANDI when online). Files are
copied through a temporary file (or hard-linked with ``link``), never moved.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbench.data.cache import data_dir
from nbench.data.dandi_fetch import nwb_identity, pinned_remote
from nbench.data.dandisets import NLB_DANDISETS, NLB_TEST_TARGETS, NlbDandiset
from nbench.data.download import RemoteFile, file_digest, record_verified
from nbench.errors import DataError
from nbench.io import atomic_path


@dataclass(frozen=True)
class Added:
    """One file placed in the data directory."""

    source: Path
    dest: Path
    dataset: str
    role: str  # "train", "test" or "targets"
    verified: bool  # its sha256 matched a digest shipped with nbench
    already: bool = False  # the same file was there already


def candidates(path: Path) -> list[Path]:
    """``path`` itself, or the NWB files and ``eval_data_test.h5`` under a directory (sorted)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    found = sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix == ".nwb" or
                                                                  p.name == NLB_TEST_TARGETS.name))
    if not found:
        raise DataError(f"{path}: no NWB files or {NLB_TEST_TARGETS.name} in this directory")
    return found


def identify(path: Path) -> tuple[str, str, str, RemoteFile | None]:
    """(dataset, role, where it goes relative to the data directory, shipped digest or None) of a file."""
    if path.name == NLB_TEST_TARGETS.name:
        pinned = NLB_TEST_TARGETS
        remote = RemoteFile(label=pinned.name, url=pinned.url, size=pinned.size, digest=pinned.sha256)
        return "nlb_test_targets", "targets", pinned.relpath, remote
    spec = _dataset_of(path)
    for role, asset in (("train", spec.train_path), ("test", spec.test_path)):
        if Path(asset).name == path.name:
            return spec.name, role, f"dandi/{spec.dandiset_id}/{spec.version}/{asset}", pinned_remote(spec, asset)
    raise DataError(f"{path}: an NWB file of {spec.name} but not named as its DANDI assets "
                    f"({Path(spec.train_path).name} or {Path(spec.test_path).name})")


def _dataset_of(path: Path) -> NlbDandiset:
    """The NLB dataset whose recording (subject and session in the NWB header) ``path`` holds."""
    subject, session = nwb_identity(path)
    for spec in NLB_DANDISETS.values():
        if (spec.subject, spec.session_id) == (subject, session):
            return spec
    raise DataError(f"{path}: not an NLB'21 NWB file (subject {subject!r}, session {session!r}; known: "
                    f"{', '.join(f'{s.name} ({s.subject}/{s.session_id})' for s in NLB_DANDISETS.values())})")


def add_file(path: Path, root: str | Path | None = None, *, link: bool = False, force: bool = False,
             progress: Any = None) -> Added:
    """Check ``path`` and place it in the data directory (module docstring)."""
    dataset, role, rel, remote = identify(path)
    dest = data_dir(root) / rel
    size = path.stat().st_size
    if remote is not None and size != remote.size:
        raise DataError(f"{path}: {size:,} bytes, expected {remote.size:,} for {rel} (truncated or another file)")
    digest = file_digest(path, "sha256", _advance(progress, path, size)) if remote is not None else None
    if remote is not None and digest != remote.digest:
        raise DataError(f"{path}: sha256 {digest[:12]}... differs from the pinned {remote.digest[:12]}... of {rel}")
    if dest.exists():
        if dest.resolve() == path.resolve() or (digest is not None and dest.stat().st_size == size
                                                and file_digest(dest) == digest):
            return Added(path, dest, dataset, role, remote is not None, already=True)
        if not force:
            raise DataError(f"{dest}: another file is already there; pass --force to replace it")
    _place(path, dest, link)
    if remote is not None:
        record_verified(dest, remote)
    return Added(path, dest, dataset, role, remote is not None)


def _place(path: Path, dest: Path, link: bool) -> None:
    """Copy (or hard-link) ``path`` to ``dest`` through a temporary name, so ``dest`` is never partial."""
    with atomic_path(dest) as tmp:
        if link:
            tmp.unlink()
            try:
                os.link(path, tmp)
            except OSError as exc:
                raise DataError(f"{path}: cannot hard-link into {dest.parent} ({exc.strerror}); add it without "
                                "--link to copy it") from None
        else:
            shutil.copyfile(path, tmp)


def _advance(progress: Any, path: Path, size: int) -> Any:
    return progress.task(f"checking {path.name}", size) if progress is not None else None
