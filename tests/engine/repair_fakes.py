"""A stand-in for training in the repair loop's tests: run folders written at once.

:class:`FakeRuns` implements :class:`traindoc.engine.repair.runs.Runs` like
``TrainRuns`` (the same configs and patches) but, instead of starting a process,
writes the folder a run of that config would leave: ``config.toml``, an event file
with the config and the curves, ``status.json``. The curves follow a tiny world of
SGD on the digits: at lr ≥ 20 the loss explodes at step 10, at lr ≥ 2 at step 35,
below that it falls steadily to 95% validation accuracy.
"""

from __future__ import annotations

import math
from pathlib import Path

from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.engine.events import DIVERGED, FINISHED, STOPPED
from traindoc.engine.repair.runs import TrainRuns
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.writer import ScalarWriter

STEPS = 115
EVERY = 23  # an evaluation per epoch, 5 epochs


def write_healthy(writer: ScalarWriter) -> str:
    for step in range(1, STEPS + 1):
        loss = 0.1 + 2.2 * math.exp(-step / 25) + 0.01 * math.sin(step)
        writer.add_scalars({"train/loss": loss, "opt/lr": 0.1, "opt/grad_norm": 1.0}, step)
        if step % EVERY == 0:
            epoch = step // EVERY
            writer.add_scalars({"val/loss": 0.15 + 1.5 * math.exp(-epoch),
                                "val/accuracy": 0.95 - 0.5 * math.exp(-1.5 * epoch),
                                "train/accuracy": 0.96 - 0.5 * math.exp(-1.5 * epoch)}, step)
    return FINISHED


def write_diverging(writer: ScalarWriter, at: int) -> str:
    for step in range(1, at + 4):
        loss = 2.3 if step < at - 5 else 2.3 * 10 ** (step - at + 6)
        grad = 1.0 if step < at - 5 else 10.0 ** (step - at + 6)
        if step > at:
            loss = grad = float("nan")
        writer.add_scalars({"train/loss": loss, "opt/lr": 1.0, "opt/grad_norm": grad}, step)
        if step % EVERY == 0:
            writer.add_scalars({"val/loss": 2.31, "val/accuracy": 0.1,
                                "train/accuracy": 0.1}, step)
    return DIVERGED


class FakeRun:
    """A run that is over as soon as it starts (or, with ``hold``, when stopped)."""

    def __init__(self, run_dir: Path, status: str, *, hold: bool = False) -> None:
        self.run_dir = run_dir
        self.status = status
        self.held = hold
        self.stop_asked = False
        self.closed = False
        self.started = True

    def step(self) -> bool:
        if self.held and not self.stop_asked:
            return False
        rundir.write_status(self.run_dir, STOPPED if self.held else self.status)
        return True

    def stop_soon(self) -> None:
        self.stop_asked = True

    def close(self) -> None:
        self.closed = True


class FakeRuns(TrainRuns):
    """``TrainRuns`` whose runs are written, not trained. ``hold``: run indexes (0 = the
    first) that keep running until stopped."""

    def __init__(self, *, hold: tuple[int, ...] = ()) -> None:
        self.started: list[config_module.RunConfig] = []
        self.runs: list[FakeRun] = []
        self.hold = hold

    def start(self, config, logdir, on_events):
        run_dir = rundir.make_run_dir(logdir, config.name)
        config_module.save(config, run_dir / rundir.CONFIG_FILE)
        with ScalarWriter(run_dir) as writer:
            writer.add_text(CONFIG_TAG, config_module.dumps(config))
            lr = config.optim.lr
            status = write_healthy(writer) if lr < 2 else write_diverging(
                writer, 10 if lr >= 20 else 35)
        run = FakeRun(run_dir, status, hold=len(self.started) in self.hold)
        self.started.append(config)
        self.runs.append(run)
        if on_events is not None:
            on_events([])
        return run


def sgd(lr: float) -> config_module.RunConfig:
    return config_module.apply_patch(config_module.RunConfig(), {
        "optim.name": "sgd", "optim.lr": lr, "train.epochs": 5})
