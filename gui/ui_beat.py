"""The UI thread's heartbeat, for the threads that read logs beside it.

A follower thread (:class:`traindoc.gui.logs.FollowThread`) reads and diagnoses in Python,
so it shares the GIL with the UI thread: while the UI thread lays out and paints (the first
run's charts of a tree take ~30 ms of CPU) it gets every other GIL slice and its frame
takes twice as long. Between two runs the follower asks :meth:`UiBeat.give_way`, which
waits while the UI thread's last beat is late: the reading loses no more than that frame.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer

BEAT_MS = 5  # the UI thread's heartbeat while a tree is first read
BUSY_S = 0.012  # no beat for this long: the UI thread is in a long frame (~2 beats late)
GIVE_WAY_S = 0.25  # a follower waits at most this long for it per run (a frame stuck for good)


class UiBeat:
    """A QTimer on the UI thread beats every ``BEAT_MS`` while started (the log controller
    starts it for a tree's first pass); :meth:`give_way`, on another thread, waits while
    the last beat is older than ``BUSY_S``, and returns at once while it is stopped."""

    def __init__(self, parent: QObject | None = None) -> None:
        self.last = time.perf_counter()
        self.free = threading.Event()
        self.active = False
        self.timer = QTimer(parent)  # parent: the timer goes with the window
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(self.beat)

    def start(self) -> None:
        self.beat()
        self.active = True
        self.timer.start()

    def stop(self) -> None:
        self.active = False
        self.timer.stop()
        self.free.set()  # a follower waiting now goes on

    def beat(self) -> None:
        self.last = time.perf_counter()
        self.free.set()

    def give_way(self) -> None:
        """(On a follower thread.) Wait for the UI thread's next beat if it is late."""
        if self.active and time.perf_counter() - self.last > BUSY_S:
            self.free.clear()
            self.free.wait(GIVE_WAY_S)
