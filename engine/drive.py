"""One driver for a background run: poll its events, hand them on, stop it on request.

The command line and the GUI both drive a :class:`traindoc.engine.launcher.RunHandle`
through :class:`RunDriver`:

- :meth:`RunDriver.step` polls what arrived (batch by batch, until the queue is
  empty or a deadline passes), hands it to ``on_events`` and, once the final
  event (``Finished`` or ``Failed``) is in, calls ``on_end`` once and returns
  True. The handle checks liveness (a child that died is reported as ``Failed``)
  and sequence numbers (:attr:`RunDriver.lost` counts events that never came).
- :meth:`RunDriver.run` steps until the end, sleeping between polls: the CLI's
  blocking loop (a Ctrl-C raises ``KeyboardInterrupt`` out of it; the command
  then calls :meth:`RunDriver.stop` and drives the run to its end).
- The GUI calls :meth:`RunDriver.step` from its pump's ticks, with the tick's
  deadline, and stops with :meth:`RunDriver.stop_in_background` so that the
  window never waits on a child process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from traindoc.engine.events import Event, Failed, Finished
from traindoc.engine.launcher import STOP_SECONDS, RunHandle

POLL_SECONDS = 0.05  # the blocking loop's sleep between polls
POLL_BATCH = 256  # events taken from the queue per poll

OnEvents = Callable[[list[Event]], None]
OnEnd = Callable[[Finished | Failed], None]


class RunDriver:
    """Moves one run's events to callbacks until its final event; stops it on request."""

    def __init__(
        self,
        handle: RunHandle,
        *,
        on_events: OnEvents | None = None,
        on_end: OnEnd | None = None,
        batch: int = POLL_BATCH,
    ) -> None:
        self.handle = handle
        self.on_events = on_events
        self.on_end = on_end
        self.batch = batch
        self.ended = False  # the final event was delivered and on_end called

    @property
    def final(self) -> Finished | Failed | None:
        return self.handle.final

    @property
    def lost(self) -> int:
        """Events whose sequence numbers never arrived."""
        return len(self.handle.sequence.missing)

    def step(self, deadline: float | None = None) -> bool:
        """Deliver what arrived (until ``time.perf_counter()`` passes ``deadline``, if
        given); True once the run has ended and ``on_end`` was called."""
        while True:
            events = self.handle.poll(max_items=self.batch)
            if events and self.on_events is not None:
                self.on_events(events)
            if len(events) < self.batch:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
        final = self.handle.final
        if final is not None and not self.ended:
            self.ended = True
            if self.on_end is not None:
                self.on_end(final)
        return self.ended

    def run(self, timeout: float | None = None, interval: float = POLL_SECONDS) -> bool:
        """Step until the run ends (True) or ``timeout`` seconds pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.step():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(interval)
        return True

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ask the run to stop and wait until its process is gone (≤ ``timeout`` + 1 s).

        Events that arrive meanwhile are kept; the next :meth:`step` delivers them.
        """
        self.handle.stop(timeout)

    def stop_in_background(self, timeout: float = STOP_SECONDS) -> threading.Thread:
        """:meth:`stop` on a helper thread (returned, started), for a caller that must not
        block; keep calling :meth:`step` to receive the last events."""
        thread = threading.Thread(
            target=self.stop, args=(timeout,), name="traindoc-stop", daemon=True
        )
        thread.start()
        return thread

    def close(self) -> None:
        """Stop the process if it still runs and release the queue."""
        self.handle.close()


__all__ = ["POLL_SECONDS", "RunDriver"]
