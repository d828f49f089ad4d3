"""The status bar's progress line: the running run's epoch/step, throughput and ETA.

At each frame the line follows the current run when it is training, otherwise the
first training run; a run being stopped reads "stopping NAME…" until its process
has ended (:attr:`traindoc.gui.launch.RunController.stopping`), then the line clears.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QStatusBar

from traindoc.engine.events import RUNNING
from traindoc.gui.core.progress import StepRate, progress_line
from traindoc.gui.core.state import RunState
from traindoc.gui.model import AppModel


class ProgressStatus(QLabel):
    """A permanent status-bar label; ``stopping`` says which runs are being stopped."""

    def __init__(self, model: AppModel, bar: QStatusBar, *,
                 stopping: Callable[[], set[str]] = set,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.model = model
        self.stopping = stopping
        self.clock = clock
        self.rates: dict[str, StepRate] = {}
        bar.addPermanentWidget(self)
        model.frame.connect(self.refresh)
        model.run_changed.connect(lambda _id: self.refresh())
        model.current_changed.connect(lambda _id: self.refresh())

    def _shown_run(self, training: list[RunState]) -> RunState | None:
        current = self.model.current
        if current is not None and current in training:
            return current
        return training[0] if training else None

    def refresh(self) -> None:
        now = self.clock()
        training = [r for r in self.model.runs()
                    if r.kind == "launched" and r.status == RUNNING]
        for run in training:
            self.rates.setdefault(run.id, StepRate()).add(now, run.progress_step)
        for run_id in set(self.rates) - {r.id for r in training}:
            del self.rates[run_id]
        stopping = [r for r in map(self.model.run, sorted(self.stopping())) if r is not None]
        if stopping:
            self.setText(f"stopping {', '.join(r.name for r in stopping)}…")
            return
        run = self._shown_run(training)
        if run is None:
            self.setText("")
            return
        self.setText(progress_line(run.name, run.progress_step, run.info,
                                   self.rates[run.id].per_second()))
