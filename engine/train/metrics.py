"""Per-step metrics of the training loop: buffered on the device, flushed in bulk.

- :class:`StepMetrics` keeps each step's loss and gradient norm on the device
  and sends them out — TensorBoard scalars and one ``Metrics`` event — every
  ``FLUSH_EVERY_STEPS`` steps or ``FLUSH_EVERY_SECONDS``, whichever comes first,
  and at the end of every epoch. A flush is the loop's one host–device sync.
- :class:`Divergence` reads the flushed losses and says when the run is lost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch

from traindoc.engine.events import Metrics
from traindoc.engine.tb.tags import CANONICAL_TAGS
from traindoc.engine.tb.writer import ScalarWriter

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

TRAIN_LOSS = CANONICAL_TAGS["train_loss"]
GRAD_NORM = CANONICAL_TAGS["grad_norm"]
LR = CANONICAL_TAGS["lr"]
SAMPLES_PER_SEC = CANONICAL_TAGS["samples_per_sec"]
DEVICE_MEM_MB = CANONICAL_TAGS["device_mem_mb"]


class Divergence:
    """Counts consecutive steps whose loss is non-finite or exploded."""

    __slots__ = ("first_loss", "run")

    def __init__(self) -> None:
        self.first_loss: float | None = None
        self.run = 0  # consecutive lost steps so far

    def update(self, losses: list[float]) -> None:
        for value in losses:
            if self.first_loss is None and math.isfinite(value):
                self.first_loss = max(value, 1e-12)
            exploded = self.first_loss is not None and value > EXPLODED_FACTOR * self.first_loss
            self.run = self.run + 1 if exploded or not math.isfinite(value) else 0

    def reason(self, step: int) -> str:
        """Why the run is diverged at ``step``; empty while it is not."""
        if self.run < NONFINITE_LIMIT:
            return ""
        return (
            f"training loss non-finite or over {EXPLODED_FACTOR:g}x its first value "
            f"for {self.run} consecutive steps (up to step {step})"
        )


class StepMetrics:
    """Per-step values kept on the device until the next :meth:`flush`."""

    __slots__ = (
        "device", "divergence", "emit", "grad_norms", "losses", "lrs", "samples", "since",
        "steps", "writer",
    )

    def __init__(
        self, writer: ScalarWriter, emit: Callable[[object], None], device: torch.device
    ) -> None:
        self.writer, self.emit, self.device = writer, emit, device
        self.divergence = Divergence()
        self.steps: list[int] = []
        self.losses: list[torch.Tensor] = []
        self.grad_norms: list[torch.Tensor] = []
        self.lrs: list[float] = []
        self.samples = 0
        self.since = time.perf_counter()

    def record(
        self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor, lr: float, samples: int
    ) -> bool:
        """Buffer one step's values; True when a flush is due."""
        self.steps.append(step)
        self.losses.append(loss)
        self.grad_norms.append(grad_norm)
        self.lrs.append(lr)
        self.samples += samples
        return (
            len(self.steps) >= FLUSH_EVERY_STEPS
            or time.perf_counter() - self.since >= FLUSH_EVERY_SECONDS
        )

    def flush(self, epoch: int) -> None:
        """Write the buffered values, emit them as one ``Metrics`` event, track divergence."""
        if not self.steps:
            return
        losses = self.host_losses()
        norms = torch.stack(self.grad_norms).double().cpu().numpy()
        steps = np.asarray(self.steps, dtype=np.int64)
        lrs = np.asarray(self.lrs, dtype=np.float64)
        elapsed = max(time.perf_counter() - self.since, 1e-9)
        last = steps[-1:]
        points = {
            TRAIN_LOSS: (steps, losses),
            GRAD_NORM: (steps, norms),
            LR: (steps, lrs),
            SAMPLES_PER_SEC: (last, np.asarray([self.samples / elapsed])),
        }
        if self.device.type == "cuda":
            mem = torch.cuda.max_memory_allocated(self.device) / 2**20
            points[DEVICE_MEM_MB] = (last, np.asarray([mem]))
        add_scalar = self.writer.add_scalar
        for tag, (tag_steps, values) in points.items():
            for s, v in zip(tag_steps.tolist(), values.tolist(), strict=True):
                add_scalar(tag, v, s)
        self.emit(Metrics(seq=-1, points=points, epoch=epoch, step=int(steps[-1])))
        self.divergence.update(losses.tolist())
        self._clear()

    def host_losses(self) -> np.ndarray:
        """The buffered losses on the host (a DDP rank's: averaged over the ranks)."""
        # note: CPU-GPU sync point, once per flush (every FLUSH_EVERY_* steps/seconds).
        return torch.stack(self.losses).double().cpu().numpy()

    def _clear(self) -> None:
        self.steps.clear()
        self.losses.clear()
        self.grad_norms.clear()
        self.lrs.clear()
        self.samples = 0
        self.since = time.perf_counter()
