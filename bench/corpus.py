"""A labelled corpus of real, short trainings with injected problems (issue 4, item 6).

Every case is a real training on this machine's CPU — our engine in-process
(``traindoc.engine.train.loop.run_training``) or a hand-written PyTorch loop where the engine has no
switch for the injection (NaN batches, scaled batches, a guard that skips NaN steps)
— written with our ``ScalarWriter`` under one framework's tag convention:

- ``canonical``: our engine's own tags and config (``train/loss``, ``val/loss``, ...);
- ``pytorch``: SummaryWriter tutorials' ``Loss/train`` (per step), ``Loss/test`` and
  ``Accuracy/train``/``Accuracy/test`` (per epoch);
- ``lightning``: ``train_loss_step`` (every ``log_every`` steps), ``train_loss_epoch``,
  ``train_acc_epoch``, ``val_loss``, ``val_acc``, ``lr-<Optimizer>``;
- ``keras``: sibling folders ``train/`` and ``validation/`` holding ``epoch_loss`` and
  ``epoch_accuracy`` per epoch (step = epoch index), ``epoch_learning_rate``;
- ``hf``: ``train/loss`` (mean over ``logging_steps``), ``train/grad_norm``,
  ``train/learning_rate``, ``train/epoch``, ``eval/loss``, ``eval/accuracy``;
- ``as-logged``: the tags a hand-written loop logged itself, written verbatim (a
  regression's ``val/MAE`` or ``val_RMSE``, a classifier's ``val/f1``, Stable-Baselines3's
  ``rollout/ep_rew_mean`` and ``eval/mean_reward``).

Issue 9's categories come from the trainings of ``tests/diagnostics/issue9_runs.py``
(the same ones its tests assert on): long fast-converging healthy runs, a model
collapsed to the majority class of imbalanced data (an .npz made from digits, written
under ``OUT/_datasets/``), regressions whose loss degenerates while the error grows, a
slowly falling loss beside a climbing objective metric, a reward that never moves,
SGD's straight slow descent, our own default/lr 0.01/stopped-in-warmup runs, and a
short run whose validation loss rises at its last evaluations (an ``info`` note only,
so its label is ``healthy``).

``labels.tsv`` lists each case with the rules it must fire (``healthy`` for none) and
what was injected. The labels come from the injection and were checked against the
logged curves (``--show`` prints them), never from what the rules say.

    python bench/corpus.py [--out DIR] [--only NAME ...] [--show]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from traindoc.engine.tb.writer import ScalarWriter  # noqa: E402

DEFAULT_OUT = Path(tempfile.gettempdir()) / "traindoc-corpus"
HEALTHY = "healthy"


def mnist_dir() -> Path:
    """The real MNIST IDX files beside the repository (never committed)."""
    return ROOT.parent / "shared" / "datasets" / "mnist"


# ---------------------------------------------------------------- hand-written loops


@dataclass
class Metrics:
    """What a run logged: key -> [(step, value)], keys as in the writers below."""

    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    steps_per_epoch: int = 1
    optimizer: str = "Adam"  # class name, as Lightning's LearningRateMonitor tags it

    def add(self, key: str, step: int, value: float) -> None:
        self.series.setdefault(key, []).append((int(step), float(value)))


@dataclass(frozen=True)
class Recipe:
    """A plain PyTorch training with one injected problem (or none)."""

    dataset: str
    n: int = 0  # stratified subset size (0: everything)
    val: float | int = 0.2  # validation fraction, or count
    hidden: tuple[int, ...] = (128,)
    dropout: float = 0.0
    optim: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 5
    batch: int = 64
    schedule: str = "constant"  # or "cosine" (10% linear warmup, cosine to 0)
    clip: float = 0.0
    nan_steps: tuple[int, ...] = ()  # a NaN in the batch's inputs at these steps
    skip_nonfinite: bool = False  # the loop skips steps whose loss is not finite
    spike_steps: tuple[int, ...] = ()  # inputs scaled by spike_scale at these steps
    spike_scale: float = 1.0
    seed: int = 0


_DATA_CACHE: dict[str, object] = {}


def _data(r: Recipe):
    from traindoc.engine.data.datasets import load_dataset

    if r.dataset not in _DATA_CACHE:
        _DATA_CACHE[r.dataset] = load_dataset(r.dataset, seed=r.seed)
    ds = _DATA_CACHE[r.dataset]
    rng = np.random.default_rng(r.seed)
    idx = rng.permutation(len(ds.y))[: r.n or None]
    x = ds.x[idx].reshape(len(idx), -1).astype(np.float32)
    y = ds.y[idx]
    n_val = int(r.val) if r.val >= 1 else round(len(y) * r.val)
    xt, yt, xv, yv = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    mean, std = xt.mean(0), xt.std(0)
    std[std < 1e-6] = 1.0
    return (xt - mean) / std, yt, (xv - mean) / std, yv, ds.num_classes


def _mlp(r: Recipe, width: int, classes: int):
    from torch import nn

    layers: list[nn.Module] = []
    for h in r.hidden:
        layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(r.dropout)] if r.dropout else [])
        width = h
    return nn.Sequential(*layers, nn.Linear(width, classes))


def _optimizer(r: Recipe, params):
    import torch

    if r.optim == "sgd":
        return torch.optim.SGD(params, lr=r.lr, weight_decay=r.weight_decay)
    if r.optim == "momentum":
        return torch.optim.SGD(params, lr=r.lr, momentum=0.9, weight_decay=r.weight_decay)
    if r.optim == "adamw":
        return torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay or 0.01)
    return torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)


def _lr_factor(r: Recipe, step: int, total: int) -> float:
    if r.schedule != "cosine":
        return 1.0
    warm = max(1, total // 10)
    if step <= warm:
        return step / warm
    return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def hand_run(r: Recipe) -> Metrics:
    import torch
    from torch import nn

    torch.set_num_threads(1)  # tiny models: threads cost more than they give on 2 cores
    torch.manual_seed(r.seed)
    xt, yt, xv, yv, classes = _data(r)
    xt, yt, xv, yv = (torch.as_tensor(a) for a in (xt, yt, xv, yv))
    model = _mlp(r, xt.shape[1], classes)
    params = list(model.parameters())
    opt = _optimizer(r, params)
    loss_fn = nn.CrossEntropyLoss()
    spe = math.ceil(len(yt) / r.batch)
    total = spe * r.epochs
    m = Metrics(steps_per_epoch=spe, optimizer=type(opt).__name__)
    g = torch.Generator().manual_seed(r.seed)
    step = 0
    for _epoch in range(r.epochs):
        model.train()
        order = torch.randperm(len(yt), generator=g)
        losses, correct = [], 0
        for i in range(spe):
            step += 1
            b = order[i * r.batch : (i + 1) * r.batch]
            xb, yb = xt[b].clone(), yt[b]
            if step in r.nan_steps:
                xb[0, 0] = math.nan
            if step in r.spike_steps:
                xb *= r.spike_scale
            factor = _lr_factor(r, step, total)
            for group in opt.param_groups:
                group["lr"] = r.lr * factor
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, r.clip if r.clip > 0 else math.inf)
            lv = float(loss.detach())
            if math.isfinite(lv) or not r.skip_nonfinite:
                opt.step()
            m.add("train_loss", step, lv)
            m.add("grad_norm", step, float(norm))
            m.add("lr", step, r.lr * factor)
            losses.append(lv)
            correct += int((out.argmax(1) == yb).sum())
        m.add("train_loss_epoch", step, float(np.mean(losses)))
        m.add("train_acc", step, correct / len(yt))
        m.add("lr_epoch", step, r.lr * factor)
        model.eval()
        with torch.no_grad():
            out = model(xv)
            m.add("val_loss", step, float(loss_fn(out, yv)))
            m.add("val_acc", step, float((out.argmax(1) == yv).float().mean()))
    return m


# ---------------------------------------------------------------- tag conventions


def _series(m: Metrics, key: str) -> list[tuple[int, float]]:
    return m.series.get(key, [])


def write_canonical(run_dir: Path, m: Metrics, config_text: str | None = None) -> None:
    tags = {"train_loss": "train/loss", "val_loss": "val/loss", "train_acc": "train/accuracy",
            "val_acc": "val/accuracy", "lr": "opt/lr", "grad_norm": "opt/grad_norm"}
    w = ScalarWriter(run_dir)
    if config_text:
        w.add_text("traindoc/config", config_text, step=0)
    for key, tag in tags.items():
        for step, v in _series(m, key):
            w.add_scalar(tag, v, step)
    w.close()


def write_pytorch(run_dir: Path, m: Metrics) -> None:
    tags = {"train_loss": "Loss/train", "val_loss": "Loss/test", "train_acc": "Accuracy/train",
            "val_acc": "Accuracy/test"}
    w = ScalarWriter(run_dir)
    for key, tag in tags.items():
        for step, v in _series(m, key):
            w.add_scalar(tag, v, step)
    w.close()


def write_lightning(run_dir: Path, m: Metrics, log_every: int = 10) -> None:
    w = ScalarWriter(run_dir)
    for step, v in _series(m, "train_loss"):
        if step % log_every == 0:
            w.add_scalar("train_loss_step", v, step)
    for step, v in _series(m, "lr"):
        if step % log_every == 0:
            w.add_scalar(f"lr-{m.optimizer}", v, step)
    for key, tag in (("train_loss_epoch", "train_loss_epoch"), ("train_acc", "train_acc_epoch"),
                     ("val_loss", "val_loss"), ("val_acc", "val_acc")):
        for step, v in _series(m, key):
            w.add_scalar(tag, v, step)
    w.close()


def write_keras(run_dir: Path, m: Metrics) -> None:
    train, val = ScalarWriter(run_dir / "train"), ScalarWriter(run_dir / "validation")
    for epoch, (_, v) in enumerate(_series(m, "train_loss_epoch")):
        train.add_scalar("epoch_loss", v, epoch)
    for epoch, (_, v) in enumerate(_series(m, "train_acc")):
        train.add_scalar("epoch_accuracy", v, epoch)
    for epoch, (_, v) in enumerate(_series(m, "lr_epoch")):
        train.add_scalar("epoch_learning_rate", v, epoch)
    for epoch, (_, v) in enumerate(_series(m, "val_loss")):
        val.add_scalar("epoch_loss", v, epoch)
    for epoch, (_, v) in enumerate(_series(m, "val_acc")):
        val.add_scalar("epoch_accuracy", v, epoch)
    train.close()
    val.close()


def write_hf(run_dir: Path, m: Metrics, logging_steps: int = 10) -> None:
    w = ScalarWriter(run_dir)
    window: list[float] = []
    grads = dict(_series(m, "grad_norm"))
    lrs = dict(_series(m, "lr"))
    for step, v in _series(m, "train_loss"):
        window.append(v)
        if step % logging_steps == 0:
            w.add_scalar("train/loss", float(np.mean(window)), step)
            w.add_scalar("train/grad_norm", grads.get(step, math.nan), step)
            w.add_scalar("train/learning_rate", lrs.get(step, 0.0), step)
            w.add_scalar("train/epoch", step / max(1, m.steps_per_epoch), step)
            window = []
    for key, tag in (("val_loss", "eval/loss"), ("val_acc", "eval/accuracy")):
        for step, v in _series(m, key):
            w.add_scalar(tag, v, step)
    w.close()


def write_as_logged(run_dir: Path, m: Metrics) -> None:
    """Every series under its own key as the tag (what a hand-written loop logged)."""
    w = ScalarWriter(run_dir)
    for tag, points in m.series.items():
        for step, v in points:
            w.add_scalar(tag, v, step)
    w.close()


WRITERS = {"canonical": write_canonical, "pytorch": write_pytorch, "lightning": write_lightning,
           "keras": write_keras, "hf": write_hf, "as-logged": write_as_logged}


# ---------------------------------------------------------------- engine runs


def engine_run(overrides: dict, stop_after_evals: int | None = None) -> tuple[Metrics, str]:
    """Train with our engine in-process (CPU, one thread, as the tests of issue 9 do);
    its logs read back as ``Metrics`` + config TOML. ``stop_after_evals``: press Stop
    after that many evaluations."""
    from tests.diagnostics.issue9_runs import train_engine
    from traindoc.engine import config as cfg_mod

    with tempfile.TemporaryDirectory() as tmp:
        run = train_engine(overrides, Path(tmp), stop_after_evals=stop_after_evals)
        log, cfg = run.log, run.config
    keys = {"train_loss": "train/loss", "val_loss": "val/loss", "train_acc": "train/accuracy",
            "val_acc": "val/accuracy", "lr": "opt/lr", "grad_norm": "opt/grad_norm"}
    m = Metrics()
    for key, tag in keys.items():
        s = log.scalars.get(tag)
        if s is not None:
            m.series[key] = list(zip(s.steps.tolist(), s.values.tolist(), strict=True))
    val_steps = [s for s, _ in m.series.get("val_loss", [])]
    m.steps_per_epoch = val_steps[0] if val_steps else 1
    return m, cfg_mod.dumps(cfg)


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    name: str
    expected: tuple[str, ...]  # rules that must fire; () for a healthy run
    convention: str
    description: str
    engine: dict | None = None  # engine overrides, or
    recipe: Recipe | None = None  # a hand-written loop, or
    logged: str | None = None  # a hand-written loop of issue9_runs.HAND_RUNS (its own tags)
    writer_args: dict = field(default_factory=dict)
    dataset: str | None = None  # an .npz of DATASETS, written first; sets data.dataset
    stop_after_evals: int | None = None  # engine runs: Stop after that many evaluations

    @property
    def label(self) -> str:
        return ",".join(self.expected) if self.expected else HEALTHY


def _datasets() -> dict:
    """Name -> writer of an .npz dataset (issue 9), called with the file's path."""
    from tests.diagnostics import issue9_runs as runs

    return {
        "digits-90pct-nonzero": lambda path: runs.imbalanced_digits_npz(path, 0.9),
        "digits-80pct-nonzero": lambda path: runs.imbalanced_digits_npz(path, 0.8),
        "digits-5-classes-850": runs.small_digits_npz,
    }


def issue9_cases() -> list[Case]:
    """Issue 9's categories, trained as its tests train them (``issue9_runs``)."""
    from tests.diagnostics import issue9_runs as runs

    cpu = {"train.device": "cpu"}
    npz = "npz:(set by build_case)"
    return [
        # 1. a fast early descent is not an explosion
        Case("long-fast-converging-digits", (), "canonical",
             "engine, AdamW 1e-3 wd 0.5, warmup 1%, 150 epochs (3,450 steps): the loss falls "
             "10x within its first ~2% of points, validation keeps improving",
             engine={**cpu, **runs.long_fast_overrides()}),
        # 2. and 5. a model that predicts the majority class
        Case("imbalanced90-collapsed-digits", ("underfitting",), "canonical",
             "engine, digits as 'not a zero' (90%) vs 'zero', AdamW weight decay 100: the model "
             "outputs the class prior; val accuracy = the majority share at every evaluation",
             engine={**cpu, **runs.collapsed_overrides(npz)}, dataset="digits-90pct-nonzero"),
        Case("imbalanced80-collapsed-bs32-digits", ("underfitting",), "canonical",
             "engine, 80% majority class, batch 32, AdamW weight decay 100: predicts the majority "
             "class; per-step loss swings +-20% and more around a flat level (no oscillation)",
             engine={**cpu, **runs.collapsed_overrides(npz, batch_size=32)},
             dataset="digits-80pct-nonzero"),
        # 3. the loss improves while the objective gets worse
        Case("regression-one-sided-loss", ("metric-mismatch",), "as-logged",
             "hand loop, regression MLP on relu(pred - y): the loss falls to exactly 0 while "
             "val/MAE grows ~2x and freezes",
             logged="regression-one-sided-loss"),
        Case("regression-wrong-sign-loss", ("metric-mismatch",), "as-logged",
             "hand loop, regression MLP on -mse(3 tanh(out), y): the loss is negative and still "
             "falling while val_RMSE grows 75% and freezes",
             logged="regression-wrong-sign-loss"),
        # 4. the objective metric
        Case("noisy-labels-f1-climbs", (), "as-logged",
             "hand loop, digits MLP, 70% of training labels redrawn at random every step, Adam "
             "1e-4: the loss falls only ~7% while val/f1 (clean labels) climbs 0.28 -> 0.93",
             logged="noisy-labels-f1-climbs"),
        Case("bandit-broken-reward-sb3", ("underfitting",), "as-logged",
             "hand loop, actor-critic bandit on digits whose reward is scored against another "
             "image's label: SB3 tags, train/loss falls ~80%, rollout/ep_rew_mean never moves",
             logged="bandit-broken-reward"),
        # 6. a steady straight line in tiny steps
        Case("sgd-lr1e-3-digits", ("slow-descent",), "canonical",
             "engine, plain SGD lr 1e-3 (100x below the usual 0.1), constant, 6 epochs: the loss "
             "falls in a straight line, ~1% in all",
             engine={**cpu, **runs.SLOW_SGD_OVERRIDES}),
        # too large a step: swings that undo what was learned
        Case("momentum-lr0.5-constant-digits", ("oscillation",), "canonical",
             "engine, momentum SGD lr 0.5 (5x the usual 0.1), constant, 15 epochs: validation "
             "loss swings 0.6-1.9 and accuracy falls from 83% to ~55%",
             engine={**cpu, **runs.UNSTABLE_MOMENTUM_OVERRIDES}),
        Case("adamw-lr0.02-bs8-digits", ("oscillation",), "canonical",
             "engine, AdamW lr 0.02 (20x the usual), batch 8, constant, 15 epochs: validation "
             "loss swings 0.18-1.5 with no net progress",
             engine={**cpu, **runs.UNSTABLE_ADAMW_OVERRIDES}),
        # 7. our own runs
        Case("default-config-digits", (), "canonical",
             "engine, the default config exactly (AdamW 1e-3, warmup-plateau-decay, 20 epochs)",
             engine=dict(cpu)),
        Case("adamw-lr0.01-digits", (), "canonical",
             "engine, default config at lr 0.01 (a fix's child run): reaches ~97%, its gradient "
             "norm is tiny once converged with normal batches above it",
             engine={**cpu, **runs.LR_0_01_OVERRIDES}),
        Case("default-stopped-in-warmup-digits", (), "canonical",
             "engine, default config for 100 epochs, stopped after 2 evaluations (46 steps of a "
             "115-step warmup)",
             engine={**cpu, **runs.WARMUP_STOP[0]}, stop_after_evals=runs.WARMUP_STOP[1]),
        # 8. short runs: an info note, no alarm
        Case("short-overfit-5class-digits", (), "canonical",
             "engine, MLP 1024x1024 on 150 digits of 5 classes, Adam 2e-3, 6 epochs: val loss "
             "rises at each of its last 4 evaluations (accuracy gap <5 points); expected: "
             "overfitting at info with low confidence, no alarm",
             engine={**cpu, **runs.short_overfit_overrides(npz, 700 / 850)},
             dataset="digits-5-classes-850"),
    ]


def cases() -> list[Case]:
    mnist = f"mnist:{mnist_dir()}"
    return [*_base_cases(mnist), *issue9_cases()]


def _base_cases(mnist: str) -> list[Case]:
    return [
        # -- learning rate far too high / far too low --------------------------------
        Case("adamw-lr50-digits", ("divergence",), "canonical",
             "engine, AdamW lr 50 (50,000x the usual): loss explodes to ~1e7, network dies",
             engine={"optim.lr": 50.0, "train.epochs": 5}),
        Case("sgd-lr50-digits-hf", ("divergence",), "hf",
             "engine, SGD lr 50 (500x the usual), rewritten under HF Trainer tags",
             engine={"optim.name": "sgd", "optim.lr": 50.0, "train.epochs": 5}),
        Case("sgd-lr1e-6-digits", ("slow-descent",), "canonical",
             "engine, SGD lr 1e-6 (100,000x below the usual 0.1): the loss does not move",
             engine={"optim.name": "sgd", "optim.lr": 1e-6, "train.epochs": 5}),
        Case("sgd-lr-low-digits-keras", ("slow-descent",), "keras",
             "hand loop, plain SGD lr 5e-4 (200x below 0.1) for 30 epochs: straight slow fall",
             recipe=Recipe("digits", hidden=(64,), optim="sgd", lr=5e-4, epochs=30)),
        # 2.35 -> 9.9e30 -> NaN: both an explosion and a NaN, as the seed's 100 -> 50 ->
        # 200 -> 10 -> 500 -> NaN (whose test expects both rules).
        Case("sgd-lr-high-mnist-lightning", ("nan-loss", "divergence"), "lightning",
             "hand loop, MNIST 3000, SGD momentum lr 20 (200x the usual): explodes, then NaN",
             recipe=Recipe(mnist, n=3000, hidden=(128,), optim="momentum", lr=20.0, epochs=3),
             writer_args={"log_every": 1}),
        # -- capacity and regularisation -----------------------------------------------
        Case("big-model-100-samples-pytorch", ("overfitting",), "pytorch",
             "hand loop, MLP 512x512 on 100 digits (val 400), Adam, 60 epochs: memorises",
             recipe=Recipe("digits", n=500, val=400, hidden=(512, 512), optim="adam",
                           lr=1e-3, epochs=60, batch=32)),
        Case("heavy-weight-decay-lightning", ("underfitting",), "lightning",
             "hand loop, MNIST 3000, SGD momentum with L2 weight decay 1.0 (10,000x 1e-4)",
             recipe=Recipe(mnist, n=3000, hidden=(128,), optim="momentum", lr=0.05,
                           weight_decay=1.0, epochs=12)),
        Case("bottleneck-width1-digits", ("underfitting",), "canonical",
             "engine, MLP 64 -> 1 -> 10 on digits: a width-1 layer caps what it can learn",
             engine={"model.hidden": [64, 1], "train.epochs": 15}),
        # -- NaN and gradient spikes -----------------------------------------------------
        Case("nan-batches-guarded-lightning", ("nan-loss",), "lightning",
             "hand loop, digits, NaN inputs in 4 batches; the loop skips non-finite steps",
             recipe=Recipe("digits", hidden=(128,), optim="adam", lr=1e-3, epochs=8,
                           nan_steps=(60, 61, 140, 200), skip_nonfinite=True),
             writer_args={"log_every": 1}),
        Case("nan-batch-propagates-pytorch", ("nan-loss",), "pytorch",
             "hand loop, digits, one NaN batch at step 150 poisons the weights",
             recipe=Recipe("digits", hidden=(128,), optim="adam", lr=1e-3, epochs=10,
                           nan_steps=(150,))),
        Case("grad-spikes-mnist-hf", ("grad-explosion",), "hf",
             "hand loop, MNIST 5000, AdamW, clip 1.0; batches x30 at 3 steps spike the grad "
             "norm (at logged steps: HF logs the grad norm of the logging step only)",
             recipe=Recipe(mnist, n=5000, hidden=(128,), optim="adamw", lr=1e-3, epochs=4,
                           spike_steps=(100, 180, 250), spike_scale=30.0, clip=1.0),
             writer_args={"logging_steps": 10}),
        # -- healthy runs -----------------------------------------------------------------
        Case("healthy-adamw-digits", (), "canonical",
             "engine defaults (AdamW 1e-3, warmup-plateau-decay), 10 epochs",
             engine={"train.epochs": 10}),
        Case("healthy-step-schedule-spirals", (), "canonical",
             "engine, spirals, momentum SGD lr 0.1 with a step schedule, 15 epochs",
             engine={"data.dataset": "spirals", "optim.name": "momentum", "optim.lr": 0.1,
                     "optim.weight_decay": 1e-4, "schedule.kind": "step", "train.epochs": 15}),
        Case("healthy-bs4-noisy-blobs-pytorch", (), "pytorch",
             "hand loop, blobs 1000, batch size 4 (very noisy per-step loss), momentum SGD",
             recipe=Recipe("blobs", n=1000, hidden=(64, 64), optim="momentum", lr=0.01,
                           epochs=3, batch=4)),
        Case("healthy-bs4-digits-lightning", (), "lightning",
             "hand loop, digits, batch size 4, Adam 3e-4, logged every 10 steps",
             recipe=Recipe("digits", hidden=(128,), optim="adam", lr=3e-4, epochs=4, batch=4)),
        Case("healthy-cosine-mnist-hf", (), "hf",
             "hand loop, MNIST 6000, AdamW 2e-3, 10% warmup then cosine decay",
             recipe=Recipe(mnist, n=6000, hidden=(256,), optim="adamw", lr=2e-3, epochs=5,
                           schedule="cosine", clip=1.0)),
        Case("healthy-mnist-lightning", (), "lightning",
             "hand loop, MNIST 4000, Adam 1e-3 constant, 5 epochs, logged every 10 steps",
             recipe=Recipe(mnist, n=4000, hidden=(128,), optim="adam", lr=1e-3, epochs=5)),
        Case("healthy-digits-keras", (), "keras",
             "hand loop, digits, Adam 1e-3 with dropout 0.2, 20 epochs, per-epoch logs",
             recipe=Recipe("digits", hidden=(128,), optim="adam", lr=1e-3, epochs=20,
                           dropout=0.2)),
    ]


def build_case(case: Case, out: Path) -> float:
    t0 = time.perf_counter()
    run_dir = out / case.name
    run_dir.mkdir(parents=True, exist_ok=True)
    config_text = None
    if case.engine is not None:
        overrides = dict(case.engine)
        if case.dataset is not None:
            path = out / "_datasets" / f"{case.dataset}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            _datasets()[case.dataset](path)
            overrides["data.dataset"] = f"npz:{path}"
        m, config_text = engine_run(overrides, case.stop_after_evals)
    elif case.logged is not None:
        from tests.diagnostics.issue9_runs import HAND_RUNS

        logged = HAND_RUNS[case.logged]()
        m = Metrics({tag: list(zip(steps.tolist(), values.tolist(), strict=True))
                     for tag, (steps, values) in logged.items()})
    else:
        assert case.recipe is not None
        m = hand_run(case.recipe)
    if case.convention == "canonical":
        write_canonical(run_dir, m, config_text)
    else:
        WRITERS[case.convention](run_dir, m, **case.writer_args)
    return time.perf_counter() - t0


def show(case: Case, out: Path) -> None:
    from traindoc.engine.tb.reader import load_path

    for log in load_path(out / case.name):
        print(f"  {log.name}: {log.roles}")
        for role, tag in log.roles.items():
            v = log.scalars[tag].values
            idx = np.unique(np.linspace(0, v.size - 1, min(v.size, 12)).astype(int))
            print(f"    {role:15s} n={v.size:5d} " + " ".join(f"{x:.4g}" for x in v[idx]))


def generate(out: Path, only: list[str] | None = None, verbose: bool = True) -> list[Case]:
    """Write every case (or those named in ``only``) and ``labels.tsv`` under ``out``."""
    import shutil

    chosen = [c for c in cases() if not only or c.name in only]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for case in chosen:
        if (out / case.name).exists():
            shutil.rmtree(out / case.name)
        secs = build_case(case, out)
        if verbose:
            print(f"{case.name:36s} {case.convention:9s} {case.label:16s} {secs:5.1f} s",
                  flush=True)
    rows = ["case\texpected\tconvention\tdescription"]
    rows += [f"{c.name}\t{c.label}\t{c.convention}\t{c.description}" for c in cases()]
    (out / "labels.tsv").write_text("\n".join(rows) + "\n")
    if verbose:
        print(f"corpus: {len(chosen)} case(s) in {time.perf_counter() - t0:.0f} s -> {out}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--only", nargs="*", help="case names to (re)build")
    p.add_argument("--show", action="store_true", help="print the logged curves")
    args = p.parse_args(argv)
    chosen = generate(args.out, args.only)
    if args.show:
        for case in chosen:
            print(case.name, case.label)
            show(case, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
