"""Output checks that commands run before any work, so a bad path fails in a second, not after a fit."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from nbench.errors import OutputError
from nbench.io import NAME_MAX, check_writable


def check_outputs(out_dir: str | Path | None = None, data_dir: str | Path | None = None,
                  files: Iterable[tuple[str, str | Path | None]] = ()) -> None:
    """One-line :class:`OutputError` now if an output cannot be written later.

    ``out_dir`` (``--out``) must be a folder a record can be written into, and each ``(option, path)`` of
    ``files`` (e.g. ``--save-submission``) a file that can be written, atomically beside its final name;
    nothing is created (:func:`nbench.io.check_writable`). ``data_dir`` (``--data-dir``) may be read-only (a
    shared cache), so only its name is checked here: components the file system accepts, and a folder if it
    exists.
    """
    if out_dir is not None:
        check_writable(Path(out_dir) / "record.json", f"--out {out_dir}")
    for option, path in files:
        if path is not None:
            check_writable(path, f"{option} {path}")
    if data_dir is not None:
        _check_data_dir(Path(data_dir))


def _check_data_dir(path: Path) -> None:
    long = [part for part in path.parts if len(os.fsencode(part)) > NAME_MAX]
    if long:
        raise OutputError(f"--data-dir {path}: a path component has {len(os.fsencode(long[0]))} bytes (file "
                          f"systems allow {NAME_MAX})")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # created when data is first cached
    except OSError as exc:
        raise OutputError(f"--data-dir {path}: unusable path ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISDIR(mode):
        raise OutputError(f"--data-dir {path}: expected a folder, got a file")
