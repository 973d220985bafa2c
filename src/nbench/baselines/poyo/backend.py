"""torch_brain, the optional dependency of the POYO baseline (``pip install 'nbench[poyo]'``).

``torch_brain.models.poyo`` imports ``torch_brain.datasets`` only for a type hint, and that package imports ray
(about 0.5 s and 240 MB installed). :func:`poyo_class` imports the model with a stand-in for that one module, so
fitting POYO never loads ray; ``torch_brain.datasets`` still imports normally afterwards.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from nbench.errors import ConfigError

VERSION = "0.2.1"
INSTALL = f"pip install 'nbench[poyo]' (torch-brain=={VERSION})"


def check_installed() -> None:
    """A one-line :class:`ConfigError` naming the install command when torch_brain is missing or another version.

    Reads the installed metadata only: nothing is imported.
    """
    try:
        found = version("torch_brain")
    except PackageNotFoundError:
        found = None
    if found is None or importlib.util.find_spec("torch_brain") is None:
        raise ConfigError(f"model 'poyo' needs torch-brain, which is not installed: {INSTALL}")
    if found != VERSION:
        raise ConfigError(f"model 'poyo' needs torch-brain {VERSION} (its API changes between releases), found "
                          f"{found}: {INSTALL}")


def poyo_class() -> Any:
    """``torch_brain.models.POYO``, imported without ray."""
    check_installed()
    if "torch_brain.models" not in sys.modules and "torch_brain.datasets" not in sys.modules:
        sys.modules["torch_brain.datasets"] = types.SimpleNamespace(Dataset=object)  # type: ignore[assignment]
        try:
            from torch_brain.models import POYO
        finally:
            del sys.modules["torch_brain.datasets"]
        return POYO
    from torch_brain.models import POYO

    return POYO


def batching() -> tuple[Any, Any, Any]:
    """``collate``, ``pad8`` and ``track_mask8`` from ``torch_brain.batching``."""
    check_installed()
    from torch_brain.batching import collate, pad8, track_mask8

    return collate, pad8, track_mask8
