"""One registry for tasks, models and datasets, lazy and open to plug-ins.

Built-in entries are registered as ``"module:attribute"`` strings and imported only when used, so listing
names never imports torch. Third-party packages add entries through the entry-point groups
``nbench.tasks``, ``nbench.models`` and ``nbench.datasets``; an entry point must resolve to a zero-argument
callable (a class or factory) returning the object.

Entries that exist only as files (datasets imported into the data directory) come from *discoverers*
(:func:`register_discoverer`), asked on every lookup with the data directory in use; registered and plug-in
names take precedence over discovered ones.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from nbench.errors import ConfigError, UnknownNameError
from nbench.extras import is_missing_extra, missing_error

KINDS = ("tasks", "models", "datasets")

_BUILTIN: dict[str, dict[str, str | Callable[..., Any]]] = {kind: {} for kind in KINDS}
_KWARGS: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
_SUMMARY: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
_DISCOVERERS: dict[str, list[str | Callable[..., Any]]] = {kind: [] for kind in KINDS}
_PLUGINS_LOADED = False


def register(kind: str, name: str, target: str | Callable[..., Any], *, summary: str = "", **kwargs: Any) -> None:
    """Register ``target`` (a ``"module:attr"`` path or a callable) under ``name``.

    ``summary`` is a one-line description shown by ``nbench list`` without importing the target. ``kwargs`` are
    bound to the target when it is resolved (one class serving several task names).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}")
    _BUILTIN[kind][name] = target
    _SUMMARY[kind][name] = summary
    if kwargs:
        _KWARGS[kind][name] = kwargs


_FROM_CODE: set[tuple[str, str]] = set()


def register_class(kind: str, name: str, target: Callable[..., Any]) -> None:
    """Register ``target`` given in code (``nbench.run("lorenz", MyModel)``) under ``name``.

    Registering again under the same name replaces an earlier class given in code (a notebook cell run twice);
    a name taken by a built-in or plug-in entry is refused.
    """
    known = names(kind)
    if name in known and (kind, name) not in _FROM_CODE and _BUILTIN[kind].get(name) is not target:
        raise ConfigError(f"{kind[:-1]} name {name!r} is taken by a registered {kind[:-1]}; give your class another "
                          "`name`")
    register(kind, name, target, summary=f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '')}")
    _FROM_CODE.add((kind, name))


def register_discoverer(kind: str, target: str | Callable[..., Any]) -> None:
    """Register a function (or ``"module:attr"``) that finds entries at run time.

    It is called as ``target(data_dir)`` (``data_dir`` None means the default data directory) and returns
    ``{name: (factory, summary)}``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}")
    if target not in _DISCOVERERS[kind]:
        _DISCOVERERS[kind].append(target)


def _discovered(kind: str, data_dir: Any = None) -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    for target in _DISCOVERERS[kind]:
        for name, entry in _resolve(target)(data_dir).items():
            if name not in _BUILTIN[kind]:
                found.setdefault(name, entry)
    return found


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for kind in KINDS:
        for ep in entry_points(group=f"nbench.{kind}"):
            if ep.name not in _BUILTIN[kind]:
                _BUILTIN[kind][ep.name] = ep.value
                _SUMMARY[kind][ep.name] = f"plug-in {ep.value}"


def names(kind: str, data_dir: Any = None) -> list[str]:
    """Sorted names for ``kind``: built-ins, plug-ins and entries discovered in ``data_dir``."""
    _ensure_builtins()
    _load_plugins()
    return sorted({*_BUILTIN[kind], *_discovered(kind, data_dir)})


def summary(kind: str, name: str, data_dir: Any = None) -> str:
    """The one-line summary registered for ``name`` (plug-ins: the entry point's target)."""
    names(kind)
    if name in _SUMMARY[kind]:
        return _SUMMARY[kind][name]
    return _discovered(kind, data_dir).get(name, (None, ""))[1]


def get(kind: str, name: str, data_dir: Any = None) -> Any:
    """Resolve ``name`` to its registered object (the class or factory).

    Raises
    ------
    UnknownNameError
        With "did you mean ..." suggestions when the name is close to a registered one.
    """
    known = names(kind, data_dir)
    if name not in _BUILTIN[kind]:
        found = _discovered(kind, data_dir)
        if name in found:
            return found[name][0]
        singular = kind[:-1]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(f"unknown {singular} {name!r}{hint} (see `nbench list {kind}`)")
    try:
        target = _BUILTIN[kind][name] = _resolve(_BUILTIN[kind][name])
    except ModuleNotFoundError as exc:  # an entry whose module needs an optional extra that is not installed
        if not is_missing_extra(exc):
            raise
        raise missing_error(str(exc.name), f"{kind[:-1]} {name!r}") from None
    kwargs = _KWARGS[kind].get(name)
    return functools.partial(target, **kwargs) if kwargs else target


def _resolve(target: str | Callable[..., Any]) -> Any:
    """Import a ``"module:attr"`` target (callables are returned as they are)."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


_BUILTINS_LOADED = False


def _ensure_builtins() -> None:
    """Register the built-in entries, plain data in :mod:`nbench._builtins` (no model or task is imported)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from nbench import _builtins

    for name, target, text in _builtins.MODELS:
        if name not in _BUILTIN["models"]:
            register("models", name, target, summary=text)
    for name, target, kwargs, text in _builtins.TASKS:
        if name not in _BUILTIN["tasks"]:
            register("tasks", name, target, summary=text, **kwargs)
    for kind, target in _builtins.DISCOVERERS:
        register_discoverer(kind, target)
