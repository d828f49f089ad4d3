"""``AppModel``: the Qt face of :class:`traindoc.gui.core.state.AppState`.

Views take the model in ``__init__``, subscribe to its signals and write back
through its methods; they never call each other. Points are appended without a
signal per call: the pump emits ``frame`` once per tick and each chart redraws the
curves whose series changed since it last drew them.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from traindoc.diagnostics.fix_verdict import Verdict
from traindoc.gui.core.state import X_AXES, AppState, FixInfo, RunState

log = logging.getLogger(__name__)


class AppModel(QObject):
    run_added = Signal(str)
    run_removed = Signal(str)
    run_changed = Signal(str)  # status, reason, summary, info
    roles_changed = Signal(str)
    diagnosis_changed = Signal(str)
    current_changed = Signal(str)
    visible_changed = Signal()
    highlight_changed = Signal()
    smoothing_changed = Signal(float)
    log_y_changed = Signal(bool)
    x_axis_changed = Signal(str)  # "step", "relative" or "wall" (state.X_AXES)
    frame = Signal()  # once per pump tick, after new points were appended
    message = Signal(str)  # a line for the status bar

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = AppState()

    # ------------------------------------------------------------ runs

    def runs(self) -> list[RunState]:
        return list(self.state.runs.values())

    def run(self, run_id: str | None) -> RunState | None:
        return self.state.get(run_id)

    def add_run(self, name: str, kind: str, status: str, **fields: Any) -> RunState:
        first = self.state.current is None
        run = self.state.new_run(name, kind, status, **fields)
        self.run_added.emit(run.id)
        if first:
            self.current_changed.emit(run.id)
        if first or run.id in self.state.checked:  # else not on the charts (yet)
            self.visible_changed.emit()
        return run

    def remove_run(self, run_id: str) -> None:
        was_current = self.state.current == run_id
        self.state.remove_run(run_id)
        self.run_removed.emit(run_id)
        if was_current:
            self.current_changed.emit(self.state.current or "")
        self.visible_changed.emit()
        self.highlight_changed.emit()

    def update_run(self, run_id: str, **changes: Any) -> None:
        run = self.state.runs[run_id]
        for key, value in changes.items():
            setattr(run, key, value)
        self.run_changed.emit(run_id)

    def append_points(self, run_id: str, tag: str, steps, values, walls=None) -> None:
        self.state.runs[run_id].tag_series(tag).append(steps, values, walls)

    def set_roles(self, run_id: str, roles: dict[str, str], *, uncertain=frozenset()) -> None:
        run = self.state.runs[run_id]
        run.roles = dict(roles)
        run.uncertain_roles = frozenset(uncertain)
        self.roles_changed.emit(run_id)

    def set_diagnosis(self, run_id: str, diagnosis: Any) -> None:
        run = self.state.runs.get(run_id)
        if run is None:
            return
        run.diagnosis = diagnosis
        hl = self.state.highlight
        if hl is not None and hl[0] == run_id:
            spans = {(f.step_start, f.step_end) for f in run.findings()}
            if (hl[1], hl[2]) not in spans:
                self.state.highlight = None
                self.highlight_changed.emit()
        self.diagnosis_changed.emit(run_id)

    def set_fix(self, run_id: str, fix: FixInfo) -> None:
        self.state.runs[run_id].fix = fix
        self.run_changed.emit(run_id)
        self.visible_changed.emit()

    def set_verdict(self, run_id: str, verdict: Verdict) -> None:
        self.state.runs[run_id].verdict = verdict
        self.run_changed.emit(run_id)
        self.message.emit(f"{self.state.runs[run_id].name}: {verdict.text()}")

    # ------------------------------------------------------------ selection

    @property
    def current(self) -> RunState | None:
        return self.state.get(self.state.current)

    def set_current(self, run_id: str) -> None:
        if run_id == self.state.current or run_id not in self.state.runs:
            return
        self.state.current = run_id
        hl = self.state.highlight
        if hl is not None and hl[0] != run_id:
            self.state.highlight = None
            self.highlight_changed.emit()
        self.current_changed.emit(run_id)
        self.visible_changed.emit()

    def set_checked(self, run_id: str, checked: bool) -> None:
        if checked == (run_id in self.state.checked):
            return
        (self.state.checked.add if checked else self.state.checked.discard)(run_id)
        self.run_changed.emit(run_id)
        self.visible_changed.emit()

    def set_checked_runs(self, run_ids) -> None:
        self.state.checked = {r for r in run_ids if r in self.state.runs}
        for run_id in self.state.runs:
            self.run_changed.emit(run_id)
        self.visible_changed.emit()

    def visible_runs(self) -> list[str]:
        return self.state.visible_runs()

    def set_highlight(self, run_id: str | None, start: int = 0, end: int = 0) -> None:
        value = None if run_id is None else (run_id, int(start), int(end))
        if value == self.state.highlight:
            return
        self.state.highlight = value
        self.highlight_changed.emit()

    # ------------------------------------------------------------ chart options

    def set_smoothing(self, weight: float) -> None:
        weight = min(max(float(weight), 0.0), 0.999)
        if weight == self.state.smoothing:
            return
        self.state.smoothing = weight
        self.smoothing_changed.emit(weight)

    def set_log_y(self, on: bool) -> None:
        if bool(on) == self.state.log_y:
            return
        self.state.log_y = bool(on)
        self.log_y_changed.emit(bool(on))

    def set_x_axis(self, mode: str) -> None:
        if mode == self.state.x_axis or mode not in X_AXES:
            return
        self.state.x_axis = mode
        self.x_axis_changed.emit(mode)
