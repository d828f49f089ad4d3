"""The config form's model: raw field values, engine's validation, errors per field.

Validation is engine's own (:func:`traindoc.engine.config.apply_patch`), so the form shows
exactly the messages the command line prints. ``apply_patch`` stops at the first
bad value; :func:`validate_values` repeats it without each offending key until the
rest passes, so every invalid field gets its own message at once.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, Signal

from traindoc.engine import config as config_module
from traindoc.engine.config import ConfigError, RunConfig

_KEY = re.compile(r"^\[?([a-z_]+(?:\.[a-z_]+)?)\]?\s*[=:]")


def error_key(message: str) -> str | None:
    """The dotted key an engine ConfigError message names (``"optim.lr = -1: ..."``)."""
    match = _KEY.match(message)
    return match.group(1) if match else None


def validate_values(values: dict[str, Any]) -> tuple[RunConfig | None, dict[str, str]]:
    """``(config, {})`` when every value is valid, else ``(None, {key: message})``."""
    pending = dict(values)
    errors: dict[str, str] = {}
    for _ in range(len(values) + 1):
        try:
            config = config_module.apply_patch(RunConfig(), pending)
        except ConfigError as exc:
            message = str(exc)
            key = error_key(message)
            if key not in pending:
                errors[key or "name"] = message
                return None, errors
            errors[key] = message
            del pending[key]
            continue
        return (None, errors) if errors else (config, {})
    return None, errors


class DraftModel(QObject):
    """The values being edited; ``changed`` fires after each edit with fresh errors."""

    changed = Signal()
    loaded = Signal()  # every field replaced (a config was loaded into the form)

    def __init__(self, config: RunConfig | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.config: RunConfig | None = None
        self.load(config or RunConfig())

    def load(self, config: RunConfig) -> None:
        self.values = config_module.flatten(config)
        self.config, self.errors = validate_values(self.values)
        self.loaded.emit()
        self.changed.emit()

    def set(self, key: str, raw: Any) -> None:
        if key not in self.values:
            raise KeyError(key)
        if self.values[key] == raw:
            return
        self.values[key] = raw
        self.config, self.errors = validate_values(self.values)
        self.changed.emit()

    @property
    def valid(self) -> bool:
        return self.config is not None
