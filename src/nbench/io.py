"""File helpers shared by every writer and reader: atomic writes and guarded HDF5 opening."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py

from nbench.errors import ValidationError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` only if the block succeeds.

    Readers never see a partial file, and a failure leaves nothing behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json_atomic(dest: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``dest`` atomically; return ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")
    return Path(dest)


def open_h5_checked(path: str | Path, what: str = "HDF5 file") -> h5py.File:
    """Open an HDF5 file read-only after checking that it exists and is HDF5.

    Raises
    ------
    ValidationError
        One line naming the file when it is missing, not HDF5, or unreadable (e.g. truncated).
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"{path}: {what} not found")
    if path.is_dir():
        raise ValidationError(f"{path}: expected a {what}, got a directory")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != HDF5_SIGNATURE:
        raise ValidationError(f"{path}: not an HDF5 file (expected signature {HDF5_SIGNATURE!r}, got {head!r})")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{path}: unreadable HDF5 file, perhaps truncated ({reason})") from exc


def refuse_links(h5: h5py.Group, path: str | Path) -> None:
    """Raise if any object under ``h5`` is an external or soft link (never followed)."""
    bad: list[str] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            bad.append(name)

    h5.visititems_links(visit) if hasattr(h5, "visititems_links") else _walk_links(h5, "", visit)
    if bad:
        raise ValidationError(f"{path}: key {bad[0]!r} is an HDF5 link (expected a dataset or group; "
                              "external and soft links are refused)")


def _walk_links(group: h5py.Group, prefix: str, visit: Any) -> None:
    for name in group:
        link = group.get(name, getlink=True)
        full = f"{prefix}{name}"
        visit(full, link)
        if isinstance(link, h5py.HardLink) and isinstance(group[name], h5py.Group):
            _walk_links(group[name], full + "/", visit)
