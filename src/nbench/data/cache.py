"""Where nbench keeps data on disk, and how cache files are trusted.

The data directory is, in order of precedence: an explicit ``--data-dir`` (passed down as ``override``), the
``NBENCH_DATA_DIR`` environment variable, or ``$XDG_CACHE_HOME/nbench`` (``~/.cache/nbench``).
Downloaded dandisets live under ``<data dir>/dandi/``, generated synthetic datasets under
``<data dir>/synthetic/``, built NLB arrays under ``<data dir>/cache/nlb/``.

A cache file carries its sha256 in a hidden sidecar ``.<name>.sha256`` written right after it
(:func:`seal_cache`); :func:`read_verified` checks it before the file is opened, because a damaged HDF5 file can
crash the HDF5 library or, worse, load as different data. A bad cache is rebuilt with a one-line notice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from nbench.io import file_sha256, write_json_atomic

ENV_VAR = "NBENCH_DATA_DIR"
T = TypeVar("T")
logger = logging.getLogger(__name__)


def data_dir(override: str | Path | None = None) -> Path:
    """The data directory (not created)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nbench"


def checksum_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.sha256")


def seal_cache(path: Path) -> None:
    """Record the size and sha256 of the cache file just written at ``path``."""
    write_json_atomic(checksum_path(path), {"size": path.stat().st_size, "sha256": file_sha256(path)})


def cache_problem(path: Path) -> str | None:
    """Why the cache file at ``path`` cannot be trusted, or None when it matches its recorded sha256."""
    try:
        recorded = json.loads(checksum_path(path).read_text())
    except (OSError, ValueError):
        return "has no checksum recorded"
    if not isinstance(recorded, dict) or recorded.get("size") != path.stat().st_size \
            or recorded.get("sha256") != file_sha256(path):
        return "does not match the sha256 recorded when it was written (damaged on disk?)"
    return None


def read_verified(path: Path, read: Callable[[Path], T | None]) -> T | None:
    """``read(path)`` when ``path`` exists and matches its recorded sha256; None when it must be (re)built.

    A present but bad file (no checksum, wrong checksum, unreadable, ``read`` returning None) is reported in
    one warning line.
    """
    if not path.is_file():
        return None
    problem = cache_problem(path)
    if problem is None:
        try:
            result = read(path)
        except (OSError, KeyError, ValueError) as exc:
            result, problem = None, f"is unreadable ({type(exc).__name__})"
        if result is not None:
            return result
    logger.warning("%s: cache file %s; rebuilding it", path, problem or "is unreadable")
    return None
