"""The run list: every run with its status badge, fix lineage (parent → child) and findings.

Children of a fix are nested under their parent. The check box overlays a run on
the charts (and puts it in the compare table); selecting a row makes it current.
Long names elide in the middle; the tooltip has the full name and the run folder.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QWidget

from traindoc.diagnostics import wording
from traindoc.engine.events import DIVERGED, FAILED, FINISHED, RUNNING, STOPPED
from traindoc.gui.core.state import LOG, QUEUED, SEVERITY_MARK, STARTING, RunState
from traindoc.gui.model import AppModel

STATUS_COLORS = {
    QUEUED: "#9E9E9E",
    STARTING: "#64B5F6",
    RUNNING: "#1E88E5",
    FINISHED: "#2E7D32",
    STOPPED: "#F9A825",
    DIVERGED: "#C62828",
    FAILED: "#6A1B9A",
    LOG: "#607D8B",
}
COL_NAME, COL_STATUS, COL_BEST, COL_FINDINGS = range(4)
RUN_ID_ROLE = Qt.ItemDataRole.UserRole


def _dot(color: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


def findings_text(run: RunState) -> str:
    diagnosis = run.diagnosis
    if diagnosis is None:
        return ""
    findings = run.findings()
    if not findings:
        status = getattr(diagnosis.status, "value", str(diagnosis.status))
        return "✓ healthy" if status == "healthy" else status
    alarms = [f for f in findings if f.severity.value != "info"]  # info: a note
    notes = len(findings) - len(alarms)
    noted = f"{notes} note{'s' if notes != 1 else ''}"
    if not alarms:  # weak evidence only: not an alarm, the run stays healthy
        return f"✓ {SEVERITY_MARK['info']} {noted}: {findings[0].rule}"
    worst = min(alarms, key=lambda f: f.severity.rank)
    text = f"{SEVERITY_MARK.get(worst.severity.value, '')} {len(alarms)}: {worst.rule}"
    return text + (f" (+{noted})" if notes else "")


class RunList(QTreeWidget):
    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.items: dict[str, QTreeWidgetItem] = {}
        self._icons: dict[str, QIcon] = {}
        self.setColumnCount(4)
        self.setHeaderLabels(["Run", "Status", "Best val", "Findings"])
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setColumnWidth(COL_NAME, 200)
        self.setColumnWidth(COL_STATUS, 82)
        self.setColumnWidth(COL_BEST, 72)
        self.setAlternatingRowColors(True)
        # Runs of one day differ at both ends (digits-sgd-lr5-...-103000): keep both.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)

        model.run_added.connect(self._add)
        model.run_removed.connect(self._remove)
        model.run_changed.connect(self._refresh)
        model.diagnosis_changed.connect(self._refresh)
        model.frame.connect(self._refresh_active)
        model.current_changed.connect(self._select)
        self.itemChanged.connect(self._item_changed)
        self.currentItemChanged.connect(self._current_item_changed)
        for run in model.runs():
            self._add(run.id)
        self._select(model.state.current or "")

    # ------------------------------------------------------------ model → view

    def _add(self, run_id: str) -> None:
        run = self.model.run(run_id)
        item = QTreeWidgetItem()
        item.setData(COL_NAME, RUN_ID_ROLE, run_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        parent_item = self.items.get(run.fix.parent) if run.fix else None
        self.blockSignals(True)
        if parent_item is not None:
            parent_item.addChild(item)
            parent_item.setExpanded(True)
        else:
            self.addTopLevelItem(item)
        self.items[run_id] = item
        self.blockSignals(False)
        self._refresh(run_id)

    def _remove(self, run_id: str) -> None:
        item = self.items.pop(run_id, None)
        if item is None:
            return
        parent = item.parent()
        if parent is not None:
            parent.removeChild(item)
        else:
            self.takeTopLevelItem(self.indexOfTopLevelItem(item))

    def _refresh(self, run_id: str) -> None:
        item = self.items.get(run_id)
        run = self.model.run(run_id)
        if item is None or run is None:
            return
        if run.fix is not None and item.parent() is None and run.fix.parent in self.items:
            self._remove(run_id)  # lineage arrived after the row: nest it now
            self._add(run_id)
            return
        self.blockSignals(True)
        item.setText(COL_NAME, run.name)
        if run.color not in self._icons:  # the run's colour on every chart (issue 12 item 2)
            self._icons[run.color] = _dot(run.color)
        item.setIcon(COL_NAME, self._icons[run.color])
        checked = run_id in self.model.state.checked
        item.setCheckState(
            COL_NAME, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        )
        item.setText(COL_STATUS, run.status)
        item.setIcon(COL_STATUS, self._icon(run.status))
        item.setForeground(COL_STATUS, QColor(STATUS_COLORS.get(run.status, "#333")))
        best = run.best("val_loss")
        item.setText(COL_BEST, f"{best[0]:.4g}" if best else "")
        item.setText(COL_FINDINGS, findings_text(run))
        item.setToolTip(COL_NAME, self._tooltip(run))
        item.setToolTip(COL_STATUS, run.reason or run.status)
        self.blockSignals(False)

    def _refresh_active(self) -> None:
        for run in self.model.state.active_runs():
            self._refresh(run.id)

    def _tooltip(self, run: RunState) -> str:
        lines = [run.name]
        if run.run_dir is not None:
            lines.append(str(run.run_dir))
        if run.fix is not None:
            parent = self.model.run(run.fix.parent)
            patch = wording.patch_text(run.fix.patch)
            lines.append(f"fix of {parent.name if parent else '?'} for {run.fix.rule}: "
                         f"{run.fix.remedy} ({patch})")
        if run.verdict is not None:
            lines.append(run.verdict.text())
        return "\n".join(lines)

    def _icon(self, status: str) -> QIcon:
        if status not in self._icons:
            self._icons[status] = _dot(STATUS_COLORS.get(status, "#333"))
        return self._icons[status]

    def _select(self, run_id: str) -> None:
        item = self.items.get(run_id)
        if item is not None and self.currentItem() is not item:
            self.setCurrentItem(item)

    # ------------------------------------------------------------ view → model

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == COL_NAME:
            run_id = item.data(COL_NAME, RUN_ID_ROLE)
            self.model.set_checked(run_id, item.checkState(COL_NAME) == Qt.CheckState.Checked)

    def _current_item_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None:
            self.model.set_current(current.data(COL_NAME, RUN_ID_ROLE))

    def run_ids(self) -> list[str]:
        return list(self.items)
