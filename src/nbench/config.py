"""Model configs: dataclasses with per-task defaults, overridden from a YAML file or ``key=value`` pairs.

Values are checked before any work: types are coerced to the field's type, floats must be finite, and a
config class may define ``validate()`` for its ranges (called by :meth:`nbench.baselines.base.Model.make_config`).
Seeds are integers in ``[0, 2**32 - 1]`` (:func:`check_seed`), the range every model's RNG accepts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from pathlib import Path
from typing import Any

import yaml

from nbench.errors import ConfigError
from nbench.io import load_yaml_text, read_yaml

SEED_MAX = 2**32 - 1  # numpy's legacy seeding and elephant take 32-bit seeds
MAX_CONFIG_BYTES = 2**20


def check_seed(seed: object) -> int:
    """``seed`` if it is an integer in [0, SEED_MAX]; else a one-line :class:`ConfigError`."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"seed expected an integer in [0, {SEED_MAX}], got {seed!r}")
    return seed


def apply_overrides(config: Any, overrides: dict[str, Any], model_name: str) -> Any:
    """Return a copy of dataclass ``config`` with ``overrides`` applied, coercing values to field types.

    Raises
    ------
    ConfigError
        For an unknown key (with the list of valid keys) or a value of the wrong type.
    """
    if not overrides:
        return config
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ConfigError(f"model {model_name!r}: unknown config key {key!r} "
                              f"(expected one of: {', '.join(sorted(fields))})")
        changes[key] = _coerce(value, hints[key], key, model_name)
    return dataclasses.replace(config, **changes)


def _coerce(value: Any, hint: Any, key: str, model_name: str) -> Any:
    """Coerce a YAML / command-line value to the field's declared type."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if value is None:
        return None
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        hint = args[0]
        origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint in (int, float, str):
            out = hint(value)
            if hint is int and isinstance(value, float) and value != out:
                raise ValueError(value)
            if hint is float and not math.isfinite(out):
                raise ValueError(value)
            return out
        if origin in (tuple, list):
            seq = load_yaml_text(value) if isinstance(value, str) else value
            return tuple(seq) if origin is tuple else list(seq)
    except (TypeError, ValueError) as exc:
        kind = "a finite float" if hint is float else getattr(hint, "__name__", hint)
        raise ConfigError(f"model {model_name!r}: config key {key!r} expects {kind}, got {value!r}") from exc
    return value


def parse_set_options(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings (values read as YAML scalars: ``0.1``, ``true``, ``[1, 2]``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected key=value")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = load_yaml_text(raw)
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) mapping of config overrides."""
    path = Path(path)
    data = read_yaml(path, MAX_CONFIG_BYTES, ConfigError, "config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def config_hash(config_dict: dict[str, Any]) -> str:
    """Stable short hash of a config (sorted-key JSON)."""
    blob = json.dumps(config_dict, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
