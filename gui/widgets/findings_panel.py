"""The findings of the current run: severity, title, evidence; remedies in order.

Clicking a finding shades its step range on the charts (through the model). Each
remedy shows its text, its PyTorch snippet and its config change; "Apply fix" asks
for a child run (``apply_fix_requested``) when the run is ours and the patch is known.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.model import AppModel
from gui.state import RunState

SEVERITY_COLORS = {"error": "#C62828", "warning": "#EF6C00", "info": "#1565C0"}
SEVERITY_MARK = {"error": "✖", "warning": "▲", "info": "ℹ"}


def rule_doc(rule_id: str) -> str:
    """The rule's docstring (What it detects / Why it matters / Example / Remedies)."""
    from diagnostics.registry import ALL_RULES

    for rule in ALL_RULES:
        if rule.id == rule_id:
            return type(rule).doc()
    return ""


def patch_text(run: RunState, patch: dict[str, Any]) -> str:
    from engine.config import flatten

    old = flatten(run.config) if run.config is not None else {}
    parts = []
    for key, value in patch.items():
        before = old.get(key)
        if before is None:
            parts.append(f"{key} = {value!r}")
        else:
            parts.append(f"{key}: {before!r} → {value!r}")
    return "; ".join(parts)


def _signature(findings) -> tuple:
    return tuple(
        (f.rule, f.step_start, f.step_end, f.evidence,
         tuple((r.id, r.already_tried, tuple(sorted((r.patch or {}).items()))) for r in f.remedies))
        for f in findings
    )


class RemedyCard(QFrame):
    """One remedy: its text, snippet, patch and the Apply-fix button."""

    def __init__(self, index: int, remedy: Any, run: RunState, can_apply: bool) -> None:
        super().__init__()
        self.remedy = remedy
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        tried = " <i>(already tried)</i>" if remedy.already_tried else ""
        title = QLabel(f"<b>{index}. {html.escape(remedy.id)}</b>{tried}")
        text = QLabel(html.escape(remedy.text))
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(title)
        layout.addWidget(text)
        if remedy.snippet:
            snippet = QPlainTextEdit(remedy.snippet.strip("\n"))
            snippet.setReadOnly(True)
            snippet.setFont(QFont("monospace", 9))
            lines = remedy.snippet.strip("\n").count("\n") + 1
            snippet.setFixedHeight(min(10, lines) * 16 + 12)
            layout.addWidget(snippet)
        self.button: QPushButton | None = None
        if remedy.patch:
            row = QHBoxLayout()
            change = QLabel(html.escape(patch_text(run, dict(remedy.patch))))
            change.setWordWrap(True)
            change.setStyleSheet("color: #555;")
            row.addWidget(change, 1)
            self.button = QPushButton("Apply fix")
            self.button.setToolTip("Re-run with this change as a child of this run")
            self.button.setEnabled(can_apply and not remedy.already_tried)
            row.addWidget(self.button)
            layout.addLayout(row)
        if remedy.already_tried:
            self.setStyleSheet("QLabel { color: #888; }")


class FindingsPanel(QWidget):
    apply_fix_requested = Signal(str, object, object)  # run id, finding, remedy

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.hide()
        self.list = QListWidget()
        self.detail = QWidget()
        self.detail_layout = QVBoxLayout(self.detail)
        self.detail_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidget(self.detail)
        scroll.setWidgetResizable(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(scroll)
        split.setSizes([80, 460])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.verdict)
        layout.addWidget(split, 1)
        self.cards: list[RemedyCard] = []
        self._findings: tuple[Any, ...] = ()
        self._signature: tuple = ()

        self.list.currentRowChanged.connect(self._finding_selected)
        self.list.itemClicked.connect(lambda item: self._highlight(self.list.row(item)))
        model.current_changed.connect(lambda _id: self.refresh())
        model.diagnosis_changed.connect(self._maybe_refresh)
        model.run_changed.connect(self._run_changed)
        self.refresh()

    # ------------------------------------------------------------ model → view

    def _maybe_refresh(self, run_id: str) -> None:
        if run_id == self.model.state.current:
            self.refresh()

    def _run_changed(self, run_id: str) -> None:
        if run_id == self.model.state.current:
            self._show_header(self.model.current)

    def refresh(self) -> None:
        run = self.model.current
        self._show_header(run)
        findings = run.findings() if run is not None else ()
        signature = (run.id if run else None, _signature(findings))
        if signature == self._signature:
            return  # a live re-diagnosis that changed nothing: keep the view as it is
        self._signature = signature
        keep = self.list.currentRow()
        same = [f.rule for f in findings] == [f.rule for f in self._findings]
        self._findings = findings
        self.list.blockSignals(True)
        self.list.clear()
        for finding in findings:
            sev = finding.severity.value
            item = QListWidgetItem(
                f"{SEVERITY_MARK.get(sev, '')} {finding.title}  —  steps "
                f"{finding.step_start}–{finding.step_end}"
            )
            item.setForeground(QColor(SEVERITY_COLORS.get(sev, "#333")))
            item.setToolTip(finding.evidence)
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = keep if same and 0 <= keep < len(findings) else (0 if findings else -1)
        self.list.blockSignals(True)  # only a click shades the charts
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self._show_detail(row, highlight=False)

    def _show_header(self, run: RunState | None) -> None:
        if run is None:
            self.header.setText("<i>No run selected. Start a run or open a log directory.</i>")
            self.verdict.hide()
            return
        diagnosis = run.diagnosis
        if diagnosis is None:
            verdict = "not diagnosed yet"
        else:
            status = diagnosis.status.value
            verdict = {
                "healthy": "✓ healthy: no rule fired",
                "insufficient-data": "not enough data to judge yet",
            }.get(status, f"{len(diagnosis.findings)} finding(s)")
        self.header.setText(
            f"<b>{html.escape(run.name)}</b> — {html.escape(run.status)} · {verdict}"
        )
        if run.verdict is not None:
            color = {True: "#2E7D32", False: "#C62828"}.get(run.verdict.resolved, "#8D6E00")
            self.verdict.setText(
                f'<span style="color:{color}"><b>Fix {html.escape(run.fix.remedy)}</b>: '
                f"{html.escape(run.verdict.text())}</span>"
            )
            self.verdict.show()
        elif run.fix is not None:
            self.verdict.setText(
                f"Fix <b>{html.escape(run.fix.remedy)}</b> for {html.escape(run.fix.rule)}: "
                "waiting for the run to end…"
            )
            self.verdict.show()
        else:
            self.verdict.hide()

    def _finding_selected(self, row: int) -> None:
        self._show_detail(row, highlight=True)

    def _highlight(self, row: int) -> None:
        run = self.model.current
        if run is not None and 0 <= row < len(self._findings):
            finding = self._findings[row]
            self.model.set_highlight(run.id, finding.step_start, finding.step_end)

    def _show_detail(self, row: int, *, highlight: bool) -> None:
        self.cards.clear()
        while self.detail_layout.count():
            widget = self.detail_layout.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # now: deleteLater waits for the event loop
                widget.setParent(None)
                widget.deleteLater()
        run = self.model.current
        if run is None or not 0 <= row < len(self._findings):
            return
        finding = self._findings[row]
        if highlight:
            self._highlight(row)
        evidence = QLabel(f"<b>Evidence.</b> {html.escape(finding.evidence)}")
        evidence.setWordWrap(True)
        evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_layout.addWidget(evidence)
        doc = rule_doc(finding.rule)
        if doc:
            why = QLabel(html.escape(doc).replace("\n", "<br>"))
            why.setWordWrap(True)
            why.setStyleSheet("color: #555;")
            why.setVisible(False)
            toggle = QPushButton("▸ Why does this matter?")
            toggle.setCheckable(True)
            toggle.setFlat(True)
            toggle.setStyleSheet("text-align: left; color: #1565C0;")
            toggle.toggled.connect(why.setVisible)
            self.detail_layout.addWidget(toggle)
            self.detail_layout.addWidget(why)
        can_apply = run.config is not None  # ours, launched or read back with its config
        if run.config is None:
            note = QLabel("<i>Foreign log: apply the remedy in your own training code.</i>")
            note.setWordWrap(True)
            self.detail_layout.addWidget(note)
        for index, remedy in enumerate(finding.remedies, 1):
            card = RemedyCard(index, remedy, run, can_apply)
            if card.button is not None:
                card.button.clicked.connect(
                    lambda _=False, f=finding, r=remedy, rid=run.id: self.apply_fix_requested.emit(
                        rid, f, r
                    )
                )
            self.cards.append(card)
            self.detail_layout.addWidget(card)

    # ------------------------------------------------------------ test helpers

    def select_finding(self, rule: str) -> None:
        for row, finding in enumerate(self._findings):
            if finding.rule == rule:
                self.list.setCurrentRow(row)
                self._highlight(row)  # as a click does, even on the row already selected
                return
        raise KeyError(rule)

    def fix_button(self, remedy_id: str) -> QPushButton | None:
        for card in self.cards:
            if card.remedy.id == remedy_id:
                return card.button
        return None
