"""The batch-size search (SPEC §7): double until out of memory, with real training steps.

:func:`run_batch_find` tries batch sizes with :class:`~.memory.MemoryProbe`
following :func:`traindoc.engine.find.suggest.search_batch` (double until out of
memory, then refine), plans the gradient accumulation and scaled lr that reach
the target effective batch, writes ``batch_find.json`` and returns the
``Finished`` event whose ``result`` is a
:class:`~traindoc.engine.find.results.BatchFindResult`. CUDA out-of-memory is
caught and recovered from; ``memory_limit_mb`` simulates a smaller device (on
the CPU, where running out of memory kills the process, a limit is always set).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from traindoc.engine.config import RunConfig
from traindoc.engine.events import FINISHED, STOPPED, Finished, Metrics
from traindoc.engine.find import suggest
from traindoc.engine.find.finders.memory import MemoryProbe, default_cpu_limit_bytes
from traindoc.engine.find.finders.prepare import Emit, prepare
from traindoc.engine.find.results import BATCH_FIND_FILE, BatchFindResult, BatchTrial


class _Stopped(Exception):
    """The user asked the batch search to stop."""


def _memory_limit(memory_limit_mb: float | None, device_type: str) -> tuple[int | None, str]:
    """The limit in bytes (None: the device's own) and where it comes from."""
    if memory_limit_mb:
        return int(memory_limit_mb * 2**20), "--memory-limit"
    if device_type != "cuda":
        return default_cpu_limit_bytes(), "a quarter of physical memory (CPU)"
    return None, "none (CUDA out-of-memory)"


class _Trials:
    """Runs the probe for the search, sends each trial to the parent, honours a stop."""

    def __init__(self, probe: MemoryProbe, emit: Emit, should_stop: Callable[[], bool]):
        self.probe, self.emit, self.should_stop = probe, emit, should_stop
        self.count = 0

    def __call__(self, batch: int) -> bool:
        if self.should_stop():
            raise _Stopped
        fits = self.probe(batch)
        self.count += 1
        step = np.asarray([self.count], dtype=np.int64)
        peak_mb = self.probe.peaks.get(batch, 0) / 2**20
        points = {
            "batch_find/batch": (step, np.asarray([float(batch)])),
            "batch_find/fits": (step, np.asarray([1.0 if fits else 0.0])),
            "batch_find/peak_mb": (step, np.asarray([peak_mb])),
        }
        self.emit(Metrics(seq=-1, points=points, epoch=0, step=self.count))
        return fits


def run_batch_find(
    config: RunConfig,
    run_dir: str | Path,
    *,
    emit: Emit,
    should_stop: Callable[[], bool],
    target: int | None = None,
    memory_limit_mb: float | None = None,
    start: int = 8,
    max_batch: int = 65536,
) -> Finished:
    """The batch-size recipe with real steps; the event's ``result`` holds the plan."""
    t0 = time.perf_counter()
    setup = prepare(config)
    limit, limit_source = _memory_limit(memory_limit_mb, setup.device.type)
    probe = MemoryProbe(config, setup, limit)
    trials = _Trials(probe, emit, should_stop)
    cap = min(max_batch, len(setup.y))
    try:
        search = suggest.search_batch(trials, start=start, max_batch=cap)
    except _Stopped:
        return Finished(
            seq=-1, status=STOPPED, reason="stopped by user", steps=trials.count,
            epochs_done=0, seconds=time.perf_counter() - t0,
        )
    base_batch = config.data.batch_size * config.train.grad_accum
    goal = target or base_batch
    plan = None
    if search.recommended:
        plan = suggest.accumulation_plan(
            search.recommended, goal, base_lr=config.optim.lr, base_batch=base_batch
        )
    result = BatchFindResult(
        device=str(setup.device),
        memory_limit_mb=limit / 2**20 if limit else None,
        memory_limit_source=limit_source,
        train_size=len(setup.y),
        max_batch=cap,
        tried=tuple(BatchTrial(b, ok, probe.peaks.get(b, 0) / 2**20) for b, ok in search.tried),
        largest_fit=search.largest_fit,
        first_failure=search.first_failure,
        capped=search.capped,
        recommended=search.recommended,
        target=goal,
        configured_batch=config.data.batch_size,
        configured_accum=config.train.grad_accum,
        configured_lr=config.optim.lr,
        plan=plan,
    )
    text = json.dumps(result.as_dict(), indent=1)
    (Path(run_dir) / BATCH_FIND_FILE).write_text(text, encoding="utf-8")
    reason = (
        f"largest batch that fit {search.largest_fit}, recommended {search.recommended}"
        if search.largest_fit
        else "not even a batch of 1 fits in memory"
    )
    return Finished(
        seq=-1, status=FINISHED, reason=reason, steps=len(search.tried), epochs_done=0,
        seconds=time.perf_counter() - t0, result=result,
    )


__all__ = ["run_batch_find"]
