"""The batch search's probe: whether training steps of a batch size fit in memory.

:class:`MemoryProbe` tries a batch size for real (CUDA) or by estimate (CPU);
:func:`default_cpu_limit_bytes` is the CPU's limit when none is given.
"""

from __future__ import annotations

import gc
import logging
import os

import torch

from traindoc.engine.config import RunConfig
from traindoc.engine.find.finders.prepare import FinderSetup
from traindoc.engine.train.optim import build_optimizer
from traindoc.engine.train.step import clip_gradients, forward_backward

log = logging.getLogger(__name__)

TRIAL_STEPS = 2  # optimizer steps per batch-size trial (the 2nd has the optimizer state)
CPU_DEFAULT_LIMIT_FRACTION = 0.25  # of physical memory, when none is given on the CPU


def default_cpu_limit_bytes() -> int:
    """A quarter of physical memory: running out of it on the CPU kills the process."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(total * CPU_DEFAULT_LIMIT_FRACTION)


class MemoryProbe:
    """Runs training steps of a given batch size and says whether they fit in memory.

    CUDA: a real ``torch.OutOfMemoryError`` is caught and the memory released;
    with ``limit_bytes`` the peak allocated memory is also held against the limit.
    CPU: memory is estimated as parameters + gradients + optimizer state + the
    input batch + every tensor autograd saves for the backward pass (counted by
    a saved-tensors hook, which raises ``torch.OutOfMemoryError`` the moment the
    estimate passes ``limit_bytes`` — a simulated OOM, taking the CUDA path).
    """

    def __init__(self, config: RunConfig, setup: FinderSetup, limit_bytes: int | None) -> None:
        self.config = config
        self.device = setup.device
        self.model = setup.model
        self.x, self.y = setup.x, setup.y
        self.amp_dtype = setup.amp_dtype
        self.generator = setup.generator
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
        return not oom and (self.limit is None or self.peaks.get(batch, 0) <= self.limit)

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


__all__ = ["MemoryProbe", "default_cpu_limit_bytes"]
