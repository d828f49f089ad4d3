"""Run list, findings panel, compare table and run details against the model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from tests.gui.conftest import add_run
from traindoc.diagnostics.fix_verdict import Verdict
from traindoc.diagnostics.types import Confidence, Diagnosis, Finding, Remedy, Severity, Status
from traindoc.engine.config import RunConfig
from traindoc.gui.core.state import FixInfo


def _diagnosis():
    remedies = (
        Remedy("lower-lr", "Lower the learning rate ten-fold.", snippet="lr = lr / 10",
               patch={"optim.lr": 0.0001}),
        Remedy("add-warmup", "Warm up.", patch={"schedule.warmup": 0.05}, already_tried=True),
        Remedy("check-data", "Check the data."),
    )
    return Diagnosis(Status.PROBLEMS, (
        Finding("divergence", Severity.ERROR, "Loss diverged", 40, 90, "loss 2.3 → 1e4",
                remedies=remedies),
        Finding("oscillation", Severity.WARNING, "Loss oscillates", 5, 30, "±50%"),
    ))


# ---------------------------------------------------------------- run list


@pytest.fixture
def run_list(qtbot, model):
    from traindoc.gui.widgets.run_list import RunList

    widget = RunList(model)
    qtbot.addWidget(widget)
    return widget


def test_run_list_shows_status_badges_and_nests_fixes(model, run_list):
    from traindoc.gui.widgets.run_list import COL_FINDINGS, COL_STATUS

    parent = add_run(model, "parent", kind="launched", status="diverged")
    child = add_run(model, "parent-fix-lower-lr", kind="launched", status="running",
                    fix=FixInfo(parent.id, "divergence", "lower-lr", {"optim.lr": 0.1}))
    other = add_run(model, "other", status="failed")
    items = run_list.items
    assert run_list.topLevelItemCount() == 2
    assert items[child.id].parent() is items[parent.id]
    assert [items[r].text(COL_STATUS) for r in (parent.id, child.id, other.id)] == [
        "diverged", "running", "failed"]
    model.update_run(child.id, status="finished")
    assert items[child.id].text(COL_STATUS) == "finished"
    model.set_diagnosis(parent.id, _diagnosis())
    assert items[parent.id].text(COL_FINDINGS) == "✖ 2: divergence"
    assert "fix of parent for divergence: lower-lr" in items[child.id].toolTip(0)


def test_run_list_writes_selection_and_checks_to_the_model(model, run_list):
    a = add_run(model, "a")
    b = add_run(model, "b")
    run_list.setCurrentItem(run_list.items[b.id])
    assert model.state.current == b.id
    run_list.items[a.id].setCheckState(0, Qt.CheckState.Checked)
    assert model.state.checked == {a.id}
    model.set_current(a.id)
    assert run_list.currentItem() is run_list.items[a.id]
    model.remove_run(b.id)
    assert b.id not in run_list.items and run_list.topLevelItemCount() == 1


# ---------------------------------------------------------------- findings


@pytest.fixture
def findings(qtbot, model):
    from traindoc.gui.widgets.findings_panel import FindingsPanel

    widget = FindingsPanel(model)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_findings_list_evidence_and_remedies_in_order(model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis())
    assert findings.list.count() == 2
    assert findings.list.item(0).text() == (
        "✖ Loss diverged  —  steps 40–90  ·  high confidence")
    assert "high confidence" in findings.confidence.text()
    assert [c.remedy.id for c in findings.cards] == ["lower-lr", "add-warmup", "check-data"]
    assert findings.fix_button("lower-lr").isEnabled()
    assert not findings.fix_button("add-warmup").isEnabled()  # already tried
    assert findings.fix_button("check-data") is None  # text only
    assert model.state.highlight is None  # only a click shades


def test_clicking_a_finding_shades_its_range(model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis())
    findings.list.setCurrentRow(1)
    assert model.state.highlight == (run.id, 5, 30)
    findings.select_finding("divergence")
    assert model.state.highlight == (run.id, 40, 90)


def test_apply_fix_asks_for_the_remedy(qtbot, model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis())
    with qtbot.waitSignal(findings.apply_fix_requested) as blocker:
        findings.fix_button("lower-lr").click()
    run_id, finding, remedy = blocker.args
    assert (run_id, finding.rule, remedy.id) == (run.id, "divergence", "lower-lr")


def test_foreign_logs_get_text_and_snippet_but_no_fix_button(model, findings):
    run = add_run(model, "foreign")
    model.set_diagnosis(run.id, _diagnosis())
    assert not findings.fix_button("lower-lr").isEnabled()
    labels = findings.detail.findChildren(QLabel)
    assert any("Foreign log" in label.text() for label in labels)


def test_verdict_banner_for_a_fix_child(model, findings):
    parent = add_run(model, "p", kind="launched")
    child = add_run(model, "c", kind="launched",
                    fix=FixInfo(parent.id, "divergence", "lower-lr", {"optim.lr": 0.1}))
    model.set_current(child.id)
    assert "waiting for the run to end" in findings.verdict.text()
    model.set_verdict(child.id, Verdict("divergence", True, (("val_loss", 2.0, 0.5),)))
    assert "divergence: resolved · best val loss 2 → 0.5" in findings.verdict.text()


def _with_notes():
    remedies = (
        Remedy("check-loss", "Check the loss itself.", snippet="assert torch.isfinite(loss)"),
        Remedy("lower-lr", "Lower the learning rate ten-fold.", patch={"optim.lr": 0.0001}),
    )
    return Diagnosis(Status.PROBLEMS, (
        Finding("overfitting", Severity.WARNING, "Overfitting", 10, 90, "val_loss rose 4%",
                confidence=Confidence.MEDIUM),
        Finding("metric-mismatch", Severity.INFO, "Loss and metric disagree", 5, 50,
                "val_loss fell 10% while val_f1 fell 3%", remedies=remedies,
                confidence=Confidence.LOW),
    ))


def test_findings_show_confidence_and_info_as_a_muted_note(model, findings):
    from traindoc.gui.widgets.findings_panel import NOTE_COLOR, SEVERITY_COLORS

    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _with_notes())
    warn, note = findings.list.item(0), findings.list.item(1)
    assert warn.text() == "▲ Overfitting  —  steps 10–90  ·  medium confidence"
    assert note.text() == "ℹ Note: Loss and metric disagree  —  steps 5–50  ·  low confidence"
    assert note.font().italic() and not warn.font().italic()
    assert note.foreground().color().name().upper() == NOTE_COLOR.upper()
    assert warn.foreground().color().name().upper() == SEVERITY_COLORS["warning"].upper()
    assert "not an alarm" in note.toolTip() and "Confidence: low" in note.toolTip()
    assert "1 finding, 1 note" in findings.header.text()
    findings.select_finding("metric-mismatch")
    assert "Note" in findings.confidence.text() and "low confidence" in findings.confidence.text()
    assert "metric-mismatch" in findings.confidence.text()
    # metric-mismatch's remedies like any other rule's: the snippet, then the fix.
    assert [c.remedy.id for c in findings.cards] == ["check-loss", "lower-lr"]
    assert findings.fix_button("check-loss") is None and findings.fix_button("lower-lr")
    # "why?" text: the registry's docstring, or SPEC §4's meaning while it is unregistered.
    toggles = [b for b in findings.detail.findChildren(QPushButton) if "Why" in b.text()]
    assert len(toggles) == 1
    from traindoc.gui.widgets.findings_panel import rule_doc

    labels = [label.text() for label in findings.detail.findChildren(QLabel)]
    first_line = rule_doc("metric-mismatch").splitlines()[0]
    assert first_line and any(first_line.split(":")[0] in text for text in labels)


def test_a_run_with_only_notes_reads_healthy(model, findings, run_list):
    from traindoc.gui.widgets.run_list import COL_FINDINGS

    run = add_run(model, "r", kind="launched", config=RunConfig())
    note = _with_notes().findings[1]
    model.set_diagnosis(run.id, Diagnosis(Status.HEALTHY, (note,)))
    assert "✓ healthy: no alarm, 1 note" in findings.header.text()
    assert findings.list.count() == 1
    assert run_list.items[run.id].text(COL_FINDINGS) == "✓ ℹ 1 note: metric-mismatch"
    model.set_diagnosis(run.id, _with_notes())
    assert run_list.items[run.id].text(COL_FINDINGS) == "▲ 1: overfitting (+1 note)"


def test_rule_doc_is_robust_to_unknown_rules():
    from traindoc.diagnostics.registry import RULES_BY_ID
    from traindoc.gui.widgets.findings_panel import rule_doc

    assert rule_doc("no-such-rule") == ""
    # The registry's docstring once the rule is registered; SPEC §4's meaning until then.
    if "metric-mismatch" not in RULES_BY_ID:
        assert "objective metric" in rule_doc("metric-mismatch")
    assert rule_doc("metric-mismatch")
    assert "What it detects" in rule_doc("divergence")


# ---------------------------------------------------------------- compare and details


def test_compare_table_lists_final_and_best_metrics(qtbot, model):
    from traindoc.gui.widgets.compare_table import CompareTable

    table = CompareTable(model)
    qtbot.addWidget(table)
    roles = {"train_loss": "train/loss", "val_loss": "val/loss", "val_accuracy": "val/accuracy"}
    a = add_run(model, "sgd", roles=roles, config=RunConfig(), points={
        "train/loss": ([1, 2], [2.0, 1.0]), "val/loss": ([1, 2], [0.9, 1.1]),
        "val/accuracy": ([1, 2], [0.5, 0.7])})
    b = add_run(model, "adam", roles=roles, points={
        "train/loss": ([1, 2], [1.0, 0.5]), "val/loss": ([1, 2], [0.5, 0.4])})
    model.set_checked_runs([a.id, b.id])
    rows = table.values()
    assert rows[0][:9] == ["sgd", "finished", "adamw lr 0.001", "1", "1.1", "0.9", "1", "0.7",
                           "0.7"]
    assert rows[1][:9] == ["adam", "finished", "", "0.5", "0.4", "0.4", "2", "—", "—"]


def test_run_details_show_the_traceback_of_a_failed_run(qtbot, model):
    from traindoc.gui.widgets.run_details import RunDetails

    details = RunDetails(model)
    qtbot.addWidget(details)
    details.show()
    run = add_run(model, "boom", kind="launched", status="running", config=RunConfig())
    assert details.traceback.isHidden()
    model.update_run(run.id, status="failed", reason="ValueError: boom",
                     traceback="Traceback (most recent call last):\nValueError: boom\n")
    assert details.traceback.isVisible()
    assert "ValueError: boom" in details.traceback.toPlainText()
    assert "ValueError: boom" in details.summary.text()
    with qtbot.waitSignal(details.use_config_requested) as blocker:
        details.use_config.click()
    assert blocker.args[0] == RunConfig()


def test_role_override_dialog_returns_the_users_choice(qtbot, model):
    from traindoc.gui.dialogs.role_override import NONE, RoleOverrideDialog

    run = add_run(model, "r", roles={"train_loss": "loss"},
                  points={"loss": ([1], [1.0]), "Loss/train": ([1], [1.0]), "acc": ([1], [0.5])})
    run.uncertain_roles = frozenset({"train_loss"})
    dialog = RoleOverrideDialog(run, {"train_loss": ["Loss/train", "loss"]})
    qtbot.addWidget(dialog)
    combo = dialog.combos["train_loss"]
    assert [combo.itemText(i) for i in range(combo.count())][:3] == [NONE, "Loss/train", "loss"]
    assert combo.currentText() == "loss"
    combo.setCurrentText("Loss/train")
    dialog.combos["val_accuracy"].setCurrentText("acc")
    overrides = dialog.overrides()
    assert overrides["train_loss"] == "Loss/train" and overrides["val_accuracy"] == "acc"
    assert overrides["lr"] == ""


def test_values_are_not_copied_per_point(model):
    run = add_run(model, "r", roles={"train_loss": "t"}, points={"t": (np.arange(10), np.ones(10))})
    series = run.series("train_loss")
    assert series.values.base is not None  # a view of the growable buffer


def test_switching_to_a_healthy_run_clears_the_previous_details(model, findings):
    parent = add_run(model, "a", kind="launched", config=RunConfig())
    model.set_diagnosis(parent.id, _diagnosis())
    findings.list.setCurrentRow(0)
    child = add_run(model, "b", kind="launched",
                    fix=FixInfo(parent.id, "divergence", "lower-lr", {}))
    model.set_current(child.id)
    model.set_diagnosis(child.id, Diagnosis(Status.HEALTHY, ()))
    visible = [label for label in findings.detail.findChildren(QLabel) if label.isVisible()]
    assert visible == [] and findings.cards == [] and findings.list.count() == 0
    assert "healthy" in findings.header.text()


def test_a_long_finding_line_wraps_at_the_docks_width(qtbot, model, findings):
    run = add_run(model, "r", kind="launched", config=RunConfig())
    model.set_diagnosis(run.id, _diagnosis())
    findings.resize(260, 600)
    findings.show()
    qtbot.waitExposed(findings)
    item = findings.list.item(0)
    one_line = findings.list.fontMetrics().height()
    assert findings.list.horizontalScrollBar().maximum() == 0  # nothing runs off the edge
    assert findings.list.visualItemRect(item).height() > 1.5 * one_line  # it wrapped
