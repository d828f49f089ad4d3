"""Process targets that run the finders in the background, through :class:`RunHandle`.

Each target has the worker's signature ``(config_toml, run_dir, queue, stop_event)``
plus keyword options, and reuses :func:`traindoc.engine.worker.run_in_worker` (signals,
numbered events, every failure reported). torch is imported only inside the
targets, so the parent (CLI or GUI) can name them without loading it::

    handle = RunHandle(config, logdir, target=lr_find_target(num_steps=100))

The final ``Finished`` event's ``result`` holds what was found
(:mod:`traindoc.engine.find.results`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from traindoc.engine.worker import run_in_worker


def single_process_note(config: Any, finder: str) -> str:
    """The line a finder prints when the config asks for several processes: it runs in
    one (its sweep is sequential); ``data.batch_size`` is per process anyway."""
    train = config.train
    if train.nproc_per_node == 1 and train.nnodes == 1:
        return ""
    what = {"lr-find": "the lr it suggests is for this config's effective batch per process; "
            "scale it linearly to the global batch (SPEC §4)",
            "batch-find": "data.batch_size is per process, so the batch it finds fits "
            "each process of a distributed run"}[finder]
    return (f"note: {finder} runs in one process (train.nproc_per_node = "
            f"{train.nproc_per_node}, train.nnodes = {train.nnodes} are for train); {what}")


def _say_single_process(config: Any, finder: str) -> None:
    note = single_process_note(config, finder)
    if note:
        print(note, file=sys.stderr, flush=True)


def lr_find_main(
    config_toml: str,
    run_dir: str,
    queue: Any,
    stop_event: Any,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
) -> None:
    def body(config: Any, path: Any, *, emit: Any, should_stop: Any) -> Any:
        from traindoc.engine.find.finders.sweep import run_lr_find  # torch: finder process only

        _say_single_process(config, "lr-find")

        return run_lr_find(
            config,
            path,
            emit=emit,
            should_stop=should_stop,
            start_lr=start_lr,
            end_lr=end_lr,
            num_steps=num_steps,
        )

    run_in_worker(body, config_toml, run_dir, queue, stop_event)


def batch_find_main(
    config_toml: str,
    run_dir: str,
    queue: Any,
    stop_event: Any,
    *,
    target: int | None = None,
    memory_limit_mb: float | None = None,
    start: int = 8,
    max_batch: int = 65536,
) -> None:
    def body(config: Any, path: Any, *, emit: Any, should_stop: Any) -> Any:
        from traindoc.engine.find.finders.batch import run_batch_find  # torch: finder only

        _say_single_process(config, "batch-find")

        return run_batch_find(
            config,
            path,
            emit=emit,
            should_stop=should_stop,
            target=target,
            memory_limit_mb=memory_limit_mb,
            start=start,
            max_batch=max_batch,
        )

    run_in_worker(body, config_toml, run_dir, queue, stop_event)


def lr_find_target(**options: Any) -> Callable[..., None]:
    """A picklable target for ``RunHandle(..., target=...)`` with these sweep options."""
    return functools.partial(lr_find_main, **options)


def batch_find_target(**options: Any) -> Callable[..., None]:
    """A picklable target for ``RunHandle(..., target=...)`` with these search options."""
    return functools.partial(batch_find_main, **options)


__all__ = ["batch_find_main", "batch_find_target", "lr_find_main", "lr_find_target"]
