"""App state and the fix loop's lineage logic (Qt-free)."""

from __future__ import annotations

import dataclasses

import numpy as np

from traindoc.diagnostics.fix_verdict import alarm_rules
from traindoc.diagnostics.remedies import mark_tried
from traindoc.diagnostics.types import Confidence, Diagnosis, Finding, Remedy, Severity, Status
from traindoc.engine.config import RunConfig
from traindoc.gui.core import lineage
from traindoc.gui.core.state import AppState, FixInfo


def _finding(rule="divergence", ids=("lower-lr", "add-warmup", "clip-grad")):
    remedies = tuple(Remedy(i, f"do {i}", patch={"optim.lr": 0.1}) for i in ids)
    return Finding(rule, Severity.ERROR, "Loss diverged", 10, 50, "it rose", remedies=remedies)


def test_visible_runs_are_checked_current_parent_and_children():
    state = AppState()
    a = state.new_run("a", "launched", "finished")
    b = state.new_run("b", "launched", "finished")
    c = state.new_run("c", "launched", "finished", fix=FixInfo(a.id, "divergence", "lower-lr", {}))
    d = state.new_run("d", "log", "log")
    assert state.current == a.id
    assert state.visible_runs() == [a.id, c.id]
    state.checked.add(d.id)
    assert state.visible_runs() == [a.id, c.id, d.id]
    state.current = c.id
    assert state.visible_runs() == [a.id, c.id, d.id]
    state.current = b.id
    assert state.visible_runs() == [b.id, d.id]


def test_lineage_and_tried_remedies_follow_the_fix_chain():
    state = AppState()
    a = state.new_run("a", "launched", "finished")
    b = state.new_run("b", "launched", "finished", fix=FixInfo(a.id, "divergence", "lower-lr", {}))
    fix = FixInfo(b.id, "divergence", "add-warmup", {})
    c = state.new_run("c", "launched", "finished", fix=fix)
    assert [r.id for r in state.lineage(c.id)] == [a.id, b.id, c.id]
    assert state.tried_remedies(c.id, "divergence") == {"lower-lr", "add-warmup"}
    assert state.tried_remedies(c.id, "overfitting") == set()


def test_child_config_applies_the_patch_and_names_the_fix():
    parent = RunConfig()
    child = lineage.child_config(parent, "lower-lr", {"optim.lr": 0.0001})
    assert child.optim.lr == 0.0001
    assert child.name == "digits-adamw-fix-lower-lr"
    assert child.model == parent.model


def test_mark_tried_moves_applied_remedies_last():
    diagnosis = Diagnosis(Status.PROBLEMS, (_finding(),))
    marked = mark_tried(diagnosis, {"divergence": {"lower-lr"}})
    remedies = marked.findings[0].remedies
    assert [r.id for r in remedies] == ["add-warmup", "clip-grad", "lower-lr"]
    assert [r.already_tried for r in remedies] == [False, False, True]
    assert marked.findings[0].next_remedy().id == "add-warmup"


def test_verdict_reports_resolution_and_best_validation_metrics():
    state = AppState()
    parent = state.new_run("p", "launched", "diverged", roles={"val_loss": "val/loss"})
    parent.tag_series("val/loss").append([10, 20], [2.5, np.nan])
    child = state.new_run(
        "c", "launched", "finished", roles={"val_loss": "val/loss"},
        fix=FixInfo(parent.id, "divergence", "lower-lr", {"optim.lr": 0.5}),
    )
    child.tag_series("val/loss").append([10, 20], [0.4, 0.2])
    child.diagnosis = Diagnosis(Status.HEALTHY, ())
    verdict = lineage.verdict(state, child)
    assert verdict.resolved and verdict.rule == "divergence"
    assert verdict.metrics == (("val_loss", 2.5, 0.2),)
    assert verdict.text() == "divergence: resolved · best val loss 2.5 → 0.2"
    child.diagnosis = Diagnosis(Status.PROBLEMS, (_finding(),))
    assert not lineage.verdict(state, child).resolved


def test_verdict_counts_only_alarms_not_info_notes():
    state = AppState()
    parent = state.new_run("p", "launched", "finished")
    child = state.new_run(
        "c", "launched", "finished",
        fix=FixInfo(parent.id, "metric-mismatch", "check-loss", {}),
    )
    note = Finding("metric-mismatch", Severity.INFO, "Loss and metric disagree", 5, 40,
                   "weak", confidence=Confidence.LOW)
    other_note = dataclasses.replace(note, rule="overfitting")
    child.diagnosis = Diagnosis(Status.HEALTHY, (note, other_note))
    verdict = lineage.verdict(state, child)
    assert verdict.resolved is True  # a weak trace left as a note is not the problem
    assert verdict.why == "metric-mismatch remains only as a note"
    assert "overfitting" not in verdict.text()  # a new note is not a new problem
    alarm = dataclasses.replace(note, severity=Severity.WARNING, confidence=Confidence.HIGH)
    child.diagnosis = Diagnosis(Status.PROBLEMS, (alarm,))
    assert lineage.verdict(state, child).resolved is False
    child.diagnosis = Diagnosis(Status.PROBLEMS, (_finding(), note))
    verdict = lineage.verdict(state, child)
    assert verdict.resolved is True and verdict.why.startswith("new: divergence")
    assert alarm_rules(child.diagnosis) == {"divergence"}


def test_verdict_is_inconclusive_for_a_failed_or_too_short_child():
    # Regression: a fix whose child crashed at step 3 was shown as "resolved".
    state = AppState()
    parent = state.new_run("p", "launched", "diverged", roles={"val_loss": "val/loss"})
    fix = FixInfo(parent.id, "divergence", "lower-lr", {"optim.lr": 0.5})
    failed = state.new_run("c", "launched", "failed", roles={"val_loss": "val/loss"}, fix=fix)
    failed.diagnosis = Diagnosis(Status.HEALTHY, ())
    verdict = lineage.verdict(state, failed)
    assert verdict.resolved is None and "ended failed" in verdict.text()
    short = state.new_run("s", "launched", "finished", roles={"val_loss": "val/loss"}, fix=fix)
    short.diagnosis = Diagnosis(Status.INSUFFICIENT_DATA, ())
    assert lineage.verdict(state, short).resolved is None
    assert "too little data" in lineage.verdict(state, short).text()


def test_a_run_keeps_its_colour_and_colours_are_colour_blind_safe():
    from traindoc.gui.core.state import PALETTE

    state = AppState()
    runs = [state.new_run(f"r{k}", "log", "log") for k in range(7)]
    colors = [r.color for r in runs]
    assert colors == list(PALETTE[:7])  # by run order, all distinct, Okabe–Ito first
    assert "#F0E442" not in PALETTE  # Okabe–Ito's yellow is unreadable on white
    alike = [("#E69F00", "#D55E00"), ("#0072B2", "#56B4E9")]  # orange/vermilion, two blues
    for a, b in alike:  # far apart in the order: a compare of four runs never gets both
        assert abs(PALETTE.index(a) - PALETTE.index(b)) >= 4
    state.current = runs[3].id
    state.checked.update({runs[0].id, runs[5].id})
    assert [r.color for r in runs] == colors  # selection never recolours
    state.remove_run(runs[2].id)
    assert state.new_run("again", "log", "log").color == colors[2]  # the freed colour
    assert [r.color for r in runs if r.id != runs[2].id] == colors[:2] + colors[3:]
