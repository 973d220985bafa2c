"""Optional dependencies: which extra provides which package, and the one-line error when one is missing.

The scoring core (numpy, scipy, scikit-learn, h5py, isal, click, rich, pyyaml, jinja2, threadpoolctl) is always
installed. Models and commands that need more name their extra: ``ndt`` (torch, also for MtM), ``gpfa``
(elephant), ``dandi`` (the DANDI client, for ``nbench data fetch``), ``plots`` (matplotlib, for ``nbench report``
and the leaderboard page); ``all`` installs every one of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nbench.errors import NbenchError

#: Top-level module -> the nbench extra that installs it.
EXTRA_OF: dict[str, str] = {
    "torch": "ndt",
    "elephant": "gpfa",
    "dandi": "dandi",
    "dandischema": "dandi",
    "requests": "dandi",
    "matplotlib": "plots",
    "torch_brain": "poyo",
}


class MissingExtraError(NbenchError):
    """An optional dependency is not installed; the message names the ``pip install`` that adds it."""


def install_hint(module: str) -> str:
    """``pip install "nbench[<extra>]"`` for ``module`` (its own name when no extra provides it)."""
    root = module.split(".")[0]
    extra = EXTRA_OF.get(root)
    return f'pip install "nbench[{extra}]"' if extra else f"pip install {root}"


def missing_error(module: str, what: str) -> MissingExtraError:
    """The error saying that ``what`` needs ``module``, with the command that installs it."""
    root = module.split(".")[0]
    return MissingExtraError(f"{what} needs {root}, which is not installed; run: {install_hint(root)}")


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` or raise a one-line :class:`MissingExtraError` naming ``what`` needs it.

    Only a missing ``module`` (or its top-level package) is turned into that error; any other import failure
    propagates unchanged.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise missing_error(module, what) from None


def is_missing_extra(exc: ModuleNotFoundError) -> bool:
    """True when ``exc`` is about a package that an nbench extra provides."""
    return exc.name is not None and exc.name.split(".")[0] in EXTRA_OF
