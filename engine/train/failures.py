"""How a failed run is described: one :class:`~traindoc.engine.events.Failed` event.

Shared by the worker process (:func:`traindoc.engine.worker.run_in_worker`) and the
ranks of a distributed run (:mod:`traindoc.engine.train.rank`), so a run that fails
under ``torchrun`` says the same as one that fails alone. Imports no torch: the
worker loads this module before it knows whether it will train.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from traindoc.engine import rundir
from traindoc.engine.errors import UserError
from traindoc.engine.events import Failed


def out_of_memory(exc: BaseException) -> str | None:
    """A clear line for a run the device cannot hold (CUDA or host memory), else None."""
    cuda = type(exc).__name__ == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())
    if not (cuda or isinstance(exc, MemoryError)):
        return None
    where = "the GPU" if cuda else "host memory"
    return (f"out of memory: this model and batch do not fit in {where}; use a smaller "
            "data.batch_size (traindoc batch-find finds the largest that fits, with "
            "train.grad_accum for the same effective batch) or a smaller model.hidden")


def failure_event(exc: BaseException, run_dir: str | Path, *, started: bool) -> Failed:
    """``exc`` (being handled) as a ``Failed`` event: bad input, a full disk and a
    device out of memory get one line and no traceback; anything else its type and a
    traceback. ``started``: an event already went out (a full disk before it is bad
    input, like an unwritable --logdir)."""
    disk = rundir.is_disk_error(exc)
    memory = out_of_memory(exc)
    user_error = isinstance(exc, UserError) or (disk and not started)
    if disk:
        reason = rundir.disk_error_text(exc, run_dir)
    elif memory:
        reason = memory
    else:
        reason = str(exc) if user_error else f"{type(exc).__name__}: {exc}"
    trace = "" if disk or memory else traceback.format_exc()
    return Failed(seq=-1, reason=reason, traceback=trace, user_error=user_error)
