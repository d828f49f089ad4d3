"""Compare runs: final and best metrics of the overlaid runs, side by side (SPEC §7)."""

from __future__ import annotations

import math

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QWidget

from traindoc.gui.core.state import RunState
from traindoc.gui.model import AppModel

# (header, role, which) — which: "final", "best" (by the role's direction), "best_step"
COLUMNS = (
    ("Run", "", "name"),
    ("Status", "", "status"),
    ("Optimizer", "", "optim"),
    ("Final train loss", "train_loss", "final"),
    ("Final val loss", "val_loss", "final"),
    ("Best val loss", "val_loss", "best"),
    ("at step", "val_loss", "best_step"),
    ("Final val acc", "val_accuracy", "final"),
    ("Best val acc", "val_accuracy", "best"),
    ("Findings", "", "findings"),
)


def cell(run: RunState, role: str, which: str) -> str | float | None:
    """The value one column shows for one run (None when the run lacks it)."""
    if which == "name":
        return run.name
    if which == "status":
        return run.status
    if which == "optim":
        return f"{run.config.optim.name} lr {run.config.optim.lr:g}" if run.config else ""
    if which == "findings":
        return ", ".join(  # info findings are notes: marked as such
            f.rule + (" (note)" if f.severity.value == "info" else "") for f in run.findings()
        ) or (
            "healthy" if run.diagnosis is not None and run.diagnosis.status.value == "healthy"
            else ""
        )
    if which == "final":
        value = run.final(role)
        return value
    best = run.best(role)
    if best is None:
        return None
    return best[0] if which == "best" else best[1]


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


class CompareTable(QTableWidget):
    """One row per run on the charts (checked runs, the current one and its fixes)."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.model = model
        self.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(False)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.setColumnWidth(0, 260)
        self._shown: list[str] = []
        model.visible_changed.connect(self.refresh)
        model.run_changed.connect(self._maybe_refresh)
        model.diagnosis_changed.connect(self._maybe_refresh)
        model.frame.connect(self._refresh_active)
        self.refresh()

    def _maybe_refresh(self, run_id: str) -> None:
        if run_id in self._shown:
            self.refresh()

    def _refresh_active(self) -> None:
        if any(self.model.run(r) is not None and self.model.run(r).active for r in self._shown):
            self.refresh()

    def refresh(self) -> None:
        self._shown = self.model.visible_runs()
        self.setRowCount(len(self._shown))
        for row, run_id in enumerate(self._shown):
            run = self.model.run(run_id)
            for col, (_, role, which) in enumerate(COLUMNS):
                item = QTableWidgetItem(_text(cell(run, role, which)))
                if col == 0:
                    item.setForeground(QColor(run.color))
                self.setItem(row, col, item)

    def values(self) -> list[list[str]]:
        """The table as text (tests and CSV)."""
        return [
            [self.item(r, c).text() for c in range(self.columnCount())]
            for r in range(self.rowCount())
        ]
