""""Fix until healthy" in the window: the repair loop of ``traindoc train --auto-fix``,
with every attempt a launched run of the window.

The loop itself is :class:`traindoc.engine.repair.session.RepairSession` (the policy is
``diagnostics.repair_policy``'s): it runs on a worker thread, and starts each attempt
through :class:`GuiRuns`, which asks the window's :class:`~traindoc.gui.launch.RunController`
to launch it on the GUI thread. So an attempt is charted live like any launched run,
linked to the run it was fixed from (the run list's tree grows as the loop goes), and
gets its verdict when it ends. :class:`RepairController` forwards the session's records
to the GUI thread; Stop ends the loop and its running attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from traindoc.engine.events import TERMINAL_STATUSES
from traindoc.engine.repair import text
from traindoc.engine.repair.events import AttemptEnded, AttemptStarted, RepairEnded
from traindoc.engine.repair.runs import TrainRuns
from traindoc.engine.repair.session import DEFAULT_ATTEMPTS, RepairSession
from traindoc.gui.core.lineage import repair_blocker
from traindoc.gui.core.state import FixInfo

#: How long the loop's thread waits for the GUI thread to launch an attempt.
CALL_TIMEOUT_S = 30.0


class Bridge(QObject):
    """Runs callables on the GUI thread for the loop's thread."""

    posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.posted.connect(lambda fn: fn())  # queued: the receiver lives in the GUI thread

    def post(self, fn: Callable[[], Any]) -> None:
        self.posted.emit(fn)

    def call(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the GUI thread, waited for; its exception is raised here."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            done.set()

        self.post(run)
        if not done.wait(CALL_TIMEOUT_S):
            raise RuntimeError("the window did not answer (closing?)")
        if "error" in box:
            raise box["error"]
        return box["value"]


class GuiRun:
    """One attempt launched in the window (the loop's ``ActiveRun``)."""

    def __init__(self, controller: Any, bridge: Bridge, run_id: str, run_dir: Path) -> None:
        self.controller = controller
        self.bridge = bridge
        self.run_id = run_id
        self.run_dir = run_dir
        self._stopping = False

    def _run(self):
        return self.controller.model.run(self.run_id)

    @property
    def started(self) -> bool:
        run = self._run()
        return run is not None and "total_steps" in run.info

    def step(self) -> bool:
        run = self._run()
        return run is None or (self.run_id not in self.controller.drivers
                               and run.status in TERMINAL_STATUSES)

    def stop_soon(self) -> None:
        if not self._stopping:
            self._stopping = True
            self.bridge.post(lambda: self.controller.stop(self.run_id))

    def close(self) -> None:
        """Nothing to release: the window owns the run."""


class GuiRuns(TrainRuns):
    """The built-in trainer's configs, launched by the window's run controller."""

    def __init__(self, controller: Any, bridge: Bridge) -> None:
        self.controller = controller
        self.bridge = bridge
        self.by_dir: dict[Path, str] = {}  # run folder -> the window's run id
        self.closed = False  # the window is closing: nothing new starts

    def start(self, config: Any, logdir: Path, on_events: Any) -> GuiRun:
        def launch() -> tuple[str, Path]:
            if self.closed:
                raise RuntimeError("the window is closing")
            run_id = self.controller.start(config)
            run = self.controller.model.run(run_id)
            if run.run_dir is None:
                raise RuntimeError(f"{config.name}: {run.reason or 'could not start'}")
            return run_id, Path(run.run_dir)

        run_id, run_dir = self.bridge.call(launch)
        self.by_dir[run_dir] = run_id
        return GuiRun(self.controller, self.bridge, run_id, run_dir)


@dataclass(slots=True)
class Repair:
    """One repair in the window: its session, thread, attempts' run ids and lines."""

    session: RepairSession
    runs: GuiRuns
    attempt_ids: list[str]  # attempt index -> run id (0: the run it started from)
    lines: list[str] = field(default_factory=list)
    ended: RepairEnded | None = None
    error: str = ""  # the loop stopped on an unexpected error (shown as a line)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.ended is None and not self.error


class RepairController(QObject):
    """Starts "Fix until healthy" on a finished run and reports what happens."""

    changed = Signal()  # a new attempt, a new line, or the end

    def __init__(self, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.bridge = Bridge(self)
        self.repair: Repair | None = None

    @property
    def running(self) -> bool:
        return self.repair is not None and self.repair.running

    def can_repair(self, run_id: str | None) -> str | None:
        """Why run ``run_id`` cannot be repaired now, or None when it can."""
        return repair_blocker(self.window.model.run(run_id), running=self.running)

    def start(self, run_id: str, attempts: int = DEFAULT_ATTEMPTS) -> Repair:
        """Repair run ``run_id`` on a worker thread; raises ValueError when it cannot be."""
        why = self.can_repair(run_id)
        if why is not None:
            raise ValueError(why)
        run = self.window.model.run(run_id)
        runs = GuiRuns(self.window.runs, self.bridge)
        session = RepairSession(run.config, self.window.logdir, attempts=attempts, runs=runs,
                                first_run=run.run_dir)
        self.repair = Repair(session, runs, [run_id])
        self.repair.thread = threading.Thread(target=self._loop, args=(self.repair,),
                                              name="traindoc-repair", daemon=True)
        self.repair.thread.start()
        self.window.model.message.emit(f"fix until healthy: {run.name}, up to {attempts} "
                                       "attempts")
        return self.repair

    def stop(self) -> None:
        if self.running:
            self.repair.session.stop()
            self.window.model.message.emit("fix until healthy: stopping…")

    def close(self, timeout: float = 1.0) -> None:
        """Window closing: end the loop; nothing new starts (the run controller stops
        the running attempt)."""
        if self.repair is not None and self.repair.thread is not None:
            self.repair.runs.closed = True
            self.repair.session.stop()
            self.repair.thread.join(timeout)

    # ------------------------------------------------------------ the loop's thread

    def _loop(self, repair: Repair) -> None:
        session = repair.session
        try:
            for event in session.events():
                lines = self._lines(session, event)
                self.bridge.post(lambda e=event, ls=lines: self._show(repair, e, ls))
        except Exception as exc:  # shown in the window, never lost in a thread
            message = f"fix until healthy stopped: {type(exc).__name__}: {exc}"
            self.bridge.post(lambda: self._failed(repair, message))

    @staticmethod
    def _lines(session: RepairSession, event: Any) -> list[str]:
        """The command line's words for ``event`` (worked out on the loop's thread,
        where the session's lists are current)."""
        if isinstance(event, AttemptEnded):
            attempts, records = list(session.attempts), list(session.records)
            return [text.attempt_line(attempts, records, event.attempt, event.record)]
        if isinstance(event, RepairEnded):
            return [text.ending_line(event.result), *text.diff_lines(event.result)] + (
                [f"report: {event.report}"] if event.report else [])
        return []

    # ------------------------------------------------------------ the GUI thread

    def _show(self, repair: Repair, event: Any, lines: list[str]) -> None:
        model = self.window.model
        if isinstance(event, AttemptStarted) and event.index > 0:
            run_id = repair.runs.by_dir.get(Path(event.run_dir))
            if run_id is not None and model.run(run_id) is not None:
                repair.attempt_ids.append(run_id)
                parent = repair.attempt_ids[event.parent or 0]
                model.set_fix(run_id, FixInfo(parent, event.rule, event.remedy,
                                              dict(event.patch)))
                model.set_checked(parent, True)
                model.set_checked(run_id, True)
                model.set_current(run_id)
        if isinstance(event, RepairEnded):
            repair.ended = event
            final = repair.runs.by_dir.get(Path(event.result.final_dir), repair.attempt_ids[0])
            if model.run(final) is not None:
                model.set_current(final)
        repair.lines += lines
        for line in lines:
            model.message.emit(line)
        self.changed.emit()

    def _failed(self, repair: Repair, message: str) -> None:
        repair.error = message
        repair.lines.append(message)
        self.window.model.message.emit(message)
        self.changed.emit()

    def progress(self) -> tuple[int, int, int, int]:
        """(attempt, attempts allowed, epoch of the running attempt, its epochs)."""
        repair = self.repair
        if repair is None:
            return 0, 0, 0, 0
        index = len(repair.attempt_ids) - 1
        run = self.window.model.run(repair.attempt_ids[-1])
        epoch = int(run.info.get("epoch", 0)) if run is not None else 0
        epochs = int(run.info.get("epochs", 0)) if run is not None else 0
        if run is not None and run.status in TERMINAL_STATUSES:
            epoch = epochs
        return index, repair.session.budget, epoch, epochs
