"""File helpers shared by every writer and reader: atomic writes, guarded YAML reading and HDF5 opening."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from nbench.errors import NbenchError, OutputError, ValidationError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NAME_MAX = 255  # bytes in one path component on ext4, XFS, APFS; NTFS counts UTF-16 units
MAX_H5_OBJECTS = 10_000
MAX_COMPRESSION = 1100  # declared / stored bytes; deflate's limit is about 1032
MIN_CHECKED_BYTES = 2**20  # groups, datasets and links in a submission or target file (they hold a few dozen)


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
# Temp names carry host and pid, so a later run can tell the leftovers of a killed process from live ones.
_TEMP = re.compile(r"\.nbtmp-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[^/]*$")


def temp_prefix(name: str) -> str:
    """Prefix of a hidden temporary file or folder for ``name``, tagged with this host and process."""
    return f".{name}.nbtmp-{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists (another user's), or cannot tell: keep its files
    return True


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the temporary files and folders that processes of this host left in ``folder`` when killed.

    Only names made by :func:`temp_prefix` whose process no longer runs are removed; returns them.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _TEMP.search(entry.name)
        if not entry.name.startswith(".") or match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def file_mode() -> int:
    """Mode of a newly created file under the current umask (``mkstemp`` itself always makes 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def make_temp_file(dest: Path, label: str | None = None) -> Path:
    """Create an empty hidden temp file beside ``dest`` (creating its folder; stale temps there are removed).

    Raises
    ------
    OutputError
        One line naming the folder when it cannot be created or written (permissions, read-only file system,
        a name longer than the file system allows).
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(dest.parent)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(dest.name), suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise OutputError(f"{label or dest}: cannot write here ({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    return Path(tmp)


def check_writable(dest: str | Path, label: str | None = None) -> None:
    """Fail now, with one line starting with ``label`` (default: the path), if ``dest`` could not be written
    atomically later (commands check their outputs before any work). Nothing is left behind: in an existing
    folder a temp file is made and removed; folders still to be made are checked on their nearest existing
    ancestor (write permission) and by the length of their names."""
    dest = Path(dest).absolute()
    label = label or str(dest)
    if os.path.isdir(dest):
        raise OutputError(f"{label}: expected a file name, got a folder")
    temp_name = f"{temp_prefix(dest.name)}12345678.tmp"
    long = [part for part in (*dest.parts, temp_name) if len(os.fsencode(part)) > NAME_MAX]
    if long:
        raise OutputError(f"{label}: cannot write here (a name of {len(os.fsencode(long[0]))} bytes; file systems "
                          f"allow {NAME_MAX}, and a temp file adds {len(temp_name) - len(dest.name)})")
    existing = dest.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing == dest.parent:
        make_temp_file(dest, label).unlink()
    elif not os.path.isdir(existing):
        raise OutputError(f"{label}: cannot write here ({existing} is a file, not a folder)")
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: cannot write here ({existing} is not writable)")


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` only if the block succeeds.

    Readers never see a partial file, and a failure leaves nothing behind (a killed process's temp file is
    removed by the next write into that folder). The file gets the umask's usual mode.
    """
    dest = Path(dest)
    tmp_path = make_temp_file(dest)
    try:
        yield tmp_path
        os.chmod(tmp_path, file_mode())
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(dest: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``dest`` atomically; return ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")
    return Path(dest)


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases: a few lines of nested aliases expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} (aliases are refused)",
                                              event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with the safe loader, refusing aliases (raises ``yaml.YAMLError``)."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


def read_yaml(path: str | Path, max_bytes: int, error: type[NbenchError] = ValidationError,
              what: str = "YAML file") -> Any:
    """Read a small YAML file: at most ``max_bytes``, UTF-8, no aliases; problems raise one-line ``error``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {size:,} bytes, expected at most {max_bytes:,}")
        return load_yaml_text(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not valid UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: not valid YAML{where} ({problem})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None


def hdf5_offset(path: Path) -> int | None:
    """Where the HDF5 superblock starts: 0, or 512, 1024, 2048 ... after a user block; None if not HDF5."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset + len(HDF5_SIGNATURE) <= size:
            fh.seek(offset)
            if fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return offset
            offset = 512 if offset == 0 else offset * 2
    return None


def open_h5_checked(path: str | Path, what: str = "HDF5 file") -> h5py.File:
    """Open an HDF5 file read-only after checking that it exists and is HDF5 (a user block is allowed).

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
    if hdf5_offset(path) is None:
        with open(path, "rb") as fh:
            head = fh.read(8)
        raise ValidationError(f"{path}: not an HDF5 file (expected signature {HDF5_SIGNATURE!r} at offset 0, "
                              f"512, 1024 ..., got {head!r} at 0)")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{path}: unreadable HDF5 file, perhaps truncated ({reason})") from exc


def h5_kind(obj: Any) -> str:
    """What an HDF5 object is, for messages: a group, a committed datatype, a dataset (with its dataspace)."""
    if isinstance(obj, h5py.Group):
        return "a group"
    if isinstance(obj, h5py.Datatype):
        return "a committed datatype"
    if isinstance(obj, h5py.Dataset):
        return "a dataset with a null dataspace (no shape, no data)" if obj.shape is None else \
            f"a dataset of shape {obj.shape}"
    return type(obj).__name__


def is_array(obj: Any) -> bool:
    """True for an HDF5 dataset that has a shape (not a group, committed datatype or null dataspace)."""
    return isinstance(obj, h5py.Dataset) and obj.shape is not None


def storage_problem(dataset: h5py.Dataset) -> str | None:
    """Why a dataset's declared size is implausible for what the file stores, or None.

    A few hundred bytes of HDF5 can declare gigabytes that were never written (read back as fill values): such a
    dataset is refused before anything is allocated. Deflate cannot compress beyond about 1032:1, so a dataset
    of more than 1 MiB declaring over 1100 times the bytes it stores is refused.
    """
    declared = int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    if declared <= MIN_CHECKED_BYTES or declared <= MAX_COMPRESSION * stored:
        return None
    return (f"declares {declared:,} bytes but stores {stored:,} bytes (never written, or compressed beyond what "
            "HDF5's filters can do); refused before reading")


def refuse_links(h5: h5py.Group, path: str | Path, max_objects: int = MAX_H5_OBJECTS) -> None:
    """Raise if any object under ``h5`` is an external or soft link (never followed), a group reached by more
    than one hard link (a cycle), or if there are more than ``max_objects`` objects (the walk stops there)."""
    problem: list[str] = []
    count = 0

    def visit(name: str, link: Any) -> bool | None:
        nonlocal count
        count += 1
        if count > max_objects:
            problem.append(f"more than {max_objects:,} objects (expected a few groups of a few datasets)")
            return True
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            problem.append(f"key {name!r} is an HDF5 link (expected a dataset or group; external and soft "
                           "links are refused)")
            return True
        info = h5py.h5o.get_info(h5.id, name.encode())
        if info.type == h5py.h5o.TYPE_GROUP and info.rc > 1:
            problem.append(f"key {name!r} is one of {info.rc} hard links to the same group (hard-link cycles "
                           "and shared groups are refused)")
            return True
        return None

    if hasattr(h5, "visititems_links"):
        h5.visititems_links(visit)
    else:
        _walk_links(h5, "", visit)
    if problem:
        raise ValidationError(f"{path}: {problem[0]}")


def _walk_links(group: h5py.Group, prefix: str, visit: Any) -> bool:
    """``visititems_links`` for h5py < 3.11; ``visit`` returning True stops the walk (it does on a cycle)."""
    for name in group:
        link = group.get(name, getlink=True)
        full = f"{prefix}{name}"
        if visit(full, link):
            return True
        if isinstance(link, h5py.HardLink) and isinstance(group[name], h5py.Group) \
                and _walk_links(group[name], full + "/", visit):
            return True
    return False
