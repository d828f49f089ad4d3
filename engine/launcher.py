"""Run a config in a spawned background process and stream its events back.

``RunHandle.start()`` writes the run folder and its ``config.toml`` in the
parent (so even a run whose process dies at once can be inspected), then spawns
``traindoc.engine.worker.main``. ``poll()`` never blocks; ``stop()`` ends the child within
its timeout (a stop request, then SIGTERM, then SIGKILL). A child that exits
without a final event is reported as ``Failed`` with the reason.
:class:`traindoc.engine.drive.RunDriver` is what polls and stops a handle, for the
command line and the GUI alike.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_module
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.engine.events import (
    FAILED,
    TERMINAL_STATUSES,
    Event,
    Failed,
    Finished,
    SequenceChecker,
)
from traindoc.engine.worker import PARENT_PID_ENV
from traindoc.engine.worker import main as worker_main

# How long poll() keeps draining the queue of a dead child before declaring it gone.
DRAIN_SECONDS = 0.5
# stop()'s default: the child is gone within this plus 1 s at worst (SPEC §8: 5 s).
STOP_SECONDS = 4.0
JOIN_SLICE_SECONDS = 0.05


class RunHandle:
    """One training run in a background process."""

    def __init__(
        self,
        config: config_module.RunConfig,
        logdir: str | Path,
        *,
        target: Callable[..., None] = worker_main,
    ) -> None:
        config_module.validate(config)
        self.target = target
        self.config = config
        self.logdir = Path(logdir)
        self.run_dir: Path | None = None
        self.sequence = SequenceChecker()
        self.final: Finished | Failed | None = None
        self._ctx = mp.get_context("spawn")
        self._queue: Any = None
        self._stop_event: Any = None
        self._process: Any = None
        self._dead_since: float | None = None
        self._backlog: deque[Event] = deque()  # drained by stop(), returned by poll()
        self.warnings: list[str] = []  # e.g. a status.json that could not be written

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Path:
        """Make the run folder and spawn the child; an ``OSError`` (a full disk, no
        permission) leaves no run folder behind."""
        run_dir = rundir.make_run_dir(self.logdir, self.config.name)
        try:
            config_module.save(self.config, run_dir / rundir.CONFIG_FILE)
            rundir.write_status(run_dir, "starting", strict=True)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        self.run_dir = run_dir
        self._queue = self._ctx.Queue()
        self._stop_event = self._ctx.Event()
        self._process = self._ctx.Process(
            target=self.target,
            args=(
                config_module.dumps(self.config),
                str(self.run_dir),
                self._queue,
                self._stop_event,
            ),
            name=f"traindoc-{self.config.name}",
            daemon=True,
        )
        # The child learns our PID before it imports anything heavy, so it notices our
        # death even while it is starting (traindoc.engine.worker.Supervisor).
        os.environ[PARENT_PID_ENV] = str(os.getpid())
        with _sigint_held_for_child():
            self._process.start()
        return self.run_dir

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask the child to stop, then escalate; returns once it is gone (≤ timeout + 1 s).

        The queue is drained while waiting (into a backlog that ``poll`` returns
        first): a child whose unread events fill the pipe could not exit otherwise,
        and its last events, its final status among them, would be lost.
        """
        if self._process is None:
            return
        self._stop_event.set()
        deadline = time.monotonic() + timeout
        self._join_draining(time.monotonic() + timeout * 0.6)
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: the worker stops at the next step
            self._join_draining(deadline)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)
        self._reader_nonblocking()
        self._drain()

    def _reader_nonblocking(self) -> None:
        """Once the child is dead, a message it was killed in the middle of writing must
        not block us forever (we hold the pipe's write end too, so no EOF ever comes):
        reads then fail fast instead (BlockingIOError, an OSError)."""
        if self._queue is not None and not self._process.is_alive():
            os.set_blocking(self._queue._reader.fileno(), False)

    def _join_draining(self, deadline: float) -> None:
        while self._process.is_alive() and time.monotonic() < deadline:
            self._drain()
            self._process.join(min(JOIN_SLICE_SECONDS, max(0.0, deadline - time.monotonic())))

    def _drain(self) -> None:
        """Move whatever the queue holds into the backlog (never blocks)."""
        if self._queue is None:
            return
        while True:
            try:
                self._backlog.append(self._queue.get_nowait())
            except queue_module.Empty:
                return
            except (EOFError, OSError, ValueError):  # ValueError: closed meanwhile
                return

    def close(self) -> None:
        """Stop the child if needed and release the queue."""
        if self._process is None:
            return
        if self._process.is_alive():
            self.stop()
        self.poll(max_items=1_000_000)
        if self._queue is not None:
            self._queue.close()
            self._queue.cancel_join_thread()

    # ------------------------------------------------------------ events

    def poll(self, max_items: int = 1000) -> list[Event]:
        """Events that arrived since the last call, at most ``max_items``; never blocks."""
        events: list[Event] = []
        if self._queue is None:
            return events
        if self.final is None and not self._process.is_alive():
            self._reader_nonblocking()
        while len(events) < max_items:
            if self._backlog:
                event = self._backlog.popleft()
            else:
                try:
                    event = self._queue.get_nowait()
                except queue_module.Empty:
                    break
                except (EOFError, OSError, ValueError):  # ValueError: closed meanwhile
                    break
            self.sequence.see(event.seq)
            if isinstance(event, Finished | Failed):
                self.final = event
            events.append(event)
        if not events and self.final is None and not self._process.is_alive():
            # The child is gone: give the queue's pipe a moment to deliver what it sent.
            now = time.monotonic()
            if self._dead_since is None:
                self._dead_since = now
            elif now - self._dead_since >= DRAIN_SECONDS:
                events.append(self._report_death())
        return events

    def _report_death(self) -> Failed:
        code = self._process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            reason = f"training process killed by {name}"
        else:
            reason = f"training process exited with code {code} before finishing"
        if self._stop_event.is_set():
            reason += " (after a stop request)"
        event = Failed(seq=self.sequence.expected, reason=reason)
        self.final = event
        if self.run_dir is not None:
            written = (rundir.read_status(self.run_dir) or {}).get("status")
            if written not in TERMINAL_STATUSES:  # keep what the child itself concluded
                problem = rundir.write_status(self.run_dir, FAILED, reason, exitcode=code)
                if problem:
                    self.warnings.append(problem)
        return event


@contextlib.contextmanager
def _sigint_held_for_child():
    """Spawn with SIGINT blocked, a mask the child keeps across exec: a Ctrl-C while it
    is still starting stays pending in it until ``run_in_worker`` ignores SIGINT (which
    discards it), so the child never prints a KeyboardInterrupt traceback. The parent
    blocks rather than ignores: a Ctrl-C that lands during the fork is delivered to it
    right after, not lost (ignoring it left the run training on)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
