"""Where nbench keeps data on disk.

The data directory is, in order of precedence: an explicit ``--data-dir`` (passed down as ``override``), the
``NBENCH_DATA_DIR`` environment variable, or ``$XDG_CACHE_HOME/nbench`` (``~/.cache/nbench``).
Downloaded dandisets live under ``<data dir>/dandi/``, generated synthetic datasets under
``<data dir>/synthetic/``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "NBENCH_DATA_DIR"


def data_dir(override: str | Path | None = None) -> Path:
    """The data directory (not created)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nbench"
