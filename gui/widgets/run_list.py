"""The run list: every run with its status badge, fix lineage (parent → child) and findings.

Children of a fix are nested under their parent. The check box overlays a run on
the charts (and puts it in the compare table); selecting a row makes it current.
Long names elide in the middle; the tooltip has the full name and the run folder.

For a tree of thousands of runs: the filter box above the list (:meth:`RunList.panel`)
keeps the rows whose name, status or a finding's rule contains its text (a parent stays
while a child of it matches); a click on a column's header sorts by it, the Findings
column most severe first (errors, then warnings, then notes, healthy, not yet
diagnosed; more alarms first), kept sorted as diagnoses arrive. The sort keys live in a
hidden column, so Qt sorts in C++ (no Python comparison per pair of rows).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

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
COL_NAME, COL_STATUS, COL_BEST, COL_FINDINGS, COL_KEY = range(5)
RUN_ID_ROLE = Qt.ItemDataRole.UserRole
RESORT_MS = 500  # a sorted list takes new diagnoses in place at most this often


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


def findings_key(run: RunState) -> str:
    """Sorts the Findings column, most severe first: errors, warnings, notes only,
    healthy, not diagnosed; more alarms first; then by name."""
    findings = run.findings() if run.diagnosis is not None else ()
    alarms = [f for f in findings if f.severity.value != "info"]
    if run.diagnosis is None:
        rank = 4
    elif alarms:
        rank = min(f.severity.rank for f in alarms)  # 0 error, 1 warning
    else:
        rank = 2 if findings else 3
    return f"{rank}{9999 - min(len(alarms), 9999):04d}{run.name}"


def filter_text(run: RunState) -> str:
    """What the filter box matches: the run's name, status and its findings' rules."""
    rules = " ".join(f.rule for f in run.findings()) if run.diagnosis is not None else ""
    diagnosed = getattr(run.diagnosis.status, "value", "") if run.diagnosis else ""
    return f"{run.name}\n{run.status}\n{diagnosed}\n{rules}".lower()


class RunList(QTreeWidget):
    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.items: dict[str, QTreeWidgetItem] = {}
        self._icons: dict[str, QIcon] = {}
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter: name, status or rule")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.set_filter)
        self._filter = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None  # (column, order) once clicked
        self._resort = QTimer(self)
        self._resort.setSingleShot(True)
        self._resort.setInterval(RESORT_MS)
        self._resort.timeout.connect(self._sort_now)
        self.setColumnCount(5)
        self.setHeaderLabels(["Run", "Status", "Best val", "Findings", ""])
        self.setColumnHidden(COL_KEY, True)
        self.header().setSectionsClickable(True)
        self.header().sectionClicked.connect(self._header_clicked)
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
        key = findings_key(run)
        if self._sort is not None and item.text(COL_KEY) != key:
            self._resort.start()
        item.setText(COL_KEY, key)
        self.blockSignals(False)
        if self._filter:
            self._apply_filter(item)
            if item.parent() is not None:
                self._apply_filter(item.parent())

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

    # ------------------------------------------------------------ filter and sort

    def panel(self) -> QWidget:
        """The filter box above the list, as one widget (the Runs dock's)."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filter_box)
        layout.addWidget(self, 1)
        return box

    def set_filter(self, text: str) -> None:
        """Show only the runs whose name, status or a finding's rule contains ``text``
        (any case); a parent stays while one of its children matches."""
        self._filter = text.strip().lower()
        for i in range(self.topLevelItemCount()):
            self._apply_filter(self.topLevelItem(i))

    def _apply_filter(self, item: QTreeWidgetItem) -> bool:
        """Hide ``item`` unless it or a child of it matches; True when it is shown."""
        child_shown = False
        for i in range(item.childCount()):
            child_shown = self._apply_filter(item.child(i)) or child_shown
        run = self.model.run(item.data(COL_NAME, RUN_ID_ROLE))
        shown = not self._filter or child_shown or (
            run is not None and self._filter in filter_text(run))
        item.setHidden(not shown)
        return shown

    def visible_run_ids(self) -> list[str]:
        """The runs the filter shows, in the order of the list."""
        out = []
        iterator = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while iterator:
            item = iterator.pop(0)
            if not item.isHidden():
                out.append(item.data(COL_NAME, RUN_ID_ROLE))
            iterator[0:0] = [item.child(i) for i in range(item.childCount())]
        return out

    def sort_by(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (Findings: most severe first in ascending order), and keep
        the list so sorted as runs change."""
        self._sort = (column, order)
        self.header().setSortIndicatorShown(True)
        self.header().setSortIndicator(column, order)
        self._sort_now()

    def _header_clicked(self, column: int) -> None:
        same = self._sort is not None and self._sort[0] == column
        ascending = Qt.SortOrder.AscendingOrder
        order = Qt.SortOrder.DescendingOrder if same and self._sort[1] == ascending else ascending
        self.sort_by(column, order)

    def _sort_now(self) -> None:
        if self._sort is None:
            return
        column, order = self._sort
        self.sortItems(COL_KEY if column == COL_FINDINGS else column, order)
