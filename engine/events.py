"""Records that cross the process boundary between a training process and its parent.

Each event carries ``seq``, a number the worker assigns in order from 0, so the
parent can prove that nothing was lost (:class:`SequenceChecker`). Events are
plain frozen dataclasses of built-in types and numpy arrays: cheap to pickle
over a ``multiprocessing`` queue, and importable without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Run statuses written to status.json and carried by Finished.
RUNNING = "running"
FINISHED = "finished"
STOPPED = "stopped"
DIVERGED = "diverged"
FAILED = "failed"
TERMINAL_STATUSES = (FINISHED, STOPPED, DIVERGED, FAILED)


@dataclass(frozen=True, slots=True)
class Started:
    seq: int
    run_dir: str
    device: str
    amp: str  # "off", "bf16" or "fp16"
    total_steps: int
    steps_per_epoch: int
    epochs: int
    effective_batch: int  # data.batch_size × train.grad_accum
    parameters: int
    train_size: int
    val_size: int
    pid: int


@dataclass(frozen=True, slots=True)
class Metrics:
    """New points of some tags: ``points[tag] = (steps int64, values float64)``."""

    seq: int
    points: dict[str, tuple[np.ndarray, np.ndarray]]
    epoch: int
    step: int  # last optimizer step covered


@dataclass(frozen=True, slots=True)
class Evaluated:
    seq: int
    epoch: int
    step: int
    metrics: dict[str, float]  # canonical tag -> value, e.g. {"val/loss": 0.21}
    best_epoch: int
    best_val_loss: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The run ended on its own terms: finished, stopped, or diverged.

    ``summary`` holds a training run's final metrics; ``result`` a finder's typed
    result (:mod:`traindoc.engine.find.results`), None otherwise.
    """

    seq: int
    status: str
    reason: str
    steps: int
    epochs_done: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    result: Any = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The run raised, or its process died; ``user_error`` marks bad input (exit code 2)."""

    seq: int
    reason: str
    traceback: str = ""
    user_error: bool = False


Event = Started | Metrics | Evaluated | Finished | Failed


class SequenceChecker:
    """Counts events and the gaps between their sequence numbers."""

    __slots__ = ("expected", "missing", "received")

    def __init__(self) -> None:
        self.expected = 0
        self.received = 0
        self.missing: list[int] = []

    def see(self, seq: int) -> None:
        if seq > self.expected:
            self.missing.extend(range(self.expected, seq))
        self.expected = max(self.expected, seq + 1)
        self.received += 1
