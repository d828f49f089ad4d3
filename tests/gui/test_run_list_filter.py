"""The run list of a big tree: the filter box keeps the runs whose name, status or a
finding's rule contains its text; a click on Findings sorts most severe first, and the
list stays so sorted as diagnoses arrive."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import add_run
from traindoc.diagnostics.types import Diagnosis, Finding, Severity, Status


def diagnosis(*findings: tuple[str, Severity]) -> Diagnosis:
    alarm = any(sev != Severity.INFO for _, sev in findings)
    return Diagnosis(
        Status.PROBLEMS if alarm else Status.HEALTHY,
        tuple(Finding(rule, sev, rule, 0, 10, "evidence") for rule, sev in findings),
    )


def make_list(qtbot, model):
    from traindoc.gui.widgets.run_list import RunList

    run_list = RunList(model)
    box = run_list.panel()
    qtbot.addWidget(box)
    run_list.box_for_test = box  # the panel owns the list: keep it alive
    runs = {
        name: add_run(model, name)
        for name in ("mnist-sgd", "mnist-adam", "cifar-sgd", "cifar-adam", "imdb")
    }
    model.set_diagnosis(runs["mnist-sgd"].id, diagnosis(("divergence", Severity.ERROR)))
    model.set_diagnosis(runs["mnist-adam"].id, diagnosis())
    model.set_diagnosis(runs["cifar-sgd"].id, diagnosis(
        ("overfitting", Severity.WARNING), ("oscillation", Severity.WARNING)))
    model.set_diagnosis(runs["cifar-adam"].id, diagnosis(("slow-descent", Severity.INFO)))
    return run_list, {name: run.id for name, run in runs.items()}


def names(run_list, model) -> list[str]:
    return [model.run(i).name for i in run_list.visible_run_ids()]


def test_filter_matches_name_status_or_rule(qtbot, model):
    run_list, _ = make_list(qtbot, model)
    assert run_list.filter_box.parent() is not None  # shown above the list
    run_list.filter_box.setText("mnist")
    assert names(run_list, model) == ["mnist-sgd", "mnist-adam"]
    run_list.filter_box.setText("OSCILL")  # a rule, any case
    assert names(run_list, model) == ["cifar-sgd"]
    run_list.filter_box.setText("problems")  # the diagnosis status
    assert names(run_list, model) == ["mnist-sgd", "cifar-sgd"]
    run_list.filter_box.setText("sgd")
    assert names(run_list, model) == ["mnist-sgd", "cifar-sgd"]
    run_list.filter_box.setText("")
    assert len(names(run_list, model)) == 5


def test_filter_applies_to_runs_that_arrive_or_change(qtbot, model):
    run_list, ids = make_list(qtbot, model)
    run_list.filter_box.setText("nan-loss")
    assert names(run_list, model) == []
    model.set_diagnosis(ids["imdb"], diagnosis(("nan-loss", Severity.ERROR)))
    assert names(run_list, model) == ["imdb"]
    late = add_run(model, "late-run")
    assert names(run_list, model) == ["imdb"]  # no match: hidden as it arrives
    model.set_diagnosis(late.id, diagnosis(("nan-loss", Severity.ERROR)))
    assert names(run_list, model) == ["imdb", "late-run"]


def test_sort_by_findings_most_severe_first_and_kept_sorted(qtbot, model):
    from traindoc.gui.widgets.run_list import COL_FINDINGS, RESORT_MS

    run_list, ids = make_list(qtbot, model)
    run_list.sort_by(COL_FINDINGS)
    # an error; two warnings; a note only; healthy; not diagnosed yet
    assert names(run_list, model) == [
        "mnist-sgd", "cifar-sgd", "cifar-adam", "mnist-adam", "imdb"]
    model.set_diagnosis(ids["imdb"], diagnosis(("nan-loss", Severity.ERROR),
                                               ("divergence", Severity.ERROR)))
    qtbot.wait(RESORT_MS + 200)
    assert names(run_list, model)[:2] == ["imdb", "mnist-sgd"]  # two errors before one
    run_list.sort_by(COL_FINDINGS, Qt.SortOrder.DescendingOrder)
    assert names(run_list, model) == [  # reversed: not diagnosed (none left), healthy first
        "mnist-adam", "cifar-adam", "cifar-sgd", "mnist-sgd", "imdb"]
