"""One optimizer step, and the pieces the finders share with it (training process only).

- :func:`loss_of`: cross-entropy for class labels, MSE for float targets (regression).
- :func:`forward_backward` accumulates the gradient of a batch's mean loss over
  micro-batches and gives each sample's predicted class.
- :func:`clip_gradients` is the global norm and clipping for parameters that do
  not share one flat gradient buffer (the finders'); the loop uses ``FlatGrads``.
- :func:`train_step` is the loop's step: forward/backward, gradient norm,
  clipping, the guarded optimizer step and zeroing.

A step whose gradient norm is not finite does not update the weights. On the CPU
the optimizer step is skipped outright (a bool costs no sync there). On CUDA the
gradients are zeroed instead, without a sync: the weights then move only by what
the optimizer does with a zero gradient that step (weight decay, momentum).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from traindoc.engine.train.setup import Run


def loss_of(outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy for integer labels; mean squared error for float targets (regression)."""
    if targets.is_floating_point():
        return F.mse_loss(outputs.float().reshape(targets.shape), targets, reduction=reduction)
    return F.cross_entropy(outputs.float(), targets, reduction=reduction)


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
    predictions: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate the gradient of the mean loss over ``indices`` in micro-batches.

    Each micro-batch's loss is weighted by its share of the samples, so the
    gradient equals that of one batch of all of them (4 × 16 == 64). Returns the
    step's mean loss and each sample's predicted class, both on the device; the
    classes are written into ``predictions`` (int64, one per index) when given:
    the loop compares them with the labels once per epoch, not once per step.
    """
    count = int(indices.numel())
    if predictions is None:
        predictions = torch.empty(count, dtype=torch.int64, device=x.device)
    if count <= micro_batch:  # one batch: nothing to weight or to add up
        loss = _micro_step(model, x, y, indices, amp_dtype, scaler, transform, None, predictions)
        return loss, predictions
    step_loss = None
    start = 0
    for micro in indices.split(micro_batch):
        size = micro.numel()
        share = size / count  # weight each micro-batch by its share
        loss = _micro_step(
            model, x, y, micro, amp_dtype, scaler, transform, share,
            predictions[start : start + size],
        )
        start += size
        step_loss = loss if step_loss is None else step_loss + loss
    return step_loss, predictions


def _micro_step(model, x, y, indices, amp_dtype, scaler, transform, share, predictions):
    """Forward and backward of one micro-batch: its (weighted) loss; classes to ``predictions``."""
    xb, yb = x[indices], y[indices]
    if transform is not None:
        xb = transform(xb)
    if amp_dtype is None:
        logits = model(xb)
    else:
        with torch.autocast(x.device.type, dtype=amp_dtype):
            logits = model(xb)
    loss = loss_of(logits, yb)
    if share is not None:
        loss = loss * share
    (scaler.scale(loss) if scaler else loss).backward()
    if not yb.is_floating_point():  # a regression has no classes to predict
        torch.argmax(logits.detach(), 1, out=predictions)
    return loss.detach()


def train_step(
    run: Run, indices: torch.Tensor, predictions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on ``indices`` at the optimizer's current learning rate.

    Writes each sample's predicted class into ``predictions``; returns the step's
    mean loss and the gradient norm before clipping, on the device (no sync but
    on the CPU).
    """
    train = run.config.train
    grads, optimizer, scaler = run.grads, run.optimizer, run.scaler
    step_loss, _ = forward_backward(
        run.model,
        run.x_train,
        run.y_train,
        indices,
        run.config.data.batch_size,
        amp_dtype=run.amp_dtype,
        scaler=scaler,
        transform=run.transform,
        predictions=predictions,
    )
    if scaler:
        scaler.unscale_(optimizer)
    grad_norm = grads.norm()
    if train.clip_grad_norm > 0:
        grads.clip_(train.clip_grad_norm, grad_norm)
    if scaler:
        # note: GradScaler.step syncs to check for inf (PyTorch's design).
        scaler.step(optimizer)
        scaler.update()
    elif run.device.type == "cpu":
        # On the CPU a bool costs no sync: skip non-finite updates so an
        # isolated bad batch does not poison the weights.
        if math.isfinite(grad_norm.item()):
            optimizer.step()
    else:
        # No sync on CUDA: zero non-finite gradients instead of branching.
        grads.zero_nonfinite_(grad_norm)
        optimizer.step()
    grads.zero_()
    return step_loss, grad_norm
