"""Resumable, verified HTTP downloads into the data directory.

A file is written to ``<dest>.part`` beside its final place. An interrupted download resumes from the
part's size with an HTTP ``Range`` request (automatically a few times, then on the next run). Once complete,
the part's digest is compared with the expected one and only then renamed onto ``dest``, so a final file
always has the expected content: a failure or Ctrl-C leaves at most the resumable ``.part`` file.

A verified file gets a hidden sidecar ``.<name>.nbench.json`` holding its digest, size and mtime, so checking
it again is a ``stat`` instead of hashing hundreds of megabytes; when the size or mtime changes, the file is
hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from nbench import __version__
from nbench.errors import DataError
from nbench.extras import require
from nbench.io import write_json_atomic

CHUNK = 1 << 20  # read size when hashing files
NET_CHUNK = 1 << 16  # read size from the network; a dropped connection loses at most this much
TIMEOUT = (30, 60)  # connect, read (seconds)
ATTEMPTS = 4  # connection attempts per call; each resumes where the previous one stopped
RETRY_WAIT_S = 1.0  # wait before attempt k is k * RETRY_WAIT_S
Advance = Callable[[int], None]


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: where from, how big, and its expected digest.

    Attributes
    ----------
    label
        Short name used in messages (the asset path).
    url
        Download URL (redirects are followed; the server should honour ``Range``).
    size
        Expected size in bytes.
    digest, algorithm
        Expected hex digest; ``algorithm`` is ``"sha256"`` or ``"dandi-etag"`` (DANDI's multipart md5 etag,
        the fallback for assets without a sha256 in their metadata).
    source
        Provenance stored in the sidecar (dandiset, version, asset id ...).
    """

    label: str
    url: str
    size: int
    digest: str
    algorithm: str = "sha256"
    source: dict[str, Any] = field(default_factory=dict)


class _Interrupted(Exception):
    """A transient failure (connection lost, short read, 5xx): resume from the part's size."""


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sidecar_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.nbench.json")


def file_digest(path: Path, algorithm: str = "sha256", advance: Advance | None = None) -> str:
    """Hex digest of a file (``"sha256"`` or ``"dandi-etag"``), reporting bytes read to ``advance``."""
    if algorithm == "dandi-etag":
        require("dandischema", "checking a DANDI etag")
        from dandischema.digests.dandietag import DandiETag

        return DandiETag.from_file(path).as_str()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            if advance:
                advance(len(block))
    return digest.hexdigest()


def cached_digest(dest: Path) -> dict[str, Any] | None:
    """The sidecar of ``dest`` if it still describes the file (same size and mtime), else None."""
    side = sidecar_path(dest)
    try:
        info = json.loads(side.read_text())
        stat = dest.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    fresh = info.get("size") == stat.st_size and info.get("mtime_ns") == stat.st_mtime_ns
    return info if fresh else None


def record_verified(dest: Path, remote: RemoteFile) -> None:
    """Write the sidecar saying ``dest`` was checked against ``remote``'s digest just now."""
    stat = dest.stat()
    write_json_atomic(sidecar_path(dest), {
        "algorithm": remote.algorithm, "digest": remote.digest,
        "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "verified_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "url": remote.url, "source": remote.source, "nbench": __version__,
    })


def is_verified(dest: Path, remote: RemoteFile, progress: Any = None) -> bool:
    """True when ``dest`` has ``remote``'s size and digest (hashing, with a bar, only if the sidecar is stale)."""
    try:
        size = dest.stat().st_size
    except OSError:
        return False
    if size != remote.size:
        return False
    info = cached_digest(dest)
    if info is not None and info.get("algorithm") == remote.algorithm:
        return info.get("digest") == remote.digest
    advance = progress.task(f"checking {dest.name}", size) if progress is not None else None
    if file_digest(dest, remote.algorithm, advance) != remote.digest:
        return False
    record_verified(dest, remote)
    return True


def download(remote: RemoteFile, dest: Path, *, session: Any = None, progress: Any = None,
             check: Callable[[Path], None] | None = None) -> Path:
    """Download ``remote`` to ``dest`` through a resumable ``.part`` file; verify; rename atomically.

    Parameters
    ----------
    remote
        What to fetch and its expected size and digest.
    dest
        Final path; its folder is created.
    session
        A ``requests.Session`` (a new one by default).
    progress
        A :class:`TransferProgress` (or None for silence).
    check
        Called on the complete, digest-verified part before it is renamed (e.g. an NWB identity check); if it
        raises, the part is removed and nothing reaches ``dest``.

    Raises
    ------
    DataError
        One line: interrupted (the ``.part`` is kept for the next run), HTTP error, size or digest mismatch
        (the ``.part`` is removed), or another process downloading the same file.
    """
    requests = require("requests", "downloading")

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    session = session or requests.Session()
    with _locked_append(part) as fh:
        sha = _hash_prefix(fh, remote)
        advance = progress.task(Path(remote.label).name, remote.size, fh.tell()) if progress else None
        for attempt in range(1, ATTEMPTS + 1):
            if fh.tell() >= remote.size:
                break
            try:
                sha = _fetch_rest(session, remote, fh, sha, advance)
            except _Interrupted as exc:
                if attempt == ATTEMPTS:
                    raise _gave_up(fh, remote, exc) from None
                time.sleep(RETRY_WAIT_S * attempt)
        _finish(fh, part, dest, remote, sha, check)
    record_verified(dest, remote)
    return dest


@contextlib.contextmanager
def _locked_append(part: Path) -> Iterator[IO[bytes]]:
    """Open ``part`` for appending while holding an exclusive lock, so two processes never write one part.

    The lock is on a hidden ``.<name>.lock`` beside it (HDF5 locks the part itself when it is checked).
    """
    lock_path = part.with_name(f".{part.name}.lock")
    with open(lock_path, "ab") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise DataError(f"{part}: another process is downloading this file; wait for it to finish") \
                    from None
        try:
            with open(part, "ab") as fh:
                fh.seek(0, os.SEEK_END)
                yield fh
        finally:
            with contextlib.suppress(OSError):
                if part.stat().st_size == 0:  # nothing to resume: leave no empty part behind
                    part.unlink()
            lock_path.unlink(missing_ok=True)


def _gave_up(fh: IO[bytes], remote: RemoteFile, exc: _Interrupted) -> DataError:
    """The error after the last attempt (a part that never received a byte is removed on the way out)."""
    if fh.tell() == 0:
        return DataError(f"{remote.label}: cannot download from {_host(remote.url)} ({exc}); check the network "
                         "and run the same command again")
    return DataError(f"{remote.label}: download interrupted at {fh.tell():,} of {remote.size:,} bytes ({exc}); "
                     "run the same command again to resume")


def _hash_prefix(fh: IO[bytes], remote: RemoteFile) -> Any:
    """sha256 state over the bytes already in the part (None for dandi-etag, computed at the end)."""
    if fh.tell() > remote.size:  # longer than the file can be: start over
        fh.truncate(0)
        fh.seek(0, os.SEEK_END)
    if remote.algorithm != "sha256":
        return None
    sha = hashlib.sha256()
    with open(fh.name, "rb") as rd:
        while block := rd.read(CHUNK):
            sha.update(block)
    return sha


def _fetch_rest(session: Any, remote: RemoteFile, fh: IO[bytes], sha: Any, advance: Advance | None) -> Any:
    """Append the bytes from the part's size to the end; return the updated hash state."""
    import requests

    offset = fh.tell()
    headers = {"Accept-Encoding": "identity"}  # byte counts and ranges refer to the stored bytes
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with session.get(remote.url, headers=headers, stream=True, timeout=TIMEOUT) as resp:
            offset, sha = _check_response(resp, remote, fh, offset, sha)
            for chunk in resp.iter_content(NET_CHUNK):
                if fh.tell() + len(chunk) > remote.size:
                    _discard(fh)
                    raise DataError(f"{remote.label}: server sent more than the expected {remote.size:,} "
                                    "bytes (size mismatch); the partial download was removed")
                fh.write(chunk)
                if sha is not None:
                    sha.update(chunk)
                if advance:
                    advance(len(chunk))
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise _Interrupted(_reason(exc)) from None
    except requests.RequestException as exc:  # redirect loop, redirect to file:// or gopher://, bad URL
        raise DataError(f"{remote.label}: download from {_host(remote.url)} failed ({type(exc).__name__}: "
                        f"{_reason(exc)})") from None
    finally:
        fh.flush()
    if fh.tell() < remote.size:
        raise _Interrupted("connection closed early")
    return sha


def _check_response(resp: Any, remote: RemoteFile, fh: IO[bytes], offset: int, sha: Any) -> tuple[int, Any]:
    """Validate status and ranges before any byte is written; restart from 0 if ``Range`` was ignored."""
    if resp.status_code >= 500:
        raise _Interrupted(f"HTTP {resp.status_code}")
    if resp.status_code == 416:  # the server has fewer bytes than the part already holds
        _discard(fh)
        raise DataError(f"{remote.label}: server cannot send bytes from {offset:,} on (HTTP 416; expected "
                        f"{remote.size:,} bytes in all, size mismatch); the partial download was removed")
    if resp.status_code >= 400:
        raise DataError(f"{remote.label}: HTTP {resp.status_code} {resp.reason} from {_host(resp.url)}")
    if offset and resp.status_code == 200:  # server ignored Range: take the whole body
        fh.truncate(0)
        fh.seek(0)
        offset, sha = 0, (hashlib.sha256() if sha is not None else None)
    if resp.status_code == 206:
        start, total = _content_range(resp.headers.get("Content-Range", ""))
        if start != offset or total not in (None, remote.size):
            _discard(fh)
            raise DataError(f"{remote.label}: server range {resp.headers.get('Content-Range')!r} does not "
                            f"match the expected bytes {offset}-{remote.size - 1}/{remote.size} "
                            "(size mismatch); the partial download was removed")
    length = resp.headers.get("Content-Length")
    if length is not None and not length.strip().isdigit():
        raise DataError(f"{remote.label}: server {_host(resp.url)} sent an invalid Content-Length "
                        f"{length[:40]!r} (expected a number of bytes)")
    if resp.headers.get("Content-Encoding") in (None, "identity") and length is not None \
            and int(length) != remote.size - offset:
        _discard(fh)
        raise DataError(f"{remote.label}: server announces {offset + int(length):,} bytes, expected "
                        f"{remote.size:,} (size mismatch); the partial download was removed")
    return offset, sha


def _finish(fh: IO[bytes], part: Path, dest: Path, remote: RemoteFile, sha: Any,
            check: Callable[[Path], None] | None) -> None:
    """Check size and digest of the complete part, then rename it onto ``dest`` (still under the lock)."""
    size = fh.tell()
    fh.flush()
    os.fsync(fh.fileno())
    if size != remote.size:
        _discard(fh)
        raise DataError(f"{remote.label}: downloaded {size:,} bytes, expected {remote.size:,} "
                        "(size mismatch); the partial download was removed")
    got = sha.hexdigest() if sha is not None else file_digest(part, remote.algorithm)
    if got != remote.digest:
        _discard(fh)
        raise DataError(f"{remote.label}: {remote.algorithm} mismatch (expected {remote.digest}, got {got}); "
                        "the download was removed, run again to retry")
    if check is not None:
        try:
            check(part)
        except Exception:
            _discard(fh)
            raise
    fh.close()  # before the rename, which Windows refuses on an open file (the lock file stays held)
    sidecar_path(dest).unlink(missing_ok=True)
    os.replace(part, dest)


def _discard(fh: IO[bytes]) -> None:
    """Remove a part whose content is wrong (resuming it could never succeed)."""
    fh.truncate(0)
    Path(fh.name).unlink(missing_ok=True)


def _content_range(value: str) -> tuple[int | None, int | None]:
    """``"bytes 10-99/100"`` -> (10, 100); unknown parts are None."""
    try:
        unit, _, spec = value.partition(" ")
        span, _, total = spec.partition("/")
        return int(span.split("-")[0]), (None if total == "*" else int(total))
    except ValueError:
        return None, None


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


class TransferProgress:
    """Rich progress bars for downloads and hashing, on stderr when it is a terminal; silent when ``enabled`` is
    False."""

    def __init__(self, enabled: bool = True, transient: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(stderr=True)  # bars only on a terminal: elsewhere they would leave stray blank lines
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(),
                                  console=console, disable=not (enabled and console.is_terminal), transient=transient)

    def __enter__(self) -> TransferProgress:
        self._started = False  # the display starts with the first bar, so an early error prints only its line
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def task(self, label: str, total: int, completed: int = 0) -> Advance:
        """Add a bar; return the function that advances it by a number of bytes."""
        if not self._started:
            self._progress.start()
            self._started = True
        task_id = self._progress.add_task(label, total=total, completed=completed)
        return lambda n: self._progress.advance(task_id, n)

    def note(self, text: str) -> None:
        """Print a line above the bars."""
        self._progress.console.print(text, highlight=False, markup=False)
