"""Entry point of the training process (spawned by :mod:`engine.launcher`).

This module imports torch only inside :func:`main`, so the parent process can
name ``engine.worker.main`` as a process target without loading torch.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine import rundir
from engine.events import FAILED, Failed

USER_ERRORS = ("ConfigError", "DataError", "ModelError")


class Emitter:
    """Numbers events in order and puts them on the queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.seq = 0

    def __call__(self, event: Any) -> None:
        self.queue.put(replace(event, seq=self.seq))
        self.seq += 1


Body = Callable[..., Any]  # (config, run_dir, *, emit, should_stop) -> Finished


def main(config_toml: str, run_dir: str, queue: Any, stop_event: Any) -> None:
    """Run one config; every outcome ends with a Finished or Failed event."""
    run_in_worker(_train, config_toml, run_dir, queue, stop_event)


def _train(config: Any, run_dir: Path, *, emit: Emitter, should_stop: Callable[[], bool]) -> Any:
    from engine.loop import run_training  # imports torch: training process only

    return run_training(config, run_dir, emit=emit, should_stop=should_stop)


def run_in_worker(body: Body, config_toml: str, run_dir: str, queue: Any, stop_event: Any) -> None:
    """The worker's frame around ``body``: signals, events, and every failure reported.

    ``body(config, run_dir, emit=..., should_stop=...)`` returns the final event
    (``Finished``); other process targets (``engine.finder_worker``) reuse this.
    """
    # Ctrl-C reaches the whole process group: the parent decides, via stop_event.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    emit = Emitter(queue)

    def should_stop() -> bool:
        return stop_event.is_set() or terminated.is_set()

    try:
        from engine import config as config_module

        config = config_module.loads(config_toml, source=str(Path(run_dir) / "config.toml"))
        finished = body(config, Path(run_dir), emit=emit, should_stop=should_stop)
        emit(finished)
    except BaseException as exc:  # every failure is reported, never lost
        user_error = type(exc).__name__ in USER_ERRORS
        reason = str(exc) if user_error else f"{type(exc).__name__}: {exc}"
        rundir.write_status(run_dir, FAILED, reason, pid=os.getpid())
        emit(Failed(seq=-1, reason=reason, traceback=traceback.format_exc(), user_error=user_error))
    finally:
        queue.close()
        queue.join_thread()  # make sure every event reached the pipe before exiting
