"""The learning-rate range test (SPEC §7): a short run whose rate grows exponentially.

- :func:`lr_range_test` takes one optimizer step per rate on a model and
  optimizer, recording one raw loss per step, and restores both afterwards. It
  stops once the debiased EMA of the loss exceeds 4× its best (confirmed by the
  raw losses, see :func:`traindoc.engine.find.suggest.should_stop_sweep`) or the
  loss stays non-finite (:class:`StopRules`).
- :func:`run_lr_find` builds data, model and optimizer from a config, runs the
  sweep, writes ``lr_find.json`` and returns the ``Finished`` event whose
  ``result`` is an :class:`~traindoc.engine.find.results.LrFindResult`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from traindoc.engine.config import RunConfig
from traindoc.engine.events import FINISHED, STOPPED, Finished, Metrics
from traindoc.engine.find import suggest
from traindoc.engine.find.finders.prepare import Emit, prepare
from traindoc.engine.find.results import LR_FIND_FILE, LrFindResult
from traindoc.engine.train.optim import build_optimizer
from traindoc.engine.train.step import clip_gradients, forward_backward

log = logging.getLogger(__name__)

LossHook = Callable[[int, float], float]  # (step, raw loss) -> recorded loss; tests inject spikes

EMIT_EVERY = 5  # steps between Metrics events of the sweep
NONFINITE_STOP = 3  # consecutive non-finite losses that end the sweep
STOPPED_BY_USER = "stopped by user"


@dataclass(frozen=True, slots=True)
class SweepResult:
    lrs: np.ndarray  # the rates actually used (may stop before the end of the sweep)
    losses: np.ndarray  # raw loss per step (after the hook), NaN where non-finite
    reason: str  # why the sweep ended


class StopRules:
    """When the sweep ends: the loss non-finite ``NONFINITE_STOP`` steps in a row, or its
    debiased EMA above 4× its best, confirmed by the raw losses."""

    def __init__(self) -> None:
        self.avg = self.weight = 0.0
        self.best = math.inf
        self.nonfinite = 0

    def reason_to_stop(self, loss: float, lr: float, losses: list[float]) -> str | None:
        if not math.isfinite(loss):
            self.nonfinite += 1
            if self.nonfinite >= NONFINITE_STOP:
                return f"loss non-finite for {self.nonfinite} steps (up to lr {lr:.3g})"
            return None
        self.nonfinite = 0
        self.avg = suggest.BETA * self.avg + (1 - suggest.BETA) * loss
        self.weight = suggest.BETA * self.weight + (1 - suggest.BETA)
        smoothed = self.avg / self.weight
        self.best = min(self.best, smoothed)
        if suggest.should_stop_sweep(smoothed, self.best, losses):
            return (
                f"smoothed loss {smoothed:.4g} exceeded {suggest.DIVERGE_FACTOR:g}x "
                f"its best {self.best:.4g} at lr {lr:.3g}"
            )
        return None


class _Batches:
    """Shuffled index batches over ``n`` samples, reshuffled once an epoch is used up."""

    def __init__(self, n: int, size: int, device: torch.device, generator: torch.Generator | None):
        self.n, self.size, self.device, self.generator = n, size, device, generator
        self.order = self._shuffle()
        self.cursor = 0

    def _shuffle(self) -> torch.Tensor:
        return torch.randperm(self.n, device=self.device, generator=self.generator)

    def next(self) -> torch.Tensor:
        if self.cursor + self.size > self.n:  # next epoch
            self.order, self.cursor = self._shuffle(), 0
        indices = self.order[self.cursor : self.cursor + self.size]
        self.cursor += self.size
        return indices


def _train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    indices: torch.Tensor,
    *,
    micro_batch: int,
    clip_grad_norm: float,
    amp_dtype: torch.dtype | None,
    scaler: torch.amp.GradScaler | None,
) -> float:
    """One optimizer step at the optimizer's current rate; returns the raw loss."""
    params = [p for p in model.parameters() if p.requires_grad]
    step_loss, _ = forward_backward(
        model, x, y, indices, micro_batch, amp_dtype=amp_dtype, scaler=scaler
    )
    if scaler:
        scaler.unscale_(optimizer)
    grad_norm = clip_gradients(params, clip_grad_norm)
    # note: CPU-GPU sync point, once per step: the sweep decides step by step.
    loss = float(step_loss)
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    elif bool(torch.isfinite(grad_norm)):
        optimizer.step()  # a non-finite gradient would poison the weights
    optimizer.zero_grad(set_to_none=True)
    return loss


def lr_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lrs: np.ndarray,
    batch_size: int,
    micro_batch: int,
    clip_grad_norm: float = 0.0,
    amp_dtype: torch.dtype | None = None,
    generator: torch.Generator | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_step: Callable[[int, float, float], None] | None = None,
    loss_hook: LossHook | None = None,
) -> SweepResult:
    """One optimizer step per rate of ``lrs``; model and optimizer are restored afterwards."""
    model_state = copy.deepcopy(model.state_dict())
    optim_state = copy.deepcopy(optimizer.state_dict())
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    batches = _Batches(len(y), batch_size, x.device, generator)
    rules = StopRules()
    losses: list[float] = []
    reason = f"completed the sweep ({len(lrs)} steps)"
    model.train()
    try:
        for step, lr in enumerate(lrs.tolist()):
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = _train_step(
                model,
                optimizer,
                x,
                y,
                batches.next(),
                micro_batch=micro_batch,
                clip_grad_norm=clip_grad_norm,
                amp_dtype=amp_dtype,
                scaler=scaler,
            )
            if loss_hook is not None:
                loss = float(loss_hook(step, loss))
            losses.append(loss if math.isfinite(loss) else math.nan)
            if on_step is not None:
                on_step(step, lr, losses[-1])
            stop = rules.reason_to_stop(loss, lr, losses)
            if stop is None and should_stop():
                stop = STOPPED_BY_USER
            if stop is not None:
                reason = stop
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optim_state)
        optimizer.zero_grad(set_to_none=True)
    return SweepResult(np.asarray(lrs[: len(losses)], dtype=np.float64), np.asarray(losses), reason)


class _PointSender:
    """Sends the sweep's (step, lr, loss) points to the parent every ``EMIT_EVERY`` steps."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.pending: list[tuple[int, float, float]] = []

    def add(self, step: int, lr: float, loss: float) -> None:
        self.pending.append((step + 1, lr, loss))
        if len(self.pending) >= EMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        steps = np.asarray([p[0] for p in self.pending], dtype=np.int64)
        points = {
            "lr_find/lr": (steps, np.asarray([p[1] for p in self.pending], dtype=np.float64)),
            "lr_find/loss": (steps, np.asarray([p[2] for p in self.pending], dtype=np.float64)),
        }
        self.emit(Metrics(seq=-1, points=points, epoch=0, step=int(steps[-1])))
        self.pending.clear()


def run_lr_find(
    config: RunConfig,
    run_dir: str | Path,
    *,
    emit: Emit,
    should_stop: Callable[[], bool],
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    loss_hook: LossHook | None = None,
) -> Finished:
    """Sweep ``config``'s model and optimizer; the event's ``result`` holds curve and suggestion."""
    t0 = time.perf_counter()
    setup = prepare(config)
    sender = _PointSender(emit)
    sweep = lr_range_test(
        setup.model,
        build_optimizer(config.optim, setup.model),
        setup.x,
        setup.y,
        lrs=suggest.sweep_lrs(start_lr, end_lr, num_steps),
        batch_size=config.data.batch_size * config.train.grad_accum,
        micro_batch=config.data.batch_size,
        clip_grad_norm=config.train.clip_grad_norm,
        amp_dtype=setup.amp_dtype,
        generator=setup.generator,
        should_stop=should_stop,
        on_step=sender.add,
        loss_hook=loss_hook,
    )
    sender.flush()
    result = LrFindResult(
        device=str(setup.device),
        lrs=sweep.lrs,
        losses=sweep.losses,
        suggestion=suggest.suggest_lr(sweep.lrs, sweep.losses),
        configured_lr=config.optim.lr,
        end_reason=sweep.reason,
    )
    text = json.dumps(result.as_dict(), indent=1)
    (Path(run_dir) / LR_FIND_FILE).write_text(text, encoding="utf-8")
    log.info("lr-find: %s; suggestion %s", sweep.reason, result.suggestion.lr)
    return Finished(
        seq=-1,
        status=STOPPED if sweep.reason == STOPPED_BY_USER else FINISHED,
        reason=sweep.reason,
        steps=len(sweep.losses),
        epochs_done=0,
        seconds=time.perf_counter() - t0,
        result=result,
    )


__all__ = ["StopRules", "SweepResult", "lr_range_test", "run_lr_find"]
