"""LR range test and batch-size finder (SPEC §7): the torch side, run in the training process.

- :func:`lr_range_test` sweeps the learning rate exponentially over a short run
  on a model and optimizer, recording one raw loss per step, and restores both
  afterwards. It stops once the debiased EMA of the loss exceeds 4× its best
  (confirmed by the raw losses, see :func:`traindoc.engine.find.suggest.should_stop_sweep`)
  or the loss stays non-finite.
- :func:`run_lr_find` builds data, model and optimizer from a config, runs the
  sweep and returns the ``Finished`` event whose ``summary`` carries the curve
  and :func:`traindoc.engine.find.suggest.suggest_lr`'s answer.
- :func:`run_batch_find` follows the seed's recipe (:func:`engine.find.suggest.search_batch`)
  with real training steps; CUDA out-of-memory is caught and recovered from,
  and ``memory_limit_mb`` simulates a smaller device (on the CPU, where running
  out of memory kills the process, it is always set).
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from traindoc.engine.config import RunConfig
from traindoc.engine.data import datasets
from traindoc.engine.events import FINISHED, STOPPED, Finished, Metrics
from traindoc.engine.find import suggest as lr_suggest
from traindoc.engine.train.loop import (
    amp_dtype_for,
    clip_gradients,
    forward_backward,
    resolve_device,
)
from traindoc.engine.train.models import build_model
from traindoc.engine.train.optim import build_optimizer

log = logging.getLogger(__name__)

Emit = Callable[[object], None]
LossHook = Callable[[int, float], float]  # (step, raw loss) -> recorded loss; tests inject spikes

LR_FIND_FILE = "lr_find.json"
BATCH_FIND_FILE = "batch_find.json"
EMIT_EVERY = 5  # steps between Metrics events of the sweep
NONFINITE_STOP = 3  # consecutive non-finite losses that end the sweep
TRIAL_STEPS = 2  # optimizer steps per batch-size trial (the 2nd has the optimizer state)
CPU_DEFAULT_LIMIT_FRACTION = 0.25  # of physical memory, when none is given on the CPU


@dataclass(frozen=True, slots=True)
class SweepResult:
    lrs: np.ndarray  # the rates actually used (may stop before the end of the sweep)
    losses: np.ndarray  # raw loss per step (after the hook), NaN where non-finite
    reason: str  # why the sweep ended


# ---------------------------------------------------------------- LR range test


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
    params = [p for p in model.parameters() if p.requires_grad]
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    n = len(y)
    order = torch.randperm(n, device=x.device, generator=generator)
    cursor = 0
    losses: list[float] = []
    avg = weight = 0.0
    best = math.inf
    nonfinite = 0
    reason = f"completed the sweep ({len(lrs)} steps)"
    model.train()
    try:
        for step, lr in enumerate(lrs.tolist()):
            for group in optimizer.param_groups:
                group["lr"] = lr
            if cursor + batch_size > n:  # next epoch
                order = torch.randperm(n, device=x.device, generator=generator)
                cursor = 0
            indices = order[cursor : cursor + batch_size]
            cursor += batch_size
            step_loss, _ = forward_backward(
                model, x, y, indices, micro_batch, amp_dtype=amp_dtype, scaler=scaler
            )
            if scaler:
                scaler.unscale_(optimizer)
            grad_norm = clip_gradients(params, clip_grad_norm)
            # note: CPU-GPU sync point, once per step: the sweep decides step by step.
            loss = float(step_loss)
            if loss_hook is not None:
                loss = float(loss_hook(step, loss))
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            elif bool(torch.isfinite(grad_norm)):
                optimizer.step()  # a non-finite gradient would poison the weights
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss if math.isfinite(loss) else math.nan)
            if on_step is not None:
                on_step(step, lr, losses[-1])
            # ------------------------------------------------ stop rules
            if not math.isfinite(loss):
                nonfinite += 1
                if nonfinite >= NONFINITE_STOP:
                    reason = f"loss non-finite for {nonfinite} steps (up to lr {lr:.3g})"
                    break
                continue
            nonfinite = 0
            avg = lr_suggest.BETA * avg + (1 - lr_suggest.BETA) * loss
            weight = lr_suggest.BETA * weight + (1 - lr_suggest.BETA)
            smoothed = avg / weight
            best = min(best, smoothed)
            if lr_suggest.should_stop_sweep(smoothed, best, losses):
                reason = (
                    f"smoothed loss {smoothed:.4g} exceeded {lr_suggest.DIVERGE_FACTOR:g}x "
                    f"its best {best:.4g} at lr {lr:.3g}"
                )
                break
            if should_stop():
                reason = "stopped by user"
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optim_state)
        optimizer.zero_grad(set_to_none=True)
    return SweepResult(np.asarray(lrs[: len(losses)], dtype=np.float64), np.asarray(losses), reason)


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
    """Sweep ``config``'s model and optimizer; the summary holds the curve and the suggestion."""
    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    lrs = lr_suggest.sweep_lrs(start_lr, end_lr, num_steps)
    setup = _setup(config)
    model, x, y = setup["model"], setup["x"], setup["y"]
    optimizer = build_optimizer(config.optim, model)
    pending: list[tuple[int, float, float]] = []

    def on_step(step: int, lr: float, loss: float) -> None:
        pending.append((step + 1, lr, loss))
        if len(pending) >= EMIT_EVERY:
            _emit_points(emit, pending)

    sweep = lr_range_test(
        model,
        optimizer,
        x,
        y,
        lrs=lrs,
        batch_size=config.data.batch_size * config.train.grad_accum,
        micro_batch=config.data.batch_size,
        clip_grad_norm=config.train.clip_grad_norm,
        amp_dtype=setup["amp_dtype"],
        generator=setup["generator"],
        should_stop=should_stop,
        on_step=on_step,
        loss_hook=loss_hook,
    )
    _emit_points(emit, pending)
    suggestion = lr_suggest.suggest_lr(sweep.lrs, sweep.losses)
    summary = {
        "kind": "lr-find",
        "device": str(setup["device"]),
        "lrs": sweep.lrs.tolist(),
        "losses": _json_floats(sweep.losses),
        "smoothed": _json_floats(suggestion.smoothed),
        "suggestion": suggestion.as_dict(),
        "configured_lr": config.optim.lr,
        "end_reason": sweep.reason,
    }
    (run_dir / LR_FIND_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    status = STOPPED if sweep.reason == "stopped by user" else FINISHED
    log.info("lr-find: %s; suggestion %s", sweep.reason, suggestion.lr)
    return Finished(
        seq=-1,
        status=status,
        reason=sweep.reason,
        steps=len(sweep.losses),
        epochs_done=0,
        seconds=time.perf_counter() - t0,
        summary=summary,
    )


def _emit_points(emit: Emit, pending: list[tuple[int, float, float]]) -> None:
    if not pending:
        return
    steps = np.asarray([p[0] for p in pending], dtype=np.int64)
    points = {
        "lr_find/lr": (steps, np.asarray([p[1] for p in pending], dtype=np.float64)),
        "lr_find/loss": (steps, np.asarray([p[2] for p in pending], dtype=np.float64)),
    }
    emit(Metrics(seq=-1, points=points, epoch=0, step=int(steps[-1])))
    pending.clear()


def _json_floats(values: np.ndarray) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=float).tolist()]


def _setup(config: RunConfig) -> dict[str, Any]:
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = resolve_device(config.train.device)
    prepared = datasets.prepare(config.data, config.seed)
    train = prepared.train
    model = build_model(config.model, train.input_shape, train.num_classes).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    return {
        "device": device,
        "model": model,
        "x": torch.as_tensor(train.x, device=device),
        "y": torch.as_tensor(train.y, device=device),
        "amp_dtype": amp_dtype_for(config.train.amp, device),
        "generator": generator,
    }


# ---------------------------------------------------------------- batch-size finder


class MemoryProbe:
    """Runs training steps of a given batch size and says whether they fit in memory.

    CUDA: a real ``torch.OutOfMemoryError`` is caught and the memory released;
    with ``limit_bytes`` the peak allocated memory is also held against the limit.
    CPU: memory is estimated as parameters + gradients + optimizer state + the
    input batch + every tensor autograd saves for the backward pass (counted by
    a saved-tensors hook, which raises ``torch.OutOfMemoryError`` the moment the
    estimate passes ``limit_bytes`` — a simulated OOM, taking the CUDA path).
    """

    def __init__(self, config: RunConfig, setup: dict[str, Any], limit_bytes: int | None) -> None:
        self.config = config
        self.device: torch.device = setup["device"]
        self.model: torch.nn.Module = setup["model"]
        self.x, self.y = setup["x"], setup["y"]
        self.amp_dtype = setup["amp_dtype"]
        self.generator = setup["generator"]
        self.limit = limit_bytes
        self.optimizer = build_optimizer(config.optim, self.model)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.peaks: dict[int, int] = {}  # batch -> peak (estimated) bytes of its trial
        param_bytes = sum(p.numel() * p.element_size() for p in self.params)
        state_copies = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[config.optim.name]
        self.static_bytes = param_bytes * (2 + state_copies)  # weights, grads, optimizer state
        self._param_ptrs = {p.data_ptr() for p in self.model.parameters()}

    def __call__(self, batch: int) -> bool:
        oom = False
        try:
            self._trial(batch)
        except torch.OutOfMemoryError as exc:
            oom = True
            log.info("batch %d: out of memory (%s)", batch, str(exc).splitlines()[0])
        # Recover outside the except block, so that the traceback's frames are gone.
        self.optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        fits = not oom and (self.limit is None or self.peaks.get(batch, 0) <= self.limit)
        return fits

    def _trial(self, batch: int) -> None:
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        indices = torch.randint(len(self.y), (batch,), device=self.device, generator=self.generator)
        input_bytes = batch * self.x[0].numel() * self.x.element_size()
        seen: set[int] = set()
        saved = [0]

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            ptr = tensor.data_ptr()
            if ptr not in seen and ptr not in self._param_ptrs:
                seen.add(ptr)
                saved[0] += tensor.numel() * tensor.element_size()
                total = self.static_bytes + input_bytes + saved[0]
                if not cuda and self.limit is not None and total > self.limit:
                    raise torch.OutOfMemoryError(
                        f"simulated out of memory: batch {batch} needs more than "
                        f"{self.limit / 2**20:.1f} MiB (estimated {total / 2**20:.1f} MiB so far)"
                    )
            return tensor

        for _ in range(TRIAL_STEPS):
            seen.clear()
            saved[0] = 0
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                forward_backward(
                    self.model, self.x, self.y, indices, batch, amp_dtype=self.amp_dtype
                )
            clip_gradients(self.params, self.config.train.clip_grad_norm)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        if cuda:
            # note: CPU-GPU sync point, once per trial.
            self.peaks[batch] = int(torch.cuda.max_memory_allocated(self.device))
        else:
            self.peaks[batch] = self.static_bytes + input_bytes + saved[0]


class _Stopped(Exception):
    """The user asked the batch search to stop."""


def default_cpu_limit_bytes() -> int:
    """A quarter of physical memory: running out of it on the CPU kills the process."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(total * CPU_DEFAULT_LIMIT_FRACTION)


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
    """The seed's batch-size recipe with real steps; the summary holds the plan."""
    t0 = time.perf_counter()
    setup = _setup(config)
    device: torch.device = setup["device"]
    limit = int(memory_limit_mb * 2**20) if memory_limit_mb else None
    limit_source = "--memory-limit" if limit else "none (CUDA out-of-memory)"
    if limit is None and device.type != "cuda":
        limit = default_cpu_limit_bytes()
        limit_source = "a quarter of physical memory (CPU)"
    n_train = len(setup["y"])
    probe = MemoryProbe(config, setup, limit)
    trial_count = [0]

    def fits(batch: int) -> bool:
        if should_stop():
            raise _Stopped
        ok = probe(batch)
        trial_count[0] += 1
        step = np.asarray([trial_count[0]], dtype=np.int64)
        emit(
            Metrics(
                seq=-1,
                points={
                    "batch_find/batch": (step, np.asarray([float(batch)])),
                    "batch_find/fits": (step, np.asarray([1.0 if ok else 0.0])),
                    "batch_find/peak_mb": (step, np.asarray([probe.peaks.get(batch, 0) / 2**20])),
                },
                epoch=0,
                step=trial_count[0],
            )
        )
        return ok

    cap = min(max_batch, n_train)
    try:
        search = lr_suggest.search_batch(fits, start=start, max_batch=cap)
    except _Stopped:
        return Finished(
            seq=-1,
            status=STOPPED,
            reason="stopped by user",
            steps=trial_count[0],
            epochs_done=0,
            seconds=time.perf_counter() - t0,
            summary={"kind": "batch-find"},
        )
    base_batch = config.data.batch_size * config.train.grad_accum
    goal = target or base_batch
    plan = (
        lr_suggest.accumulation_plan(
            search.recommended, goal, base_lr=config.optim.lr, base_batch=base_batch
        )
        if search.recommended
        else None
    )
    summary = {
        "kind": "batch-find",
        "device": str(device),
        "memory_limit_mb": limit / 2**20 if limit else None,
        "memory_limit_source": limit_source,
        "train_size": n_train,
        "max_batch": cap,
        "tried": [
            {"batch": b, "fits": ok, "peak_mb": probe.peaks.get(b, 0) / 2**20}
            for b, ok in search.tried
        ],
        "largest_fit": search.largest_fit,
        "first_failure": search.first_failure,
        "capped": search.capped,
        "recommended": search.recommended,
        "target": goal,
        "configured": {
            "batch_size": config.data.batch_size,
            "grad_accum": config.train.grad_accum,
            "lr": config.optim.lr,
        },
        "plan": None
        if plan is None
        else {
            "micro_batch": plan.micro_batch,
            "accum_steps": plan.accum_steps,
            "effective_batch": plan.effective_batch,
            "lr": plan.lr,
        },
    }
    (Path(run_dir) / BATCH_FIND_FILE).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    reason = (
        f"largest batch that fit {search.largest_fit}, recommended {search.recommended}"
        if search.largest_fit
        else "not even a batch of 1 fits in memory"
    )
    return Finished(
        seq=-1,
        status=FINISHED,
        reason=reason,
        steps=len(search.tried),
        epochs_done=0,
        seconds=time.perf_counter() - t0,
        summary=summary,
    )


__all__ = [
    "MemoryProbe",
    "SweepResult",
    "lr_range_test",
    "run_batch_find",
    "run_lr_find",
]
