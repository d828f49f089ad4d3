"""Docks that take room only when they have something to show.

- :class:`FindingsBox`, the Findings dock's body: the findings panel, or one line
  ("digits-adamw: ✓ healthy: no rule fired") when the current run has no finding
  and no fix to report.
- :class:`CompareSwitch`: the Compare dock appears once two runs are ticked and goes
  away when fewer are; the user can still show or hide it from the View menu.
- :func:`side_widths`: dock widths that leave the charts two usable columns from
  1280 px windows up.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QVBoxLayout, QWidget

from traindoc.gui.core.state import RunState
from traindoc.gui.model import AppModel
from traindoc.gui.widgets.findings_panel import verdict_text

COMPARE_AT = 2  # ticked runs that make a comparison
SIDE_FRACTION = 0.22  # of the window's width, for each side's docks
SIDE_MIN, SIDE_MAX = 300, 440


def side_widths(window_width: int) -> tuple[int, int]:
    """Left and right dock widths for a window this wide (charts keep the rest)."""
    side = int(min(max(window_width * SIDE_FRACTION, SIDE_MIN), SIDE_MAX))
    return side, side


def nothing_to_say(run: RunState | None) -> bool:
    """No finding, no note and no fix verdict: the panel would be empty."""
    return run is None or (not run.findings() and run.fix is None)


def summary_line(run: RunState | None) -> str:
    if run is None:
        return "No run selected: start a run or open a log directory."
    return f"{run.name}: {verdict_text(run.diagnosis)}"


class FindingsBox(QWidget):
    """The findings panel, collapsed to one summary line when there is nothing to say."""

    def __init__(self, model: AppModel, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.panel = panel
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.summary)
        layout.addWidget(panel, 1)
        layout.addStretch(0)
        model.current_changed.connect(lambda _id: self.refresh())
        model.diagnosis_changed.connect(self._maybe_refresh)
        model.run_changed.connect(self._maybe_refresh)
        self.refresh()

    @property
    def collapsed(self) -> bool:
        return self.panel.isHidden()

    def _maybe_refresh(self, run_id: str) -> None:
        if run_id == self.model.state.current:
            self.refresh()

    def refresh(self) -> None:
        run = self.model.current
        collapse = nothing_to_say(run)
        self.summary.setText(summary_line(run))
        self.summary.setVisible(collapse)
        self.panel.setVisible(not collapse)


class CompareSwitch(QObject):
    """Shows the Compare dock when two runs are ticked, hides it when fewer are."""

    def __init__(self, model: AppModel, dock: QDockWidget) -> None:
        super().__init__(dock)
        self.model = model
        self.dock = dock
        self.wanted: bool | None = None
        model.visible_changed.connect(self.update)
        self.update()

    def update(self) -> None:
        wanted = len(self.model.state.checked) >= COMPARE_AT
        if wanted != self.wanted:  # a change of the ticks; the View menu decides otherwise
            self.wanted = wanted
            self.dock.setVisible(wanted)
