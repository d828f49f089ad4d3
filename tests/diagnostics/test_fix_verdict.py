"""diagnostics.fix_verdict: the fix loop's verdict, without a GUI or a run folder."""

from __future__ import annotations

from traindoc.diagnostics.fix_verdict import (
    Verdict,
    alarm_rules,
    compared_roles,
    judge_fix,
)
from traindoc.diagnostics.types import Confidence, Diagnosis, Finding, Severity, Status


def _finding(rule: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(rule, severity, rule, 0, 10, "evidence", confidence=Confidence.HIGH)


def test_compared_roles_prefer_validation_then_fall_back_to_the_training_loss():
    assert compared_roles(["train_loss", "val_accuracy", "val_loss"]) == (
        "val_loss", "val_accuracy")
    assert compared_roles(["train_loss", "train_accuracy"]) == ("train_loss",)
    assert compared_roles(["train_accuracy"]) == ()


def test_a_finished_child_without_the_alarm_resolves_it():
    verdict = judge_fix("divergence", Diagnosis(Status.HEALTHY), finished=True,
                        metrics=[("val_loss", 2.5, 0.2)])
    assert verdict == Verdict("divergence", True, (("val_loss", 2.5, 0.2),), "")
    assert verdict.text() == "divergence: resolved · best val loss 2.5 → 0.2"


def test_the_same_alarm_is_still_present_and_new_alarms_are_named():
    diagnosis = Diagnosis(Status.PROBLEMS, (_finding("divergence"), _finding("overfitting")))
    verdict = judge_fix("divergence", diagnosis, finished=True)
    assert verdict.resolved is False
    assert verdict.why == "new: overfitting"
    assert verdict.text() == "divergence: still present (new: overfitting)"


def test_a_note_left_behind_is_not_the_problem():
    diagnosis = Diagnosis(Status.HEALTHY, (_finding("oscillation", Severity.INFO),))
    assert alarm_rules(diagnosis) == frozenset()
    verdict = judge_fix("oscillation", diagnosis, finished=True)
    assert verdict.resolved is True
    assert verdict.why == "oscillation remains only as a note"


def test_an_unfinished_or_too_short_child_is_inconclusive():
    failed = judge_fix("divergence", Diagnosis(Status.HEALTHY), finished=False, status="stopped",
                       metrics=[("val_loss", 2.5, None)])
    assert failed.resolved is None
    assert failed.text() == "divergence: inconclusive (the fixed run ended stopped) · " \
        "best val loss 2.5 → —"
    short = judge_fix("divergence", Diagnosis(Status.INSUFFICIENT_DATA), finished=True)
    assert short.resolved is None and short.why == "the fixed run has too little data to judge"
