"""Which logged tag plays which role (train loss, validation loss, ...): the user decides.

Roles the inference was unsure of (several candidate tags) are marked; each role
offers its candidates first (a loss logged in parts offers their sum), then every
other tag, and "(none)". A train or validation metric must be a tag whose name says
which way is better (``val_MAE``, ``eval/mean_reward``); another is refused, in the
dialog, with the words understood.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from traindoc.diagnostics.types import ROLES
from traindoc.engine.tb.roles import check_metric_override
from traindoc.gui.core.state import RunState

NONE = "(none)"


class RoleOverrideDialog(QDialog):
    def __init__(
        self, run: RunState, candidates: dict[str, list[str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Tag roles — {run.name}")
        self.run = run
        self.combos: dict[str, QComboBox] = {}
        form = QFormLayout()
        tags = sorted(run.tags)
        for role in ROLES:
            combo = QComboBox()
            preferred = list(candidates.get(role, []))  # may hold a sum of parts
            combo.addItem(NONE)
            combo.addItems(preferred + [t for t in tags if t not in preferred])
            current = run.roles.get(role)
            combo.setCurrentText(current if current in run.tags else NONE)
            label = role.replace("_", " ")
            if role in run.uncertain_roles:
                label = f"{label} ⚠"
                combo.setToolTip("Several tags could fill this role: " + ", ".join(preferred))
                combo.setStyleSheet("QComboBox { border: 1px solid #EF6C00; }")
            form.addRow(label, combo)
            self.combos[role] = combo
        note = QLabel(
            "The diagnosis reads these roles. ⚠ marks a role several tags could fill; "
            f"{html.escape(str(len(tags)))} tags in this run."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #C62828;")
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Close only when every metric role names a tag with a direction."""
        try:
            for role, tag in self.overrides().items():
                check_metric_override(role, tag)
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()

    def overrides(self) -> dict[str, str]:
        """role -> tag for every role ('' unmaps it)."""
        return {
            role: ("" if combo.currentText() == NONE else combo.currentText())
            for role, combo in self.combos.items()
        }
