"""Typed dataclass configs for tasks: JSON round trip and ``key=value`` overrides from the CLI.

Why one helper for every task: each task has its own config dataclasses (generator,
composition, model, training), but the CLI shape must be the same for all of them.
So the CLI passes ``--set compose.n_train=200 --set variants=crnn-ctc,crnn-gmp``
strings, and this module turns them into a validated dataclass using the field
types, with a one-line :class:`~edgekws.errors.ConfigError` for any unknown key or
unparsable value. The resolved config is what goes into the run directory, so a run
can always be repeated from its own ``task.json``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from edgekws.errors import ConfigError

T = TypeVar("T")


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a (nested) dataclass; tuples become lists."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"not a dataclass instance: {cfg!r}")
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """``value`` (from JSON or an override string) as type ``tp``; ConfigError naming ``key`` otherwise."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: cannot parse {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected an object, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        items = [i.strip() if isinstance(i, str) else i for i in items if not (isinstance(i, str) and not i.strip())]
        elem = args[0] if args else str
        return tuple(_coerce(i, elem, key) for i in items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build ``cls`` from a dict; unknown keys are an error (a typo must not be silently ignored)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(prefix + u for u in unknown)}; "
                          f"valid: {', '.join(prefix + n for n in names)}")
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix or 'config'}: {exc}") from None


def apply_overrides(cfg: T, overrides: Sequence[str]) -> T:
    """A copy of ``cfg`` with ``dotted.key=value`` overrides applied (validated by the dataclass)."""
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not KEY=VALUE")
        key, value = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        node: Any = data
        cls: Any = type(cfg)
        for i, part in enumerate(parts):
            names = [f.name for f in dataclasses.fields(cls)]
            if part not in names:
                where = ".".join(parts[:i]) or "config"
                raise ConfigError(f"unknown config key {key!r} ({where} has: {', '.join(names)})")
            tp = _hints(cls)[part]
            if i == len(parts) - 1:
                node[part] = to_dict(_coerce(value, tp, key)) if dataclasses.is_dataclass(tp) else _coerce(
                    value, tp, key)
            else:
                if not dataclasses.is_dataclass(tp):
                    raise ConfigError(f"config key {'.'.join(parts[: i + 1])!r} has no sub-keys")
                node, cls = node[part], tp
    return from_dict(type(cfg), data)


def describe(cfg: Any, prefix: str = "") -> list[str]:
    """``key = value`` lines of every leaf field (the CLI's --help-config listing)."""
    out = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out += describe(v, prefix + f.name + ".")
        else:
            out.append(f"{prefix}{f.name} = {','.join(map(str, v)) if isinstance(v, tuple) else v}")
    return out
