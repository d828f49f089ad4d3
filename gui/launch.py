"""Runs launched from the GUI: start, stop, queue, apply a fix, and end them all on close.

Each run goes through :class:`traindoc.engine.launcher.RunHandle` (a spawned process; torch
is imported there, never here), driven by :class:`traindoc.engine.drive.RunDriver`: a
:class:`HandleSource` in the pump steps it at each tick and moves its events into
the model; stopping and closing happen on helper threads so the GUI never blocks
on a child process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from traindoc.engine import rundir
from traindoc.engine.config import ConfigError, RunConfig
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import (
    FAILED,
    RUNNING,
    STOPPED,
    Evaluated,
    Event,
    Failed,
    Finished,
    Metrics,
    Started,
)
from traindoc.engine.launcher import RunHandle
from traindoc.engine.tb.tags import CANONICAL_TAGS
from traindoc.gui.core import lineage
from traindoc.gui.core.state import QUEUED, STARTING, FixInfo
from traindoc.gui.diagnosis import RunDiagnoser
from traindoc.gui.model import AppModel
from traindoc.gui.pump import Pump

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 4.0  # RunHandle.stop escalates within this (+1 s): inside SPEC's 5 s


class HandleSource:
    """Moves one run's events into the model; finished once the run's final event is in."""

    def __init__(self, controller: RunController, run_id: str, handle: RunHandle) -> None:
        self.controller = controller
        self.model = controller.model
        self.run_id = run_id
        self.diagnoser = RunDiagnoser(self.model, run_id)
        self.driver = RunDriver(handle, on_events=self._apply_all, on_end=self._ended)
        self._got = False

    def pump(self, deadline: float) -> bool:
        self._got = False
        if self.driver.step(deadline):
            return True
        if self._got:
            self.diagnoser.update()
        return False

    def _apply_all(self, events: list[Event]) -> None:
        self._got = True
        for event in events:
            self._apply(event)

    def _ended(self, final: Finished | Failed) -> None:
        self.diagnoser.update(force=True)
        self.controller.run_ended(self.run_id, self.driver)

    def _apply(self, event: Any) -> None:
        model, run_id = self.model, self.run_id
        if isinstance(event, Metrics):
            for tag, (steps, values) in event.points.items():
                model.append_points(run_id, tag, steps, values)
            run = model.state.runs[run_id]
            run.progress_step = event.step
            run.info["epoch"] = event.epoch  # 0-based, the epoch running (status bar)
        elif isinstance(event, Evaluated):
            for tag, value in event.metrics.items():
                model.append_points(run_id, tag, [event.step], [value])
        elif isinstance(event, Started):
            info = {
                "device": event.device, "amp": event.amp, "total_steps": event.total_steps,
                "epochs": event.epochs, "steps_per_epoch": event.steps_per_epoch,
                "epoch": 0, "parameters": event.parameters,
                "train_size": event.train_size, "val_size": event.val_size,
                "effective_batch": event.effective_batch, "pid": event.pid,
            }
            model.update_run(run_id, status=RUNNING, info=info)
        elif isinstance(event, Finished):
            model.update_run(run_id, status=event.status, reason=event.reason,
                             summary=dict(event.summary))
        elif isinstance(event, Failed):
            model.update_run(run_id, status=FAILED, reason=event.reason,
                             traceback=event.traceback)


class RunController(QObject):
    """Owns every RunHandle the GUI started."""

    def __init__(self, model: AppModel, pump: Pump, logdir: str | Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.pump = pump
        self.logdir = Path(logdir)
        self.drivers: dict[str, RunDriver] = {}  # of the runs started and not yet ended
        self.pending: list[str] = []  # queued run ids, in order
        self.stopping: set[str] = set()  # asked to stop, process not ended yet
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ starting

    def start(self, config: RunConfig, *, fix: FixInfo | None = None) -> str:
        """Create the run and start its process now; returns the run id."""
        run = self.model.add_run(config.name, "launched", STARTING, config=config,
                                 roles=dict(CANONICAL_TAGS))
        if fix is not None:
            self.model.set_fix(run.id, fix)
        self._launch(run.id)
        return run.id

    def queue(self, configs: list[RunConfig]) -> list[str]:
        """Runs started one after another (each when no launched run is active)."""
        ids = [
            self.model.add_run(c.name, "launched", QUEUED, config=c, roles=dict(CANONICAL_TAGS)).id
            for c in configs
        ]
        self.pending.extend(ids)
        self._start_next()
        return ids

    def apply_fix(self, run_id: str, finding: Any, remedy: Any) -> str:
        """Child run = parent config + the remedy's patch; started now, overlaid on the parent."""
        parent = self.model.run(run_id)
        if parent is None or parent.config is None or not remedy.patch:
            raise ValueError("this remedy has no config change to apply")
        config = lineage.child_config(parent.config, remedy.id, dict(remedy.patch))
        child_id = self.start(config, fix=lineage.fix_info(parent, finding, remedy))
        self.model.set_current(child_id)
        return child_id

    def _launch(self, run_id: str) -> None:
        run = self.model.run(run_id)
        try:
            handle = RunHandle(run.config, self.logdir)
            run_dir = handle.start()
        except (OSError, ConfigError) as exc:
            self.model.update_run(run_id, status=FAILED, reason=f"cannot start: {exc}")
            self._start_next()  # the queue goes on without it
            return
        source = HandleSource(self, run_id, handle)
        self.drivers[run_id] = source.driver
        self.model.update_run(run_id, status=STARTING, run_dir=run_dir, name=run_dir.name)
        if run.fix is not None:
            self._write_parent(run_id, run_dir)
        self.pump.add(source)
        log.info("started %s (pid %s)", run_dir, handle.pid)

    def _write_parent(self, run_id: str, run_dir: Path) -> None:
        run = self.model.run(run_id)
        parent = self.model.run(run.fix.parent)
        rundir.write_parent(run_dir, rundir.ParentLink(
            parent=str(parent.run_dir) if parent and parent.run_dir else None,
            parent_name=parent.name if parent else None,
            rule=run.fix.rule, remedy=run.fix.remedy, patch=run.fix.patch,
        ))

    def _start_next(self) -> None:
        if self.pending and not any(
            self.model.run(r).status in (STARTING, RUNNING) for r in self.drivers
            if self.model.run(r) is not None
        ):
            self._launch(self.pending.pop(0))

    # ------------------------------------------------------------ ending

    def run_ended(self, run_id: str, driver: RunDriver) -> None:
        """Called by the run's source once its final event is in."""
        self.drivers.pop(run_id, None)
        self._in_thread(driver.close)
        run = self.model.run(run_id)
        if run_id in self.stopping:
            self.stopping.discard(run_id)
            if run is not None:  # replaces the "stopping…" line
                self.model.message.emit(f"{run.name}: {run.status}")
        if run is not None and run.fix is not None:
            verdict = lineage.verdict(self.model.state, run)
            if verdict is not None:
                self.model.set_verdict(run_id, verdict)
        self._start_next()

    def stop(self, run_id: str) -> None:
        """Ask the run to stop; it ends within 5 s (stop request, SIGTERM, then SIGKILL)."""
        if run_id in self.pending:
            self.pending.remove(run_id)
            self.model.update_run(run_id, status=STOPPED, reason="removed from the queue")
            return
        driver = self.drivers.get(run_id)
        if driver is not None:
            self.stopping.add(run_id)
            self.model.message.emit(f"stopping {self.model.run(run_id).name}…")
            self._in_thread(lambda: driver.stop(STOP_TIMEOUT_S))

    def close_all(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """End every child process (window closing): all stopped in parallel, then reaped."""
        self.pending.clear()
        drivers = list(self.drivers.values())
        self.drivers.clear()
        stoppers = [driver.stop_in_background(timeout) for driver in drivers]
        for thread in stoppers:
            thread.join(timeout + 2.0)
        for driver in drivers:
            try:
                driver.close()
            except Exception:
                log.exception("closing a run handle failed")
        for thread in self._threads:
            thread.join(timeout + 2.0)
        self._threads.clear()

    def _in_thread(self, target) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)
