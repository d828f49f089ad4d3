"""The findings of the current run: severity, confidence, title, evidence; remedies in order.

Warnings and errors are alarms; ``info`` findings are notes (weak evidence), shown
muted and labelled as such. Every finding shows how confident the rule is. Clicking
a finding shades its step range on the charts (through the model). Each remedy
shows its text and its config change, with "Apply fix" asking for a child run
(``apply_fix_requested``) when the run is ours and the patch is known; the PyTorch
snippet is for foreign logs (and for advice with no config change).
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

from traindoc.diagnostics import wording
from traindoc.diagnostics.wording import doc_paragraphs
from traindoc.gui.core.state import SEVERITY_MARK, RunState
from traindoc.gui.model import AppModel

SEVERITY_COLORS = {"error": "#C62828", "warning": "#EF6C00", "info": "#78909C"}
#: How each confidence reads, and its colour in the detail view.
CONFIDENCE_COLORS = {"high": "#2E7D32", "medium": "#8D6E00", "low": "#78909C"}
NOTE_COLOR = "#78909C"  # an info finding: a note, muted

#: What a rule means, for rules the running build's registry does not (yet) know;
#: the registry's docstring wins when there is one.
FALLBACK_DOCS = {
    "metric-mismatch": (
        "What it detects: the loss improves while the objective metric gets clearly worse, "
        "or the loss degenerates (exactly 0, or negative and still falling) while the "
        "metric stalls.\n"
        "Why it matters: a broken loss or target makes every other rule read a false "
        "success: the loss curve looks fine while the model does not get better at the "
        "task.\n"
        "Remedies: check-loss (assert the loss is finite and bounded, log the metric next "
        "to it, check the targets and the loss's sign), lower-lr."
    ),
}


def rule_doc(rule_id: str) -> str:
    """The rule's docstring (What it detects / Why it matters / Example / Remedies).

    A rule id the registry does not know (a newer log, a rule not yet registered)
    gets its one-line meaning from ``FALLBACK_DOCS``, or nothing: never an error.
    """
    try:
        from traindoc.diagnostics.registry import RULES_BY_ID

        rule = RULES_BY_ID.get(rule_id)
        doc = type(rule).doc() if rule is not None else ""
    except Exception:  # a broken or missing rule must not break the panel
        doc = ""
    return doc or FALLBACK_DOCS.get(rule_id, "")


def is_note(finding: Any) -> bool:
    """An ``info`` finding: a note on weak evidence, not an alarm."""
    alarm = getattr(finding, "alarm", None)
    if alarm is None:
        return finding.severity.value == "info"
    return not alarm


def confidence_of(finding: Any) -> str:
    """``"high"``, ``"medium"`` or ``"low"`` (findings without one are high)."""
    confidence = getattr(finding, "confidence", None)
    return getattr(confidence, "value", None) or "high"


def finding_label(finding: Any) -> str:
    """The list row: ``▲ Overfitting  —  steps 10–90  ·  medium confidence``."""
    mark = SEVERITY_MARK.get(finding.severity.value, "")
    title = f"Note: {finding.title}" if is_note(finding) else finding.title
    return (f"{mark} {title}  —  steps {finding.step_start}–{finding.step_end}  ·  "
            f"{confidence_of(finding)} confidence")


def doc_html(doc: str) -> str:
    """A rule's documentation as rich text: bold headings, one paragraph each, so the
    label wraps it at its own width, at word boundaries (not at the docstring's)."""
    blocks = []
    for heading, paragraph in doc_paragraphs(doc):
        head = f"<b>{html.escape(heading)}</b><br>" if heading else ""
        blocks.append(f"<p>{head}{html.escape(paragraph)}</p>")
    return "".join(blocks)


def rich_label(text: str) -> QLabel:
    """A word-wrapped label that always reads its text as rich text (escaped parts
    never show as ``-&gt;``, whatever Qt's guess would be)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def plain_label(text: str) -> QLabel:
    """A word-wrapped label that shows its text as it is (no markup, no entities)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def verdict_text(diagnosis: Any) -> str:
    """The header's summary: alarms count as findings, info findings as notes."""
    if diagnosis is None:
        return "not diagnosed yet"
    status = diagnosis.status.value
    if status == "insufficient-data":
        return "not enough data to judge yet"
    notes = sum(1 for f in diagnosis.findings if is_note(f))
    alarms = len(diagnosis.findings) - notes
    noted = f", {wording.plural(notes, 'note')}" if notes else ""
    if status == "healthy" and not alarms:
        return f"✓ healthy: no alarm{noted}" if notes else "✓ healthy: no rule fired"
    return f"{wording.plural(alarms, 'finding')}{noted}"


def patch_text(run: RunState, patch: dict[str, Any]) -> str:
    """``optim.lr 0.01 → 0.001, optim.name = adamw``: values as the config file has them."""
    from traindoc.engine.config import flatten

    old = flatten(run.config) if run.config is not None else {}
    return wording.patch_text(patch, old, arrow="→")


def _signature(findings) -> tuple:
    return tuple(
        (f.rule, f.severity.value, confidence_of(f), f.step_start, f.step_end, f.evidence,
         tuple((r.id, r.already_tried, tuple(sorted((r.patch or {}).items()))) for r in f.remedies))
        for f in findings
    )


class RemedyCard(QFrame):
    """One remedy: its text, snippet, patch and the Apply-fix button."""

    def __init__(self, index: int, remedy: Any, run: RunState, can_apply: bool) -> None:
        super().__init__()
        self.remedy = remedy
        self.snippet: QPlainTextEdit | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        tried = " <i>(already tried)</i>" if remedy.already_tried else ""
        title = rich_label(f"<b>{index}. {html.escape(remedy.id)}</b>{tried}")
        text = plain_label(remedy.text)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(title)
        layout.addWidget(text)
        # traindoc's own run: "Apply fix" makes the change; PyTorch code (AdamW for an SGD
        # run) is for foreign logs, and for advice that has no config change.
        if remedy.snippet and not (run.config is not None and remedy.patch):
            snippet = QPlainTextEdit(remedy.snippet.strip("\n"))
            snippet.setReadOnly(True)
            snippet.setFont(QFont("monospace", 9))
            # Code never wraps (a broken identifier reads as two): it scrolls sideways.
            snippet.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            lines = remedy.snippet.strip("\n").count("\n") + 1
            bar = snippet.horizontalScrollBar().sizeHint().height()
            snippet.setFixedHeight(min(10, lines) * 16 + 12 + bar)
            self.snippet = snippet
            layout.addWidget(snippet)
        self.button: QPushButton | None = None
        if remedy.patch:
            row = QHBoxLayout()
            change = plain_label(patch_text(run, dict(remedy.patch)))
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
        self.header = rich_label("")
        self.verdict = rich_label("")
        self.verdict.hide()
        self.list = QListWidget()
        # A long finding line wraps at the dock's width instead of running off its edge.
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
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
        self.confidence: QLabel | None = None  # the selected finding's kind and confidence
        self.why: QLabel | None = None  # the selected rule's documentation (hidden until asked)
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
            item = QListWidgetItem(finding_label(finding))
            item.setForeground(QColor(SEVERITY_COLORS.get(sev, "#333")))
            if is_note(finding):
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
                tip = f"Note (weak evidence, not an alarm): {finding.evidence}"
            else:
                tip = finding.evidence
            item.setToolTip(f"{tip}\nConfidence: {confidence_of(finding)}")
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
        verdict = verdict_text(run.diagnosis)
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
        self.confidence = None
        self.why = None
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
        confidence = confidence_of(finding)
        color = CONFIDENCE_COLORS.get(confidence, "#555")
        kind = ("<i>Note</i> (weak evidence, not an alarm)" if is_note(finding)
                else html.escape(finding.severity.value.capitalize()))
        self.confidence = rich_label(
            f'{kind} · <span style="color:{color}"><b>{html.escape(confidence)} '
            f"confidence</b></span> · <code>{html.escape(finding.rule)}</code>"
        )
        self.detail_layout.addWidget(self.confidence)
        evidence = rich_label(f"<b>Evidence.</b> {html.escape(finding.evidence)}")
        evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if is_note(finding):
            evidence.setStyleSheet(f"color: {NOTE_COLOR};")
        self.detail_layout.addWidget(evidence)
        doc = rule_doc(finding.rule)
        if doc:
            why = rich_label(doc_html(doc))
            why.setStyleSheet("color: #555;")
            why.setVisible(False)
            self.why = why
            toggle = QPushButton("» Why does this matter?")  # Latin-1: every font has it
            toggle.setCheckable(True)
            toggle.setFlat(True)
            toggle.setStyleSheet("text-align: left; color: #1565C0;")
            toggle.toggled.connect(why.setVisible)
            self.detail_layout.addWidget(toggle)
            self.detail_layout.addWidget(why)
        can_apply = run.config is not None  # ours, launched or read back with its config
        if run.config is None:
            note = rich_label("<i>Foreign log: apply the remedy in your own training code.</i>")
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
