"""The config form's draft, Qt-free: raw field values, engine's validation, errors per field.

Validation is engine's own (:func:`traindoc.engine.config.apply_patch`), so the form
shows exactly the messages the command line prints. ``apply_patch`` stops at the
first bad value; :func:`validate_values` repeats it without each offending key
until the rest passes, so every invalid field gets its own message at once.
:class:`traindoc.gui.config_draft.DraftModel` wraps a :class:`ConfigDraft` with Qt signals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine.config import ConfigError, RunConfig
from traindoc.engine.config_sources import SOURCE_KEYS
from traindoc.gui.core.source_functions import missing_name

_KEY = re.compile(r"^\[?([a-z_]+(?:\.[a-z_]+)?)\]?\s*[=:]")


def error_key(message: str) -> str | None:
    """The dotted key an engine ConfigError message names (``"optim.lr = -1: ..."``)."""
    match = _KEY.match(message)
    return match.group(1) if match else None


def validate_values(values: dict[str, Any]) -> tuple[RunConfig | None, dict[str, str]]:
    """``(config, {})`` when every value is valid, else ``(None, {key: message})``.

    A ``model.source`` / ``data.source`` whose file lacks the function is an error too
    (engine finds that only when the run starts).
    """
    config, errors = _engine_errors(values)
    for key in SOURCE_KEYS:
        message = None if key in errors else missing_name(key, str(values.get(key) or ""))
        if message:
            errors[key] = message
            config = None
    return config, errors


def _engine_errors(values: dict[str, Any]) -> tuple[RunConfig | None, dict[str, str]]:
    """Engine's own validation, one message per offending key."""
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


class ConfigDraft:
    """The values being edited (dotted key -> raw value), their errors, and the config
    they make (None while any value is invalid)."""

    def __init__(self, config: RunConfig | None = None) -> None:
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.config: RunConfig | None = None
        self.load(config or RunConfig())

    def load(self, config: RunConfig) -> None:
        """Every field from ``config``."""
        self.values = config_module.flatten(config)
        self._validate()

    def set(self, key: str, raw: Any) -> bool:
        """One field; True when its value changed. Unknown keys raise KeyError."""
        return self.update({key: raw})

    def update(self, patch: Mapping[str, Any]) -> bool:
        """Several fields at once (a finder's or a remedy's patch); True when any changed."""
        unknown = [key for key in patch if key not in self.values]
        if unknown:
            raise KeyError(unknown[0])
        changed = {k: v for k, v in patch.items() if self.values[k] != v}
        if not changed:
            return False
        self.values.update(changed)
        self._validate()
        return True

    @property
    def valid(self) -> bool:
        return self.config is not None

    def _validate(self) -> None:
        self.config, self.errors = validate_values(self.values)
