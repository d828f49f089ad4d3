"""The training loop, read top to bottom as nanoGPT's ``train.py`` reads.

:func:`run_training` is the whole run in five parts, each a function here or a
module beside this one:

1. setup — ``setup.build_run``: seed, data on the device, model, optimizer, AMP;
   then the event file, the ``Started`` event and ``status.json``;
2. the step — ``step.train_step`` (forward/backward, norm, clip, optimizer step),
   driven epoch by epoch by :func:`train_epoch` with the learning-rate schedule;
3. the metrics flush — ``metrics.StepMetrics``: per-step values stay on the
   device and go out in bulk, which is also where divergence is noticed;
4. evaluation — :func:`end_epoch` (``evaluation.evaluate``, early stopping);
5. wrap-up — :func:`wrap_up`: best weights, checkpoint, final status, ``Finished``.

Runs inside the training process only (it imports torch). Host–device syncs are
rare and each one is commented where it happens.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from traindoc.engine import rundir
from traindoc.engine.config import RunConfig, dumps
from traindoc.engine.events import (
    DIVERGED,
    FINISHED,
    RUNNING,
    STOPPED,
    Evaluated,
    Finished,
    Started,
)
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.tags import CANONICAL_TAGS
from traindoc.engine.tb.writer import ScalarWriter
from traindoc.engine.train.evaluation import EarlyStopping, evaluate
from traindoc.engine.train.metrics import StepMetrics
from traindoc.engine.train.models import count_parameters
from traindoc.engine.train.optim import set_lr_factor
from traindoc.engine.train.schedules import lr_factor
from traindoc.engine.train.setup import Run, build_run
from traindoc.engine.train.step import train_step

Emit = Callable[[object], None]

VAL_LOSS = CANONICAL_TAGS["val_loss"]
VAL_ACCURACY = CANONICAL_TAGS["val_accuracy"]
TRAIN_ACCURACY = CANONICAL_TAGS["train_accuracy"]


@dataclass(slots=True)
class Progress:
    """Where the run stands: steps and epochs done, its outcome so far, the best weights."""

    stopper: EarlyStopping
    reason: str
    status: str = FINISHED
    step: int = 0
    epochs_done: int = 0
    last_eval: dict[str, float] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] | None = None

    def end(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason


def run_training(
    config: RunConfig,
    run_dir: Path,
    *,
    emit: Emit,
    should_stop: Callable[[], bool],
) -> Finished:
    """Train ``config`` writing logs into ``run_dir``; ``emit`` receives events (seq=-1)."""
    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    epochs = config.train.epochs

    # ---------------------------------------------------------------- setup
    run = build_run(config)
    writer = ScalarWriter(run_dir, flush_secs=1.0)
    writer.add_text(CONFIG_TAG, dumps(config), step=0)
    rundir.write_status(  # on disk before the parent hears of the start
        run_dir,
        RUNNING,
        device=str(run.device),
        amp=run.amp_name,
        effective_batch=run.step_samples,
        pid=os.getpid(),
    )
    emit(started_event(run, run_dir))
    progress = Progress(EarlyStopping(config.train.patience),
                        f"completed {epochs} epoch{'s' * (epochs != 1)}")
    metrics = StepMetrics(writer, emit, run.device)
    parent_pid = os.getppid()

    def interrupted() -> str:
        """Why the run must stop now (checked at each flush: at most 0.1 s late); else ''."""
        if os.getppid() != parent_pid:
            return "parent process exited"
        return "stopped by user" if should_stop() else ""

    # ---------------------------------------------------------------- epochs
    try:
        for epoch in range(epochs):
            correct, _seen = train_epoch(run, progress, metrics, epoch, interrupted)
            if progress.status != FINISHED:
                break
            if end_epoch(run, progress, writer, emit, epoch, correct):
                break
            if should_stop():
                progress.end(STOPPED, "stopped by user")
                break
    except BaseException as exc:
        close_after_error(writer, exc)
        raise
    writer.flush()
    writer.close()

    # ---------------------------------------------------------------- wrap up
    return wrap_up(run, progress, run_dir, t_start)


def started_event(run: Run, run_dir: Path) -> Started:
    return Started(
        seq=-1,
        run_dir=str(run_dir),
        device=str(run.device),
        amp=run.amp_name,
        total_steps=run.total_steps,
        steps_per_epoch=run.steps_per_epoch,
        epochs=run.config.train.epochs,
        effective_batch=run.step_samples,
        parameters=count_parameters(run.model),
        train_size=run.n_train,
        val_size=len(run.y_val),
        pid=os.getpid(),
    )


def train_epoch(
    run: Run,
    progress: Progress,
    metrics: StepMetrics,
    epoch: int,
    interrupted: Callable[[], str],
    *,
    order: torch.Tensor | None = None,
    world: int = 1,
) -> tuple[torch.Tensor, int]:
    """One pass over the training set in a fresh order: (correct count on the device,
    samples seen).

    ``order``: this process's positions of the epoch's order (a distributed run's
    share, :mod:`traindoc.engine.train.distributed`); a fresh permutation of the whole
    set by default. ``world``: processes taking each step together (the samples logged
    per step are this process's times ``world``). Ends early (``progress.status`` set)
    when the run diverges or is interrupted.
    """
    config = run.config
    peak_lr = config.optim.lr  # every group's initial_lr; the schedule scales it
    total_steps, batch = run.total_steps, run.step_samples
    run.model.train()
    if order is None:
        order = torch.randperm(run.n_train, device=run.device, generator=run.generator)
    # Each sample's predicted class, in `order`: compared with the labels once, at the end.
    predictions = torch.empty(len(order), dtype=torch.int64, device=run.device)
    factor = None
    done = 0
    for first in range(0, run.steps_per_epoch * batch, batch):
        step_factor = lr_factor(progress.step, total_steps, config.schedule)
        if step_factor != factor:
            factor = step_factor
            set_lr_factor(run.optimizer, factor)
        indices = order[first : first + batch]
        done = first + len(indices)
        step_loss, grad_norm = train_step(run, indices, predictions[first:done])
        progress.step += 1
        samples = (done - first) * world
        if metrics.record(progress.step, step_loss, grad_norm, peak_lr * factor, samples):
            metrics.flush(epoch)
            if diverged(progress, metrics):
                break
            stopped = interrupted()
            if stopped:
                progress.end(STOPPED, stopped)
                break
    else:  # the epoch ran to its end
        metrics.flush(epoch)
        diverged(progress, metrics)
    return (predictions[:done] == run.y_train[order[:done]]).sum(), done


def diverged(progress: Progress, metrics: StepMetrics) -> bool:
    """End the run as diverged when the flushed losses say so."""
    reason = metrics.divergence.reason(progress.step)
    if reason:
        progress.end(DIVERGED, reason)
    return bool(reason)


def end_epoch(
    run: Run, progress: Progress, writer: ScalarWriter, emit: Emit, epoch: int,
    correct: torch.Tensor,
) -> bool:
    """Evaluate, log, keep the best weights; True when early stopping ends the run."""
    val_loss, val_acc = evaluate(run.model, run.x_val, run.y_val, run.amp_dtype)
    # note: CPU-GPU sync point, once per epoch.
    train_acc = correct.item() / max(1, run.n_train)
    metrics = {VAL_LOSS: val_loss, VAL_ACCURACY: val_acc, TRAIN_ACCURACY: train_acc}
    if run.y_val.is_floating_point():  # a regression: no accuracy to log
        metrics = {VAL_LOSS: val_loss}
    return record_eval(run, progress, writer, emit, epoch, metrics)


def record_eval(
    run: Run, progress: Progress, writer: ScalarWriter, emit: Emit, epoch: int,
    metrics: dict[str, float], *, keep_best: bool = True,
) -> bool:
    """An epoch's evaluation ``metrics`` logged and emitted, early stopping updated, the
    best weights kept (``keep_best``: this process keeps them); True when early stopping
    ends the run. One process's and a distributed run's epochs both end here."""
    progress.last_eval = metrics
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, progress.step)
    writer.flush()
    progress.epochs_done = epoch + 1
    stopper = progress.stopper
    should_end, end_reason = stopper.update(metrics[VAL_LOSS], epoch)
    early_stopping = run.config.train.early_stopping
    if stopper.best_epoch == epoch and early_stopping and keep_best:
        progress.best_state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
    emit(
        Evaluated(
            seq=-1,
            epoch=epoch,
            step=progress.step,
            metrics=dict(metrics),
            best_epoch=stopper.best_epoch,
            best_val_loss=stopper.best_loss,
        )
    )
    if early_stopping and should_end:
        progress.reason = end_reason
        return True
    return False


def close_after_error(writer: ScalarWriter, exc: BaseException) -> None:
    """Close the event file under an error in flight, naming it if the disk refused it."""
    if isinstance(exc, OSError) and rundir.is_disk_error(exc) and exc.filename is None:
        exc.filename = str(writer.path)  # name the event file the disk refused
    with contextlib.suppress(OSError):  # the error in flight is the one to report
        writer.close()


def wrap_up(run: Run, progress: Progress, run_dir: Path, t_start: float) -> Finished:
    """Restore the best weights, save the checkpoint, write the final status."""
    stopper, model = progress.stopper, run.model
    if progress.best_state is not None:
        model.load_state_dict(progress.best_state)
        progress.reason += f"; restored the best weights (epoch {stopper.best_epoch + 1})"
    checkpoint = {
        "format": 1,
        "model": model.state_dict(),
        "config": dumps(run.config),
        "step": progress.step,
        "epochs_done": progress.epochs_done,
        "best_val_loss": stopper.best_loss,
        "best_epoch": stopper.best_epoch,
    }
    # A temporary file, fsynced, then renamed: a full disk never leaves a torn checkpoint.
    rundir.atomic_write(run_dir / rundir.CHECKPOINT_FILE, lambda f: torch.save(checkpoint, f))
    summary = {
        "best_val_loss": stopper.best_loss,
        "best_epoch": stopper.best_epoch + 1,
        **progress.last_eval,
    }
    seconds = time.perf_counter() - t_start
    steps, epochs_done = progress.step, progress.epochs_done
    rundir.write_status(
        run_dir, progress.status, progress.reason, steps=steps, epochs_done=epochs_done, **summary
    )
    return Finished(
        seq=-1,
        status=progress.status,
        reason=progress.reason,
        steps=steps,
        epochs_done=epochs_done,
        seconds=seconds,
        summary=summary,
    )
