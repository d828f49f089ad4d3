"""The mouse wheel never changes a setting it scrolls over.

Combo boxes, spin boxes and sliders take wheel input only once focused (a click or
Tab): :func:`guard` gives them ``Qt.StrongFocus`` (the wheel no longer focuses
them) and a filter that hands an unfocused widget's wheel events to the scroll
area around it, so scrolling a long form scrolls the form.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


class WheelGuard(QObject):
    """Event filter: a wheel event on an unfocused widget goes to its scroll area."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = _scroll_area(obj)
        if area is not None:
            QCoreApplication.sendEvent(area.viewport(), event)
        else:
            event.ignore()
        return True


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, QComboBox):
            return parent
        parent = parent.parentWidget()
    return None


def guard(root: QWidget, wheel_guard: WheelGuard) -> int:
    """Guard every combo box, spin box and slider under ``root``; returns how many."""
    widgets = [w for w in root.findChildren(QWidget)
               if isinstance(w, GUARDED) and not isinstance(w, QScrollBar)]
    for widget in widgets:  # a scroll bar keeps its wheel: it is the scrolling
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(wheel_guard)
    return len(widgets)
