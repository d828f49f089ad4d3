"""``DraftModel``: the Qt face of the config form's draft
(:class:`traindoc.gui.core.config_draft.ConfigDraft`, where the values and their
validation live). Views edit through it and listen to its two signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from traindoc.engine.config import RunConfig
from traindoc.gui.core.config_draft import ConfigDraft


class DraftModel(QObject):
    """The values being edited; ``changed`` fires after each edit with fresh errors."""

    changed = Signal()
    loaded = Signal()  # several fields replaced by code: the form shows them all again

    def __init__(self, config: RunConfig | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.draft = ConfigDraft(config)

    @property
    def values(self) -> dict[str, Any]:
        return self.draft.values

    @property
    def errors(self) -> dict[str, str]:
        return self.draft.errors

    @property
    def config(self) -> RunConfig | None:
        return self.draft.config

    @property
    def valid(self) -> bool:
        return self.draft.valid

    def load(self, config: RunConfig) -> None:
        """Every field from ``config`` (a loaded file, a run's "use this config")."""
        self.draft.load(config)
        self.loaded.emit()
        self.changed.emit()

    def set(self, key: str, raw: Any) -> None:
        """One field, as the user typed it (the form already shows it)."""
        if self.draft.set(key, raw):
            self.changed.emit()

    def apply(self, patch: Mapping[str, Any]) -> None:
        """Several fields set by code (a finder's result): the form shows them again."""
        if self.draft.update(patch):
            self.loaded.emit()
            self.changed.emit()
