"""Process targets for the launcher's failure-mode tests (imported by spawned children).

Each target has the worker's signature and runs the real ``traindoc.engine.worker.main``
with ``traindoc.engine.train.loop`` replaced by a stand-in, so the worker's own error handling
is what is tested.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types

import numpy as np

from traindoc.engine import worker
from traindoc.engine.events import Finished, Metrics

FLOOD_EVENTS = 20_000


def _metrics(i: int) -> Metrics:
    steps = np.asarray([i], dtype=np.int64)
    return Metrics(
        seq=-1, points={"train/loss": (steps, np.asarray([1.0 / (i + 1)]))}, epoch=0, step=i
    )


def _run_with(fake, *args) -> None:
    # Stand in for traindoc.engine.train.loop (and so skip importing torch in these children).
    sys.modules["traindoc.engine.train.loop"] = types.SimpleNamespace(run_training=fake)
    worker.main(*args)


def raises(*args) -> None:
    def fake(config, run_dir, *, emit, should_stop):
        for i in range(5):
            emit(_metrics(i))
        raise ValueError("boom in step 5")

    _run_with(fake, *args)


def raises_a_user_error(*args) -> None:
    from traindoc.engine.errors import UserError

    class DatasetTooSmall(UserError):  # any subclass, whatever its name
        pass

    def fake(config, run_dir, *, emit, should_stop):
        raise DatasetTooSmall("data.dataset = csv:x.csv: 3 rows, expected at least 10")

    _run_with(fake, *args)


def runs_out_of_memory(*args) -> None:
    def fake(config, run_dir, *, emit, should_stop):
        emit(_metrics(0))
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    _run_with(fake, *args)


def exits_abruptly(*args) -> None:
    def fake(config, run_dir, *, emit, should_stop):
        for i in range(3):
            emit(_metrics(i))
        time.sleep(0.3)  # let the queue's feeder thread deliver them
        os._exit(3)

    _run_with(fake, *args)


def hangs(*args) -> None:
    """Ignores stop requests and SIGTERM: only SIGKILL ends it."""

    def fake(config, run_dir, *, emit, should_stop):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emit(_metrics(0))
        while True:
            time.sleep(0.05)

    _run_with(fake, *args)


def floods(*args) -> None:
    def fake(config, run_dir, *, emit, should_stop):
        for i in range(FLOOD_EVENTS):
            emit(_metrics(i))
        return Finished(
            seq=-1, status="finished", reason="done", steps=FLOOD_EVENTS, epochs_done=1, seconds=0.0
        )

    _run_with(fake, *args)


def fills_the_pipe(*args) -> None:
    """Emits ~5 MB (a pipe holds 64 KiB), then waits to be stopped and finishes normally:
    it can only exit once the parent has read everything."""

    def fake(config, run_dir, *, emit, should_stop):
        sent = 0
        big = np.arange(2000, dtype=np.float64)
        while sent < 150:
            steps = big.astype(np.int64)
            emit(Metrics(seq=-1, points={"train/loss": (steps, big)}, epoch=0, step=sent))
            sent += 1
        while not should_stop():
            time.sleep(0.01)
        return Finished(
            seq=-1,
            status="stopped",
            reason="stopped by user",
            steps=sent,
            epochs_done=0,
            seconds=0.0,
        )

    _run_with(fake, *args)
