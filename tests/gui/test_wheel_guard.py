"""The mouse wheel scrolls the New-run form; it changes a choice only once focused."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from traindoc.gui.config_draft import DraftModel


@pytest.fixture
def form(qtbot):
    from traindoc.gui.widgets.config_form import ConfigForm

    widget = ConfigForm(DraftModel())
    qtbot.addWidget(widget)
    widget.resize(360, 240)  # much shorter than the form: it scrolls
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def wheel(widget, notches: int = -1) -> None:
    """One synthetic wheel turn (-1: towards the user, i.e. scroll down) over ``widget``."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(widget, event)


def test_wheel_over_an_unfocused_combo_scrolls_the_form_not_the_choice(form):
    combo = form.editors["schedule.kind"]
    before = combo.currentText()
    bar = form.verticalScrollBar()
    assert bar.maximum() > 0
    start = bar.value()
    for _ in range(3):
        wheel(combo)
    assert combo.currentText() == before == "warmup-plateau-decay"
    assert form.draft.values["schedule.kind"] == before
    assert bar.value() > start


def test_guarded_widgets_take_focus_only_by_click_or_tab(form):
    for key in ("optim.name", "schedule.kind", "data.dataset", "train.amp"):
        assert form.editors[key].focusPolicy() == Qt.FocusPolicy.StrongFocus


def test_a_focused_combo_takes_the_wheel(qtbot, form):
    combo = form.editors["optim.name"]
    form.ensureWidgetVisible(combo)
    form.activateWindow()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    before = combo.currentIndex()
    assert before > 0  # adamw, the last: a turn away from the user goes one up the list
    wheel(combo, 1)
    assert combo.currentIndex() == before - 1
    assert form.draft.values["optim.name"] == combo.currentText()
