"""The training loop: one readable function, top to bottom, in labelled sections.

Runs inside the training process only (it imports torch). Host–device syncs are
rare and each one is commented: per-step values (loss, gradient norm) stay on
the device in a small buffer that is flushed every ``FLUSH_EVERY_STEPS`` steps or
``FLUSH_EVERY_SECONDS``, whichever comes first, and at every evaluation.

A step whose gradient norm is not finite does not update the weights. On the CPU
the optimizer step is skipped outright (a bool costs no sync there). On CUDA the
gradients are zeroed instead, without a sync: the weights then move only by what
the optimizer does with a zero gradient that step (weight decay, momentum).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from traindoc.engine import rundir
from traindoc.engine.config import ConfigError, RunConfig, dumps
from traindoc.engine.config_limits import check_model_budget
from traindoc.engine.data import datasets
from traindoc.engine.events import (
    DIVERGED,
    FINISHED,
    STOPPED,
    Evaluated,
    Finished,
    Metrics,
    Started,
)
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.writer import ScalarWriter
from traindoc.engine.train.augment import augment_batch
from traindoc.engine.train.grads import FlatGrads
from traindoc.engine.train.models import build_model, count_parameters
from traindoc.engine.train.optim import build_optimizer, set_lr_factor
from traindoc.engine.train.schedules import lr_factor

log = logging.getLogger(__name__)

# Flush the on-device buffer at least this often: a few host syncs per second at most.
FLUSH_EVERY_STEPS = 50
FLUSH_EVERY_SECONDS = 0.1
# Consecutive non-finite training losses after which the run is declared diverged.
# Isolated NaN batches (a data problem) are skipped and logged; a run whose loss
# stays non-finite this long will not recover (its weights are already inf/NaN).
NONFINITE_LIMIT = 10
# A cross-entropy this many times its first value is as lost as NaN (logits off by
# thousands); the same consecutive-step limit applies before the run is declared diverged.
EXPLODED_FACTOR = 1e3
EVAL_BATCH = 1024

Emit = Callable[[object], None]


@dataclass(slots=True)
class EarlyStopping:
    """Patience on ``val/loss``; remembers the best epoch. ``update`` reads like a rule."""

    patience: int
    best_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0

    def update(self, val_loss: float, epoch: int) -> tuple[bool, str]:
        if math.isfinite(val_loss) and val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            return False, ""
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            return True, (
                f"early stopping: val/loss has not improved for {self.bad_epochs} epochs "
                f"(best {self.best_loss:.4g} at epoch {self.best_epoch + 1})"
            )
        return False, ""


@dataclass(slots=True)
class StepBuffer:
    """Per-step values kept on the device until the next flush."""

    steps: list[int] = field(default_factory=list)
    losses: list[torch.Tensor] = field(default_factory=list)
    grad_norms: list[torch.Tensor] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    samples: int = 0
    since: float = field(default_factory=time.perf_counter)

    def clear(self) -> None:
        self.steps.clear()
        self.losses.clear()
        self.grad_norms.clear()
        self.lrs.clear()
        self.samples = 0
        self.since = time.perf_counter()


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device = {name!r}: CUDA is not available on this machine")
    return torch.device(name)


def amp_dtype_for(mode: str, device: torch.device) -> torch.dtype | None:
    """``auto`` → bf16 where the GPU supports it, else fp16 (with a GradScaler); CPU: off."""
    if mode == "off" or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def clip_gradients(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Global L2 norm of the gradients before clipping (on the device, no sync).

    With ``max_norm > 0`` the gradients are scaled down to at most that norm.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    if max_norm > 0:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
    return norm


def forward_backward(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    indices: torch.Tensor,
    micro_batch: int,
    *,
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate the gradient of the mean loss over ``indices`` in micro-batches.

    Each micro-batch's loss is weighted by its share of the samples, so the
    gradient equals that of one batch of all of them (4 × 16 == 64). Returns the
    step's mean loss and its count of correct predictions, both on the device.
    """
    count = int(indices.numel())
    step_loss: torch.Tensor | int = 0
    correct: torch.Tensor | int = 0
    micro_batches = indices.split(micro_batch) if count > micro_batch else (indices,)
    for micro in micro_batches:
        xb, yb = x[micro], y[micro]
        if transform is not None:
            xb = transform(xb)
        if amp_dtype is None:
            logits = model(xb)
        else:
            with torch.autocast(x.device.type, dtype=amp_dtype):
                logits = model(xb)
        loss = F.cross_entropy(logits.float(), yb)
        if len(micro_batches) > 1:  # several micro-batches: weight each by its share
            loss = loss * (micro.numel() / count)
        (scaler.scale(loss) if scaler else loss).backward()
        step_loss = step_loss + loss.detach()
        correct = correct + (logits.argmax(1) == yb).sum()
    return torch.as_tensor(step_loss), torch.as_tensor(correct)


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
    tcfg = config.train

    # ---------------------------------------------------------------- setup
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = resolve_device(tcfg.device)
    prepared = datasets.prepare(config.data, config.seed)
    train_set, val_set = prepared.train, prepared.val
    x_train = torch.as_tensor(train_set.x, device=device)
    y_train = torch.as_tensor(train_set.y, device=device)
    x_val = torch.as_tensor(val_set.x, device=device)
    y_val = torch.as_tensor(val_set.y, device=device)
    # The parameter budget on the real data (validation only knew a lower bound for files).
    check_model_budget(config.model.arch, tuple(config.model.hidden), train_set.input_shape,
                       train_set.num_classes)
    model = build_model(config.model, train_set.input_shape, train_set.num_classes).to(device)
    optimizer = build_optimizer(config.optim, model)
    peak_lr = config.optim.lr  # every group's initial_lr; the schedule scales it
    params = [p for p in model.parameters() if p.requires_grad]
    grads = FlatGrads(params)  # norm, clip, guard and zeroing: one kernel each
    amp_dtype = amp_dtype_for(tcfg.amp, device)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    augment = config.data.augment and train_set.is_image
    flip = prepared.hflip  # mirrored digits are other digits: only natural images flip
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)

    n_train = len(train_set.y)
    step_samples = config.data.batch_size * tcfg.grad_accum
    steps_per_epoch = max(1, math.ceil(n_train / step_samples))
    total_steps = steps_per_epoch * tcfg.epochs
    amp_name = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype]

    writer = ScalarWriter(run_dir, flush_secs=1.0)
    writer.add_text(CONFIG_TAG, dumps(config), step=0)
    emit(
        Started(
            seq=-1,
            run_dir=str(run_dir),
            device=str(device),
            amp=amp_name,
            total_steps=total_steps,
            steps_per_epoch=steps_per_epoch,
            epochs=tcfg.epochs,
            effective_batch=step_samples,
            parameters=count_parameters(model),
            train_size=n_train,
            val_size=len(val_set.y),
            pid=os.getpid(),
        )
    )
    rundir.write_status(
        run_dir,
        "running",
        device=str(device),
        amp=amp_name,
        effective_batch=step_samples,
        pid=os.getpid(),
    )

    buffer = StepBuffer()
    stopper = EarlyStopping(tcfg.patience)
    best_state: dict[str, torch.Tensor] | None = None
    nonfinite_run = 0  # consecutive steps whose loss is non-finite or exploded
    first_loss: float | None = None
    step = 0
    epoch = 0
    epochs_done = 0
    status, reason = FINISHED, f"completed {tcfg.epochs} epochs"
    last_eval: dict[str, float] = {}
    parent_pid = os.getppid()

    def flush() -> None:
        """Send buffered per-step values out; returns nothing, updates nonfinite_run."""
        nonlocal nonfinite_run
        if not buffer.steps:
            return
        # note: CPU-GPU sync point, once per flush (every FLUSH_EVERY_* steps/seconds).
        losses = torch.stack(buffer.losses).double().cpu().numpy()
        norms = torch.stack(buffer.grad_norms).double().cpu().numpy()
        steps = np.asarray(buffer.steps, dtype=np.int64)
        lrs = np.asarray(buffer.lrs, dtype=np.float64)
        elapsed = max(time.perf_counter() - buffer.since, 1e-9)
        throughput = np.asarray([buffer.samples / elapsed])
        last = steps[-1:]
        points = {
            "train/loss": (steps, losses),
            "opt/grad_norm": (steps, norms),
            "opt/lr": (steps, lrs),
            "perf/samples_per_sec": (last, throughput),
        }
        if device.type == "cuda":
            mem = torch.cuda.max_memory_allocated(device) / 2**20
            points["perf/device_mem_mb"] = (last, np.asarray([mem]))
        for tag, (tag_steps, values) in points.items():
            for s, v in zip(tag_steps.tolist(), values.tolist(), strict=True):
                writer.add_scalar(tag, v, s)
        emit(Metrics(seq=-1, points=points, epoch=epoch, step=int(steps[-1])))
        nonlocal first_loss
        for value in losses.tolist():
            if first_loss is None and math.isfinite(value):
                first_loss = max(value, 1e-12)
            exploded = first_loss is not None and value > EXPLODED_FACTOR * first_loss
            nonfinite_run = nonfinite_run + 1 if exploded or not math.isfinite(value) else 0
        buffer.clear()

    # ---------------------------------------------------------------- epochs
    try:
        for epoch in range(tcfg.epochs):
            model.train()
            order = torch.randperm(n_train, device=device, generator=generator)
            correct = torch.zeros((), device=device, dtype=torch.int64)
            for step_in_epoch in range(steps_per_epoch):
                # -------------------------------------------- learning rate
                factor = lr_factor(step, total_steps, config.schedule)
                set_lr_factor(optimizer, factor)
                # -------------------------------------------- forward/backward
                first = step_in_epoch * step_samples
                indices = order[first : first + step_samples]
                count = int(indices.numel())
                transform = (
                    (lambda xb: augment_batch(xb, generator, flip=flip)) if augment else None
                )
                step_loss, step_correct = forward_backward(
                    model,
                    x_train,
                    y_train,
                    indices,
                    config.data.batch_size,
                    amp_dtype=amp_dtype,
                    scaler=scaler,
                    transform=transform,
                )
                correct += step_correct
                # -------------------------------------------- clip and step
                if scaler:
                    scaler.unscale_(optimizer)
                grad_norm = grads.norm()
                if tcfg.clip_grad_norm > 0:
                    grads.clip_(tcfg.clip_grad_norm, grad_norm)
                if scaler:
                    # note: GradScaler.step syncs to check for inf (PyTorch's design).
                    scaler.step(optimizer)
                    scaler.update()
                elif device.type == "cpu":
                    # On the CPU a bool costs no sync: skip non-finite updates so an
                    # isolated bad batch does not poison the weights.
                    if math.isfinite(grad_norm.item()):
                        optimizer.step()
                else:
                    # No sync on CUDA: zero non-finite gradients instead of branching.
                    grads.zero_nonfinite_(grad_norm)
                    optimizer.step()
                grads.zero_()
                step += 1
                # -------------------------------------------- bookkeeping
                buffer.steps.append(step)
                buffer.losses.append(step_loss)
                buffer.grad_norms.append(grad_norm)
                buffer.lrs.append(peak_lr * factor)
                buffer.samples += count
                if (
                    len(buffer.steps) >= FLUSH_EVERY_STEPS
                    or time.perf_counter() - buffer.since >= FLUSH_EVERY_SECONDS
                ):
                    flush()
                    if nonfinite_run >= NONFINITE_LIMIT:
                        status = DIVERGED
                        reason = (
                            f"training loss non-finite or over {EXPLODED_FACTOR:g}x its first "
                            f"value for {nonfinite_run} consecutive steps (up to step {step})"
                        )
                        break
                    if os.getppid() != parent_pid:
                        status, reason = STOPPED, "parent process exited"
                        break
                    if should_stop():  # checked at each flush: at most 0.1 s late
                        status, reason = STOPPED, "stopped by user"
                        break
            flush()
            if status == FINISHED and nonfinite_run >= NONFINITE_LIMIT:
                status = DIVERGED
                reason = (
                    f"training loss non-finite or over {EXPLODED_FACTOR:g}x its first value "
                    f"for {nonfinite_run} consecutive steps"
                )
            if status != FINISHED:
                break
            # ------------------------------------------------ evaluation
            val_loss, val_acc = evaluate(model, x_val, y_val, amp_dtype)
            # note: CPU-GPU sync point, once per epoch.
            train_acc = correct.item() / max(1, n_train)
            last_eval = {"val/loss": val_loss, "val/accuracy": val_acc, "train/accuracy": train_acc}
            for tag, value in last_eval.items():
                writer.add_scalar(tag, value, step)
            writer.flush()
            epochs_done = epoch + 1
            should_end, end_reason = stopper.update(val_loss, epoch)
            if stopper.best_epoch == epoch and tcfg.early_stopping:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            emit(
                Evaluated(
                    seq=-1,
                    epoch=epoch,
                    step=step,
                    metrics=dict(last_eval),
                    best_epoch=stopper.best_epoch,
                    best_val_loss=stopper.best_loss,
                )
            )
            if tcfg.early_stopping and should_end:
                reason = end_reason
                break
            if should_stop():
                status, reason = STOPPED, "stopped by user"
                break
    except BaseException as exc:
        if isinstance(exc, OSError) and rundir.is_disk_error(exc) and exc.filename is None:
            exc.filename = str(writer.path)  # name the event file the disk refused
        with contextlib.suppress(OSError):  # the error in flight is the one to report
            writer.close()
        raise
    writer.flush()
    writer.close()

    # ---------------------------------------------------------------- wrap up
    if best_state is not None:
        model.load_state_dict(best_state)
        reason += f"; restored the best weights (epoch {stopper.best_epoch + 1})"
    checkpoint = {
        "format": 1,
        "model": model.state_dict(),
        "config": dumps(config),
        "step": step,
        "epochs_done": epochs_done,
        "best_val_loss": stopper.best_loss,
        "best_epoch": stopper.best_epoch,
    }
    # A temporary file, fsynced, then renamed: a full disk never leaves a torn checkpoint.
    rundir.atomic_write(run_dir / rundir.CHECKPOINT_FILE, lambda f: torch.save(checkpoint, f))
    summary = {
        "best_val_loss": stopper.best_loss,
        "best_epoch": stopper.best_epoch + 1,
        **{key: value for key, value in last_eval.items()},
    }
    seconds = time.perf_counter() - t_start
    rundir.write_status(run_dir, status, reason, steps=step, epochs_done=epochs_done, **summary)
    return Finished(
        seq=-1,
        status=status,
        reason=reason,
        steps=step,
        epochs_done=epochs_done,
        seconds=seconds,
        summary=summary,
    )


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, amp_dtype: torch.dtype | None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    for start in range(0, len(y), EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xb)
        loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    model.train()
    n = max(1, len(y))
    # note: CPU-GPU sync point (once per evaluation).
    return loss_sum.item() / n, correct.item() / n
