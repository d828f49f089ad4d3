"""The training loop of one rank of a ``torchrun`` group: DDP (training process only).

The same five parts as :mod:`traindoc.engine.train.loop`, with what DDP changes:

1. setup — the model is wrapped in ``DistributedDataParallel`` (gradients averaged
   over the ranks during backward); only rank 0 opens the event file and writes
   ``status.json`` and the checkpoint; the other ranks write nothing.
2. the batches — every rank holds the whole training set on its device; each
   epoch's order is drawn by rank 0's generator exactly as a single process draws
   it and broadcast (identical on every rank, whatever the ranks' generators drew
   for augmentation), and ``torch.utils.data.DistributedSampler`` deals its
   positions out: rank ``r`` takes positions ``r, r + W, r + 2W, …``. Step ``k`` of
   all ranks together therefore covers exactly the samples step ``k`` of one
   process covers with a ``W`` times larger batch: ``data.batch_size`` is per process.
3. the metrics flush — one ``all_reduce`` per flush carries the buffered step
   losses (averaged: the logged ``train/loss`` is the global one), the stop requests
   (any machine's Stop stops them all) and rank 0's choice of the next flush
   interval (flushes must be at the same step on every rank, so a count of steps
   replaces the single process's 0.1 s clock). A NaN on any rank makes the
   averaged loss NaN on every rank: divergence, like a stop, ends all ranks at the
   same step.
4. evaluation — each rank scores its share of the validation set; one
   ``all_reduce`` per epoch adds the sums (and the train accuracy's counts and the
   stop flag), so early stopping decides the same on every rank.
5. wrap-up — rank 0 saves the unwrapped module's ``state_dict``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from traindoc.engine import rundir
from traindoc.engine.config import RunConfig, dumps
from traindoc.engine.events import FINISHED, RUNNING, STOPPED, Finished
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.writer import ScalarWriter
from traindoc.engine.train import loop
from traindoc.engine.train.evaluation import EVAL_BATCH, EarlyStopping
from traindoc.engine.train.metrics import FLUSH_EVERY_SECONDS, FLUSH_EVERY_STEPS, StepMetrics
from traindoc.engine.train.setup import Run, build_run
from traindoc.engine.train.step import loss_of

STOPPED_BY_USER = "stopped by user"


@dataclass(frozen=True, slots=True)
class Place:
    """This process's place in the group, as ``torchrun`` set it in the environment."""

    rank: int
    local_rank: int
    world: int
    device: torch.device

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"

    @classmethod
    def from_env(cls, device_kind: str) -> Place:
        local = int(os.environ["LOCAL_RANK"])  # "cuda": this rank's own GPU; "cuda:N" as is
        device = torch.device(f"cuda:{local}" if device_kind == "cuda" else device_kind)
        return cls(int(os.environ["RANK"]), local, int(os.environ["WORLD_SIZE"]), device)


class NullWriter:
    """The event file of a rank that is not rank 0: it writes nothing."""

    path = None

    def add_scalar(self, *_args, **_kwargs) -> None:
        pass

    def add_text(self, *_args, **_kwargs) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class RankMetrics(StepMetrics):
    """:class:`StepMetrics` whose flush is collective: losses averaged, stop agreed."""

    __slots__ = ("every", "local_stop", "place", "stop_reason")

    def __init__(self, writer, emit, place: Place, local_stop: Callable[[], str]) -> None:
        super().__init__(writer, emit, place.device)
        self.place, self.local_stop = place, local_stop
        self.every = 1  # steps until the next flush; rank 0 sets it at each flush
        self.stop_reason = ""  # set on every rank by the flush that agreed to stop

    def record(self, step, loss, grad_norm, lr, samples) -> bool:
        super().record(step, loss, grad_norm, lr, samples)
        return len(self.steps) >= self.every

    def host_losses(self) -> np.ndarray:
        count = len(self.losses)
        reason, every = self.local_stop(), 0.0  # a stop on any machine stops them all
        if self.place.rank == 0:
            per_step = max(time.perf_counter() - self.since, 1e-9) / count
            every = min(FLUSH_EVERY_STEPS, max(1, int(FLUSH_EVERY_SECONDS / per_step)))
        control = torch.tensor([float(bool(reason)), every], dtype=torch.float64,
                               device=self.device)
        packed = torch.cat([torch.stack(self.losses).double(), control])
        dist.all_reduce(packed)  # note: the flush's one collective (and its host sync)
        host = packed.cpu().numpy()
        self.every = int(host[count + 1])
        if host[count] > 0:
            self.stop_reason = reason or STOPPED_BY_USER
        return host[:count] / self.place.world


def run_rank(config: RunConfig, run_dir: Path, *, emit, should_stop: Callable[[], bool],
             place: Place) -> Finished:
    """Train ``config`` as rank ``place.rank``; ``emit`` gets events (a no-op where unread)."""
    t_start = time.perf_counter()
    run = build_run(replace(config, train=replace(config.train, device=str(place.device))))
    run.config = config  # as the user wrote it (the event file and checkpoint keep it)
    shard = torch.tensor(list(DistributedSampler(range(run.n_train), num_replicas=place.world,
                                                 rank=place.rank, shuffle=False)),
                         dtype=torch.int64, device=place.device)
    run.steps_per_epoch = max(1, math.ceil(len(shard) / run.step_samples))
    ddp = DistributedDataParallel(
        run.model, device_ids=[place.device.index] if place.device.type == "cuda" else None)
    trainer = replace(run, model=ddp)  # the steps go through DDP; evaluation and saving not

    writer = ScalarWriter(run_dir, flush_secs=1.0) if place.rank == 0 else NullWriter()
    writer.add_text(CONFIG_TAG, dumps(config), step=0)
    global_batch = run.step_samples * place.world
    if place.rank == 0:
        rundir.write_status(run_dir, RUNNING, device=str(place.device), amp=run.amp_name,
                            effective_batch=global_batch, world_size=place.world,
                            backend=place.backend, pid=os.getpid())
    emit(replace(loop.started_event(run, run_dir), effective_batch=global_batch,
                 device=f"{place.device.type} x{place.world} ({place.backend} DDP)"))
    epochs = config.train.epochs
    progress = loop.Progress(EarlyStopping(config.train.patience),
                             f"completed {epochs} epoch{'s' * (epochs != 1)}")

    def local_stop() -> str:
        return STOPPED_BY_USER if should_stop() else ""

    metrics = RankMetrics(writer, emit, place, local_stop)
    try:
        for epoch in range(epochs):
            counts = train_epoch(trainer, progress, metrics, epoch, shard, place)
            if progress.status != FINISHED:
                break
            if end_epoch(run, progress, writer, emit, epoch, counts, place, local_stop):
                break
    except BaseException as exc:
        loop.close_after_error(writer, exc)
        raise
    writer.flush()
    writer.close()
    if place.rank == 0:
        finished = loop.wrap_up(run, progress, run_dir, t_start)
        record = rundir.read_status(run_dir) or {}  # the final status, plus the group
        extra = {k: v for k, v in record.items() if k not in ("status", "reason", "time")}
        rundir.write_status(run_dir, finished.status, finished.reason, **extra,
                            world_size=place.world, backend=place.backend,
                            effective_batch=global_batch)
        return finished
    return Finished(seq=-1, status=progress.status, reason=progress.reason, steps=progress.step,
                    epochs_done=progress.epochs_done, seconds=time.perf_counter() - t_start,
                    summary=dict(progress.last_eval))


def train_epoch(run: Run, progress: loop.Progress, metrics: RankMetrics, epoch: int,
                shard: torch.Tensor, place: Place) -> torch.Tensor:
    """One epoch of this rank's share; ``[correct, seen]`` (on the device) for train accuracy.

    :func:`traindoc.engine.train.loop.train_epoch` on ``order[shard]``: this rank's
    positions of the epoch's order, rank 0's draw broadcast so every rank has it alike.
    A stop asked on any rank arrives with the flush's all-reduce (``stop_reason``).
    """
    order = torch.randperm(run.n_train, device=run.device, generator=run.generator)
    dist.broadcast(order, 0)  # rank 0's draw: the same order on every rank
    correct, done = loop.train_epoch(run, progress, metrics, epoch, lambda: metrics.stop_reason,
                                     order=order[shard], world=place.world)
    return torch.stack([correct.double(), torch.tensor(float(done), device=run.device,
                                                       dtype=torch.float64)])


@torch.no_grad()
def shard_scores(run: Run, place: Place) -> torch.Tensor:
    """``[loss sum, correct, count]`` over this rank's share of the validation set."""
    model, amp_dtype = run.model, run.amp_dtype
    x, y = run.x_val[place.rank :: place.world], run.y_val[place.rank :: place.world]
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=x.device)
    for start in range(0, len(y), EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xb)
        sums[0] += loss_of(logits, yb, reduction="sum").double()
        if not yb.is_floating_point():
            sums[1] += (logits.argmax(1) == yb).sum()
    sums[2] = len(y)
    model.train()
    return sums


def end_epoch(run: Run, progress: loop.Progress, writer, emit, epoch: int,
              counts: torch.Tensor, place: Place, local_stop: Callable[[], str]) -> bool:
    """Evaluate (all ranks together), log, keep the best weights; True when the run ends."""
    reason = local_stop()
    flag = torch.tensor([float(bool(reason))], dtype=torch.float64, device=run.device)
    packed = torch.cat([shard_scores(run, place), counts, flag])
    dist.all_reduce(packed)  # note: the epoch's one collective (and its host sync)
    loss_sum, correct, n_val, train_correct, seen, stop = packed.cpu().tolist()
    metrics = {loop.VAL_LOSS: loss_sum / max(1.0, n_val)}
    if not run.y_val.is_floating_point():  # a regression logs no accuracy
        metrics[loop.VAL_ACCURACY] = correct / max(1.0, n_val)
        metrics[loop.TRAIN_ACCURACY] = train_correct / max(1.0, seen)
    if loop.record_eval(run, progress, writer, emit, epoch, metrics, keep_best=place.rank == 0):
        return True
    if stop > 0:
        progress.end(STOPPED, reason or STOPPED_BY_USER)
        return True
    return False


def init_group(place: Place) -> None:
    """Join the group: NCCL on this rank's GPU, gloo on the CPU."""
    if place.device.type == "cuda":
        torch.cuda.set_device(place.device)
    dist.init_process_group(backend=place.backend)


def leave_group() -> None:
    with contextlib.suppress(Exception):  # a group already broken by a dead rank
        if dist.is_initialized():
            dist.destroy_process_group()
