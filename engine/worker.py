"""Entry point of the training process (spawned by :mod:`traindoc.engine.launcher`).

This module imports torch only inside :func:`main`, so the parent process can
name ``traindoc.engine.worker.main`` as a process target without loading torch.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from traindoc.engine import rundir
from traindoc.engine.events import FAILED, STOPPED, TERMINAL_STATUSES, Finished
from traindoc.engine.train.failures import failure_event
from traindoc.engine.train.failures import out_of_memory as out_of_memory  # its old home

# The launcher puts its own PID here before spawning (so a parent that dies while the
# child is still starting is noticed: the child compares against it, not against
# whatever os.getppid() says once it has been re-parented).
PARENT_PID_ENV = "TRAINDOC_PARENT_PID"
# Linux: the kernel sends this when the parent dies (prctl PR_SET_PDEATHSIG). Not
# SIGTERM: the signal is also sent when the *thread* that spawned us exits, so its
# handler checks that the parent is really gone before stopping anything.
PDEATH_SIGNAL = signal.SIGUSR1
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.1  # how often the watchdog looks at the parent and the stop flags
# A run told to stop (parent gone) ends on its own at its next flush; past this, the
# watchdog ends the process itself, so it is gone within 2 s of the parent's death.
GRACE_SECONDS = 1.3

PARENT_EXITED = "parent process exited"
STOPPED_BY_SIGTERM = "stopped (SIGTERM)"
STOPPED_BY_USER = "stopped by user"


class Emitter:
    """Numbers events in order and puts them on the queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.seq = 0
        # An event went out (Started, or a finder's first Metrics): the body is past its
        # set-up, it polls should_stop and has something to save when stopping.
        self.started = False
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self.lock:
            self.queue.put(replace(event, seq=self.seq))
            self.seq += 1
            self.started = True


Body = Callable[..., Any]  # (config, run_dir, *, emit, should_stop) -> Finished


def main(config_toml: str, run_dir: str, queue: Any, stop_event: Any) -> None:
    """Run one config; every outcome ends with a Finished or Failed event."""
    run_in_worker(_train, config_toml, run_dir, queue, stop_event)


def _train(config: Any, run_dir: Path, *, emit: Emitter, should_stop: Callable[[], bool]) -> Any:
    if config.train.nproc_per_node != 1 or config.train.nnodes != 1:
        from traindoc.engine.ddp_relay import run_distributed  # torchrun's ranks train

        return run_distributed(config, run_dir, emit=emit, should_stop=should_stop)
    from traindoc.engine.train.loop import run_training  # imports torch: training process only

    return run_training(config, run_dir, emit=emit, should_stop=should_stop)


def expected_parent_pid() -> int:
    """The PID the launcher passed (its own), else our parent's PID right now."""
    try:
        return int(os.environ[PARENT_PID_ENV])
    except (KeyError, ValueError):
        return os.getppid()


def parent_alive(parent_pid: int) -> bool:
    return os.getppid() == parent_pid


def die_with_parent() -> bool:
    """Ask Linux to send :data:`PDEATH_SIGNAL` when our parent dies (False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(PDEATH_SIGNAL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class Supervisor:
    """The worker's stop flags and the watchdog thread that enforces them.

    Three reasons to stop, by priority: the parent died (``orphaned``), the parent
    asked (``stop_event``), SIGTERM (``terminated``). ``should_stop`` is what the
    body polls; the watchdog ends the process itself when the body cannot stop in
    time: at once if it has not started training (nothing to save yet), and
    :data:`GRACE_SECONDS` after the parent's death otherwise.
    """

    def __init__(self, run_dir: str, queue: Any, stop_event: Any, emit: Emitter) -> None:
        self.parent_pid = expected_parent_pid()
        self.run_dir = run_dir
        self.queue = queue
        self.stop_event = stop_event
        self.emit = emit
        self.orphaned = threading.Event()
        self.terminated = threading.Event()
        self.done = threading.Event()
        self._orphaned_at: float | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent decides
        if hasattr(signal, "pthread_sigmask"):  # the launcher spawned us with it blocked
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGTERM, lambda *_: self.terminated.set())
        signal.signal(PDEATH_SIGNAL, lambda *_: self.check_parent())
        die_with_parent()
        self.check_parent()  # it may have died before prctl: no signal for that
        threading.Thread(target=self._watch, name="traindoc-watchdog", daemon=True).start()

    def check_parent(self) -> bool:
        if not self.orphaned.is_set() and not parent_alive(self.parent_pid):
            self._orphaned_at = time.monotonic()
            self.orphaned.set()
        return self.orphaned.is_set()

    def should_stop(self) -> bool:
        return self.stop_event.is_set() or self.terminated.is_set() or self.check_parent()

    def stop_reason(self) -> str:
        if self.orphaned.is_set():
            return PARENT_EXITED
        if self.stop_event.is_set():
            return STOPPED_BY_USER
        if self.terminated.is_set():
            return STOPPED_BY_SIGTERM
        return ""

    def _watch(self) -> None:
        while not self.done.wait(WATCH_SECONDS):
            self.check_parent()
            try:
                stop = self.stop_event.is_set() or self.terminated.is_set()
            except OSError:  # the parent's end of the event went away with it
                stop = False
            if self.orphaned.is_set() or stop:
                with self.emit.lock:
                    if not self.emit.started:
                        self._end_now()
                if (
                    self._orphaned_at is not None
                    and time.monotonic() - self._orphaned_at >= GRACE_SECONDS
                ):
                    self._end_now()

    def _end_now(self) -> None:
        """Mark the run stopped and end the process (from the watchdog thread)."""
        if self.done.is_set():
            return
        reason = self.stop_reason()
        written = (rundir.read_status(self.run_dir) or {}).get("status")
        if written not in TERMINAL_STATUSES:
            rundir.write_status(self.run_dir, STOPPED, reason, pid=os.getpid())
        if self.orphaned.is_set():
            self.queue.cancel_join_thread()  # nobody reads the queue any more
        else:
            finished = Finished(
                seq=self.emit.seq,
                status=STOPPED,
                reason=reason,
                steps=0,
                epochs_done=0,
                seconds=0.0,
            )
            self.queue.put(finished)
            self.queue.close()
            self.queue.join_thread()
        sys.stderr.flush()
        os._exit(0)


def _relabel_stop(run_dir: str, finished: Any, reason: str) -> Any:
    """The body says "stopped by user" for any stop; say which stop it was."""
    if getattr(finished, "status", None) != STOPPED or not reason or finished.reason == reason:
        return finished
    record = rundir.read_status(run_dir) or {}
    extra = {k: v for k, v in record.items() if k not in ("status", "reason", "time")}
    rundir.write_status(run_dir, STOPPED, reason, **extra)
    return replace(finished, reason=reason)


def run_in_worker(body: Body, config_toml: str, run_dir: str, queue: Any, stop_event: Any) -> None:
    """The worker's frame around ``body``: signals, events, and every failure reported.

    ``body(config, run_dir, emit=..., should_stop=...)`` returns the final event
    (``Finished``); other process targets (``traindoc.engine.find.worker``) reuse this.
    """
    emit = Emitter(queue)
    supervisor = Supervisor(run_dir, queue, stop_event, emit)
    supervisor.install()  # first: before the config is parsed or torch imported

    try:
        from traindoc.engine import config as config_module

        config = config_module.loads(config_toml, source=str(Path(run_dir) / "config.toml"))
        finished = body(config, Path(run_dir), emit=emit, should_stop=supervisor.should_stop)
        emit(_relabel_stop(run_dir, finished, supervisor.stop_reason()))
    except BaseException as exc:  # every failure is reported, never lost
        failed = failure_event(exc, run_dir, started=emit.started)
        rundir.write_status(run_dir, FAILED, failed.reason, pid=os.getpid())
        emit(failed)
    finally:
        supervisor.done.set()
        if supervisor.orphaned.is_set():
            queue.cancel_join_thread()  # a full pipe nobody reads must not keep us alive
        queue.close()
        queue.join_thread()  # make sure every event reached the pipe before exiting
