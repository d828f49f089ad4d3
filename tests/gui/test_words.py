"""The panels' words as a user sees them (issue 12, items 12-14): real diagnoses rendered
in the findings panel, the run details and the run list, read back as displayed text."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QPushButton

from tests.gui.conftest import add_run
from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import RunData, Series
from traindoc.engine.config import RunConfig, to_dict
from traindoc.gui.core.state import FixInfo

ENTITY = re.compile(r"&[a-z#0-9]+;")
REPR = re.compile(r"'[a-z]+'|\{'|= True\b|= False\b")
INTERNAL = re.compile(r"(?i)\bthe seed\b|\bseed's\b|\bSPEC\b|§")


def shown(label: QLabel) -> str:
    """The text a label displays: rich text rendered, plain text as it is."""
    text = label.text()
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and Qt.mightBeRichText(text))
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def _diagnosis(config, **roles):
    series = {role: Series.of(values) for role, values in roles.items()}
    return diagnose(RunData(series, config=config, name="r"))


BLOW_UP = [100, 50, 200, 10, 500, math.nan]
OVERFIT = dict(
    train_loss=np.exp(-np.linspace(0, 3, 40)),
    val_loss=np.r_[np.linspace(1.0, 0.5, 20), np.linspace(0.52, 0.9, 20)],
)


@pytest.fixture
def findings(qtbot, model):
    from traindoc.gui.widgets.findings_panel import FindingsPanel

    widget = FindingsPanel(model)
    qtbot.addWidget(widget)
    widget.resize(420, 900)
    widget.show()
    return widget


def _texts(panel) -> list[str]:
    labels = [panel.header, *panel.detail.findChildren(QLabel)]
    return [shown(label) for label in labels if label.isVisibleTo(panel) or label is panel.why]


@pytest.mark.parametrize("own", [True, False])
def test_findings_panel_shows_plain_words_for_real_runs(model, findings, own):
    config = RunConfig()
    run = add_run(model, "r", kind="launched" if own else "log",
                  config=config if own else None)
    model.set_diagnosis(run.id, _diagnosis(to_dict(config) if own else None,
                                           train_loss=BLOW_UP))
    rules = [f.rule for f in findings._findings]
    assert rules[0] == "nan-loss"
    for row in range(len(rules)):
        findings.list.setCurrentRow(row)
        texts = _texts(findings)
        for text in texts:
            assert not ENTITY.search(text), text
            assert not REPR.search(text), text
            assert not INTERNAL.search(text), text
        assert findings.why is not None and findings.why.textFormat() == Qt.TextFormat.RichText
        assert all(ord(c) <= 0xFF for c in shown(findings.why))  # every font has the glyphs
    findings.list.setCurrentRow(0)
    card = findings.cards[0]
    assert card.remedy.id == "lower-lr"
    texts = [shown(label) for label in card.findChildren(QLabel)]
    assert any("(e.g. lr 0.01 -> 0.001)" in t for t in texts)  # not "-&gt;"
    if own:
        assert "optim.lr 0.001 → 0.0001" in texts


def test_why_text_wraps_at_word_boundaries(model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis(to_dict(RunConfig()), train_loss=BLOW_UP))
    toggle = next(b for b in findings.detail.findChildren(QPushButton)
                  if "Why does this matter?" in b.text())
    assert all(ord(c) <= 0xFF for c in toggle.text())
    toggle.setChecked(True)
    why = shown(findings.why)
    # One paragraph per section: the docstring's hard line breaks are gone, so the label
    # wraps the text at its own width, between words.
    assert "Why it matters\nOnce the weights hold NaN, every later step is wasted: the run is " \
           "dead. The cause decides the fix" in why
    assert findings.why.wordWrap()


def test_patch_reads_like_the_config_file_everywhere(model, qtbot):
    from traindoc.gui.widgets.run_details import RunDetails
    from traindoc.gui.widgets.run_list import RunList

    parent = add_run(model, "parent", kind="launched", status="finished", config=RunConfig())
    child = add_run(model, "parent-fix-early-stopping", kind="launched", status="finished",
                    config=RunConfig(),
                    fix=FixInfo(parent.id, "overfitting", "early-stopping",
                                {"train.early_stopping": True, "optim.name": "adamw"}))
    details = RunDetails(model)
    run_list = RunList(model)
    qtbot.addWidget(details)
    qtbot.addWidget(run_list)
    model.set_current(child.id)
    summary = shown(details.summary)
    assert "(train.early_stopping = true, optim.name = adamw)" in summary
    assert not REPR.search(summary) and not ENTITY.search(summary)
    tip = run_list.items[child.id].toolTip(0)
    assert "(train.early_stopping = true, optim.name = adamw)" in tip


def test_own_overfitting_run_offers_a_patch_in_plain_words(model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis(to_dict(RunConfig()), **OVERFIT))
    findings.select_finding("overfitting")
    texts = [shown(label) for card in findings.cards for label in card.findChildren(QLabel)]
    assert "train.early_stopping false → true" in texts


def test_markdown_report_shows_config_changes_without_reprs(model):
    from traindoc.gui.export import _finding_section, _run_section

    parent = add_run(model, "parent", kind="launched", status="finished", config=RunConfig())
    child = add_run(model, "child", kind="launched", status="finished", config=RunConfig(),
                    fix=FixInfo(parent.id, "divergence", "lower-lr", {"optim.lr": 0.5}))
    lines = _run_section(model, child)
    assert "- fix of parent: `lower-lr` for `divergence` (optim.lr = 0.5)" in lines
    model.set_diagnosis(parent.id, _diagnosis(to_dict(RunConfig()), **OVERFIT))
    finding = next(f for f in parent.findings() if f.rule == "overfitting")
    text = "\n".join(_finding_section(finding))
    assert "Config change: `train.early_stopping = true`" in text
    assert not REPR.search(text) and not ENTITY.search(text)


def test_verdict_counts_findings_and_notes_in_proper_english():
    from traindoc.diagnostics.types import Confidence, Diagnosis, Finding, Severity, Status
    from traindoc.gui.widgets.findings_panel import verdict_text

    def finding(severity):
        return Finding("overfitting", severity, "Overfitting", 1, 2, "e",
                       confidence=Confidence.HIGH)

    two = Diagnosis(Status.PROBLEMS, (finding(Severity.ERROR), finding(Severity.WARNING),
                                      finding(Severity.INFO)))
    assert verdict_text(two) == "2 findings, 1 note"
    one = Diagnosis(Status.PROBLEMS, (finding(Severity.ERROR),))
    assert verdict_text(one) == "1 finding"


def test_code_snippets_never_wrap_and_fallback_docs_are_plain(model, findings):
    from PySide6.QtWidgets import QPlainTextEdit

    from traindoc.gui.widgets.findings_panel import FALLBACK_DOCS

    run = add_run(model, "r")
    model.set_diagnosis(run.id, _diagnosis(None, train_loss=BLOW_UP))
    snippets = [card.snippet for card in findings.cards if card.snippet is not None]
    assert snippets and all(s.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap
                            for s in snippets)
    for doc in FALLBACK_DOCS.values():
        assert not INTERNAL.search(doc) and all(ord(c) <= 0xFF for c in doc)


REALRUNS = Path(__file__).resolve().parents[2].parent / "shared" / "realruns"


@pytest.mark.skipif(not REALRUNS.is_dir(), reason=f"{REALRUNS} is absent")
def test_findings_panel_for_real_logs(model, findings):
    from traindoc.engine.run_diagnosis import diagnose_log
    from traindoc.engine.tb.reader import load_path

    shown_findings = 0
    for folder in sorted(p for p in REALRUNS.iterdir() if p.is_dir()):
        logs = load_path(folder)
        if not logs:
            continue
        run = add_run(model, folder.name)
        model.set_diagnosis(run.id, diagnose_log(logs[0]))
        model.set_current(run.id)
        for row in range(findings.list.count()):
            findings.list.setCurrentRow(row)
            for text in [*_texts(findings), findings.list.item(row).toolTip()]:
                assert not ENTITY.search(text), (folder.name, text)
                assert not REPR.search(text), (folder.name, text)
                assert not INTERNAL.search(text), (folder.name, text)
            assert all(ord(c) <= 0xFF for c in shown(findings.why))
            shown_findings += 1
    assert shown_findings >= 20


def test_own_runs_get_the_config_change_not_pytorch_code(model, findings):
    run = add_run(model, "digits-sgd-lr5", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis(to_dict(RunConfig()), train_loss=BLOW_UP))
    lower = next(card for card in findings.cards if card.remedy.id == "lower-lr")
    assert lower.snippet is None and lower.button is not None  # Apply fix, no AdamW code
    check = next(card for card in findings.cards if card.remedy.id == "check-data")
    assert check.snippet is not None  # no config change: the code is the advice
    foreign = add_run(model, "foreign")
    model.set_diagnosis(foreign.id, _diagnosis(None, train_loss=BLOW_UP))
    model.set_current(foreign.id)
    lower = next(card for card in findings.cards if card.remedy.id == "lower-lr")
    assert lower.snippet is not None and "torch.optim" in lower.snippet.toPlainText()
