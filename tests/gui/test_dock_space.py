"""Space: Compare appears with two ticked runs, Findings is one line when healthy, the
charts keep two usable columns at 1280×720."""

from __future__ import annotations

import numpy as np

from tests.gui.conftest import add_run
from tests.gui.test_panels import _diagnosis
from traindoc.diagnostics.types import Diagnosis, Status
from traindoc.gui.dock_space import side_widths

LOSS = {"train/loss": (np.arange(50), np.linspace(2, 1, 50)),
        "val/loss": (np.arange(0, 50, 10), np.linspace(2, 1.2, 5))}
ROLES = {"train_loss": "train/loss", "val_loss": "val/loss"}


def test_compare_dock_hidden_until_two_runs_are_ticked(window):
    a = add_run(window.model, "a", roles=ROLES, points=LOSS)
    b = add_run(window.model, "b", roles=ROLES, points=LOSS)
    assert window.compare_dock.isHidden()
    window.model.set_checked(a.id, True)
    assert window.compare_dock.isHidden()
    window.model.set_checked(b.id, True)
    assert window.compare_dock.isVisible()
    assert len(window.compare.values()) == 2
    window.model.set_checked(a.id, False)
    assert window.compare_dock.isHidden()


def test_findings_collapse_to_one_line_when_healthy(window):
    run = add_run(window.model, "digits-adamw", roles=ROLES, points=LOSS)
    box = window.findings_box
    assert box.collapsed and box.summary.text() == "digits-adamw: not diagnosed yet"
    window.model.set_diagnosis(run.id, Diagnosis(Status.HEALTHY, ()))
    assert box.collapsed
    assert box.summary.isVisible()
    assert box.summary.text() == "digits-adamw: ✓ healthy: no rule fired"
    one_line = box.summary.fontMetrics().lineSpacing()
    assert box.summary.heightForWidth(box.summary.width()) < 2 * one_line
    window.model.set_diagnosis(run.id, _diagnosis())
    assert not box.collapsed and window.findings.isVisible() and box.summary.isHidden()
    assert window.findings.list.count() == 2


def test_charts_keep_two_columns_of_200px_at_1280x720(qtbot, window):
    add_run(window.model, "a", roles=ROLES, points=LOSS)
    window.resize(1280, 720)
    qtbot.wait(50)
    shown = window.charts.shown_charts()
    assert len(shown) >= 2
    plots = [window.charts.plots[key] for key in shown[:2]]
    qtbot.waitUntil(lambda: all(p.geometry().height() >= 200 for p in plots))
    for plot in plots:
        rect = plot.geometry()
        assert rect.height() >= 200 and rect.width() >= 250, rect
    assert plots[0].geometry().x() < plots[1].geometry().x()  # side by side


def test_side_widths_leave_the_charts_most_of_the_window():
    assert side_widths(1280) == (300, 300)
    assert side_widths(1440) == (316, 316)
    assert side_widths(3000) == (440, 440)
