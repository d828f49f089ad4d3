"""One QTimer (~31 Hz) drains every live source within a time budget, then asks for a frame.

A source is anything with ``pump(deadline) -> bool``: it moves what arrived (run
events, new log records) into the model until ``time.perf_counter()`` passes
``deadline`` and returns True once it is finished for good. A background run is
a source through its :class:`traindoc.engine.drive.RunDriver` (:class:`DriverSource`,
or ``gui.launch.HandleSource`` for the window's runs). After draining, the pump
emits ``AppModel.frame`` once; each chart then redraws only the curves whose
series changed — ``setData`` once per curve per frame, never per point. A pump
without a model (a finder dialog opened on its own) only drains.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, QTimer

from traindoc.gui.model import AppModel

if TYPE_CHECKING:  # the launcher loads only when a run starts, not before the window shows
    from traindoc.engine.drive import RunDriver

log = logging.getLogger(__name__)

# ~31 Hz: just over SPEC §8's 30 fps, so that a late tick now and then keeps it above;
# a precise timer, since a coarse one may stretch each interval by up to 5%.
FRAME_MS = 32
DRAIN_BUDGET_S = 0.010  # time per tick for moving data; the rest is for drawing


class Source(Protocol):
    def pump(self, deadline: float) -> bool: ...


class DriverSource:
    """A background run as a source: each tick delivers what arrived, until the run ends."""

    def __init__(self, driver: RunDriver) -> None:
        self.driver = driver

    def pump(self, deadline: float) -> bool:
        return self.driver.step(deadline)


class Pump(QObject):
    def __init__(
        self,
        model: AppModel | None,
        *,
        interval_ms: int = FRAME_MS,
        budget_s: float = DRAIN_BUDGET_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.budget_s = budget_s
        self.sources: list[Source] = []
        self.ticks = 0
        self._frame_requested = False
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)

    def add(self, source: Source) -> None:
        self.sources.append(source)
        if not self.timer.isActive():
            self.timer.start()

    def remove(self, source: Source) -> None:
        if source in self.sources:
            self.sources.remove(source)

    def request_frame(self) -> None:
        """Redraw at the next tick even when no source is live (e.g. after loading a log)."""
        self._frame_requested = True
        if not self.timer.isActive():
            self.timer.start()

    def tick(self) -> None:
        self.ticks += 1
        deadline = time.perf_counter() + self.budget_s
        for source in list(self.sources):
            try:
                done = source.pump(deadline)
            except Exception:  # a broken source must not take the GUI down
                log.exception("source %r failed; dropping it", source)
                done = True
            if done:
                self.remove(source)
        self._frame_requested = False
        if self.model is not None:
            self.model.frame.emit()
        if not self.sources and not self._frame_requested:
            self.timer.stop()

    def stop(self) -> None:
        self.timer.stop()
        self.sources.clear()
