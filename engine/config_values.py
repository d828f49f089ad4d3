"""How a raw config value becomes its field's type: TOML's own types, or the text a
``--set KEY=VALUE`` or the GUI's form gives (``"0.01"`` -> 0.01, ``"256, 256"`` ->
``(256, 256)``, ``"true"`` -> True). A value that cannot be read raises
:class:`ConfigError` naming the key, the value and the type expected; the ranges are
checked afterwards (:func:`traindoc.engine.config.validate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traindoc.engine.config_limits import ConfigError, show


def coerce(key: str, value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (TOML's own type, or the text a ``--set`` or the form gives);
    a key of its own kind (``train.nproc_per_node``: a count or ``"gpu"``) is read by
    its own rule."""
    coerce, expected = _BY_KEY.get(key) or _COERCIONS[kind]
    result = coerce(key, value)
    if result is _INVALID:
        raise ConfigError(f"{key} = {show(value)}: expected {expected}")
    return result


_INVALID = object()


def _to_bool(_key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return _INVALID


def _parsed(value: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(value)
    except ValueError:
        return _INVALID


def _to_int(_key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _parsed(value, int) if isinstance(value, str) else _INVALID


def _to_float(_key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float):
        return float(value)
    return _parsed(value, float) if isinstance(value, str) else _INVALID


def _to_ints(key: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple):
        return _INVALID
    items = tuple(_to_int(key, v) for v in value)
    return _INVALID if any(v is _INVALID for v in items) else items


def _to_str(_key: str, value: Any) -> Any:
    return value if isinstance(value, str) else _INVALID


# config field type -> (coercion, what the message says is expected)
_COERCIONS: dict[type, tuple[Callable[[str, Any], Any], str]] = {
    bool: (_to_bool, "true or false"),
    int: (_to_int, "an integer"),
    float: (_to_float, "a number"),
    tuple: (_to_ints, "a list of integers, e.g. [256, 256]"),
    str: (_to_str, "a string"),
}


#: The word ``train.nproc_per_node`` takes for "one process per visible GPU".
ALL_GPUS = "gpu"


def _to_procs(key: str, value: Any) -> Any:
    """A process count (``2``, ``"2"``) or ``"gpu"`` (any case, spaces ignored)."""
    if isinstance(value, str) and value.strip().lower() == ALL_GPUS:
        return ALL_GPUS
    if isinstance(value, str):
        value = value.strip()
    return _to_int(key, value)


# keys whose values are not of their default's type -> (coercion, what is expected)
_BY_KEY: dict[str, tuple[Callable[[str, Any], Any], str]] = {
    "train.nproc_per_node": (_to_procs, 'a process count (an integer) or "gpu"'),
}
