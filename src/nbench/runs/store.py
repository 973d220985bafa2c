"""A results folder shared by any number of processes: one JSON file per key, and a lock per key while it runs.

Layout: ``<root>/<folder>/<key>.json`` (for run records the folder is ``<task>/<model>``), written atomically
(temp file, then rename), so a file is either absent or complete. While a process works on a key it holds an
exclusive ``flock`` on ``<root>/<folder>/.<key>.lock``:

* a second process asking for the key is told it is busy (and tries again later);
* the kernel drops the lock when its holder dies, even by SIGKILL, so a lock can never go stale: the next process
  takes it, removes the dead holder's temp files of that key (``.<key>.*.tmp``; they are written only under the
  lock) and unlinks the lock file when it is done;
* a lock file is unlinked only by its holder, and a process that locked a file that was unlinked meanwhile (its
  inode no longer at the path) drops it and opens the path again, so two processes never both hold one key.

``flock`` works on local file systems and on NFSv4 / Lustre mounted with locking (a Slurm cluster's shared
home); see docs/sweeps.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbench.errors import OutputError, ValidationError
from nbench.io import write_json_atomic
from nbench.results import Record, find_record, legacy_record_paths, load_record, record_path, write_record

LEGACY = re.compile(r"^(?P<key>[0-9a-f]{16})-.+\.json$")
SKIPPED_FOLDERS = ("work",)  # model work files under the results folder, never records


class KeyLock:
    """An exclusive lock on one key, held until :meth:`release`."""

    def __init__(self, path: Path, fd: int, root: Path | None = None) -> None:
        self.path, self.fd, self.root = path, fd, root

    def release(self) -> None:
        """Unlink the lock file (while still holding it, so nobody can take a lock on a path being removed),
        then drop the lock."""
        if self.fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            if _same_file(self.path, self.fd):
                self.path.unlink()
        os.close(self.fd)
        self.fd = -1
        # A run that stored nothing (a dataset not on this machine) leaves no empty <task>/<model> folders.
        folder = self.path.parent
        while self.root is not None and folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty, or already gone
                return
            folder = folder.parent


def _same_file(path: Path, fd: int) -> bool:
    try:
        here, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


def try_lock(path: Path, root: Path | None = None) -> KeyLock | None:
    """Take the exclusive lock ``path`` without waiting; None when another live process holds it. On release, the
    lock's empty folders are removed up to ``root`` (not included)."""
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # another process removed the empty folder between our mkdir and open
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as exc:  # ENOLCK: a network file system mounted without locking
            os.close(fd)
            raise OutputError(f"{path.parent}: cannot lock files here ({exc.strerror}); results folders need a "
                              "file system with flock (docs/sweeps.md)") from None
        if _same_file(path, fd):
            os.ftruncate(fd, 0)
            os.write(fd, f"{socket.gethostname()} pid {os.getpid()} since {time.time():.0f}\n".encode())
            return KeyLock(path, fd, root)
        os.close(fd)  # unlinked by its previous holder between our open and flock: open the path again


@dataclass
class Recovered:
    """What :meth:`KeyedStore.recover` cleaned up."""

    locks: list[Path] = field(default_factory=list)
    temps: list[Path] = field(default_factory=list)
    merged: dict[str, int] = field(default_factory=dict)  # run key -> older per-run files merged into one

    def __str__(self) -> str:
        parts = [f"{len(self.locks)} lock(s) of killed processes", f"{len(self.temps)} temp file(s)"]
        if self.merged:
            parts.append(f"{sum(self.merged.values())} older record file(s) of {len(self.merged)} run key(s) "
                         "merged into one file per key")
        return ", ".join(parts)


class KeyedStore:
    """JSON documents by ``(folder, key)`` under ``root``; each has a ``"status"`` of ``"ok"`` or ``"error"``.

    Parameters
    ----------
    root
        The results folder.
    records
        True when the documents are run records (read and written through :mod:`nbench.results`, which also
        reads the older ``<run_key>-<run_id>.json`` files); False for plain JSON results (tuning folds).
    """

    def __init__(self, root: str | Path, records: bool = True) -> None:
        self.root, self.records = Path(root), records

    def path(self, folder: str, key: str) -> Path:
        return self.root / folder / f"{key}.json"

    def status(self, folder: str, key: str, warn: Callable[[str], None] | None = None) -> str | None:
        """``"ok"``, ``"error"``, or None when the key has no readable result (an unreadable one is reported
        through ``warn`` and counts as none: the key runs again and replaces it)."""
        try:
            doc = self.read(folder, key)
        except ValidationError as exc:
            if warn is not None:
                warn(f"warning: {exc}; the run is repeated")
            return None
        if doc is None:
            return None
        return "ok" if doc.get("status") == "ok" else "error"

    def read(self, folder: str, key: str) -> dict[str, Any] | None:
        """The stored document of ``key``, or None."""
        if self.records:
            task, model = folder.split("/", 1)
            record = find_record(self.root, task, model, key)
            return None if record is None else record.to_dict()
        path = self.path(folder, key)
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{path}: not valid JSON ({exc})") from exc
        return doc if isinstance(doc, dict) else None

    def write(self, folder: str, key: str, doc: dict[str, Any]) -> Path:
        """Write (or atomically replace) the document of ``key``."""
        if self.records:
            return write_record(Record.from_dict(doc, source=f"run {key}"), self.root)
        return write_json_atomic(self.path(folder, key), doc)

    def lock(self, folder: str, key: str) -> KeyLock | None:
        """Lock ``key`` without waiting (None: another process holds it); its stale temp files are removed."""
        held = try_lock(self.root / folder / f".{key}.lock", self.root)
        if held is not None:
            for temp in _temps(self.root / folder, key):
                temp.unlink(missing_ok=True)
        return held

    def recover(self) -> Recovered:
        """Clean up after killed processes: stale locks and their temp files; older per-run record files
        merged into one file per run key. Keys another live process holds are left alone."""
        found = Recovered()
        if not self.root.is_dir():
            return found
        for folder in self._folders():
            keys = {name[1:].split(".", 1)[0] for name in os.listdir(folder)
                    if name.startswith(".") and name.endswith((".lock", ".tmp"))}
            legacy = {m["key"] for name in os.listdir(folder) if (m := LEGACY.match(name))} if self.records else set()
            for key in sorted(keys | legacy):
                with self._held(folder, key, found) as held:
                    if held and key in legacy:
                        found.merged[key] = self._merge(folder, key)
        return found

    @contextlib.contextmanager
    def _held(self, folder: Path, key: str, found: Recovered) -> Iterator[bool]:
        lock_file = folder / f".{key}.lock"
        existed, temps = lock_file.exists(), _temps(folder, key)
        held = self.lock(str(folder.relative_to(self.root)), key)
        if held is None:
            yield False
            return
        found.temps += [t for t in temps if not t.exists()]
        try:
            yield True
        finally:
            held.release()
            if existed:
                found.locks.append(lock_file)

    def _merge(self, folder: Path, key: str) -> int:
        """One ``<key>.json`` from older ``<key>-<run_id>.json`` files (the newest ok one wins); returns how
        many older files there were."""
        old = legacy_record_paths(folder, key)
        if not record_path(self.root, folder.parent.name, folder.name, key).is_file():
            best = max((load_record(p) for p in old), key=lambda r: (r.status == "ok", r.created))
            write_record(best, self.root)  # removes the older files of the key
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)

    def _folders(self) -> list[Path]:
        """``<root>/<a>/<b>`` folders (task/model for records), except model work folders."""
        out = []
        for first in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name not in SKIPPED_FOLDERS):
            out += sorted(p for p in first.iterdir() if p.is_dir())
        return out


def _temps(folder: Path, key: str) -> list[Path]:
    """Temp files of ``key`` (``.<key>.json.<random>.tmp``, ``.<key>.h5.<random>.tmp`` ...)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [folder / n for n in names if n.startswith(f".{key}.") and n.endswith(".tmp")]
