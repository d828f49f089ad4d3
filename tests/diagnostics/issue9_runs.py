"""Real trainings behind issue 9's cases, shared by its tests and ``bench/corpus.py``.

Every function trains for real on this machine's CPU (a second or a few): our engine
in-process (``traindoc.engine.train.loop.run_training``) where it has the switch, or a short
hand-written PyTorch loop where it has none (a regression target, a metric computed
from the predictions, a reinforcement-learning reward). Hand-written loops return what
they logged, tag -> (steps, values), under the tags such a project would use
(``val/MAE``, ``val_RMSE``, ``val/f1``, ``rollout/ep_rew_mean``, ...).

Nothing here judges a run: the tests assert on the logged curves and on the diagnosis.
torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEVICE = "cpu"  # the curves below were checked on CPU; CUDA kernels would change them

#: tag -> (steps, values), in logging order
Logged = dict[str, tuple[np.ndarray, np.ndarray]]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Train on one thread (tiny models; reproducible float sums), then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------- datasets


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from traindoc.engine.data.datasets import load_dataset

    ds = load_dataset("digits")
    return ds.x.reshape(len(ds.y), 8, 8), ds.y


def imbalanced_digits_npz(path: Path, majority: float, *, seed: int = 0) -> float:
    """Digits relabelled "not a zero" (class 1) vs "zero" (class 0), with the
    non-zeros subsampled so that class 1 is ``majority`` of the samples; returns
    the exact share of class 1 written to ``path`` (an .npz with ``x`` and ``y``)."""
    x, digit = _digits()
    y = (digit != 0).astype(np.int64)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_major = min(len(pos), round(len(neg) * majority / (1 - majority)))
    idx = rng.permutation(np.concatenate([rng.choice(pos, n_major, replace=False), neg]))
    np.savez(path, x=x[idx], y=y[idx])
    return float(y[idx].mean())


def small_digits_npz(path: Path, *, classes: int = 5, n_train: int = 150,
                     n_val: int = 700) -> float:
    """Digits of the first ``classes`` classes, ``n_train + n_val`` of them; returns the
    ``data.val_fraction`` that leaves ``n_train`` for training."""
    x, y = _digits()
    rng = np.random.default_rng(0)
    idx = rng.permutation(np.flatnonzero(y < classes))[: n_train + n_val]
    np.savez(path, x=x[idx], y=y[idx])
    return n_val / (n_train + n_val)


# ---------------------------------------------------------------- engine runs


@dataclass
class EngineRun:
    """One in-process engine training: its config, logs read back, and event stream."""

    config: Any  # traindoc.engine.config.RunConfig
    run_dir: Path
    log: Any  # traindoc.engine.tb.reader.RunLog
    events: list = field(default_factory=list)  # Metrics and Evaluated, in emission order
    finished: Any = None  # traindoc.engine.events.Finished
    seconds: float = 0.0

    def values(self, tag: str) -> np.ndarray:
        return self.log.scalars[tag].values

    def steps(self, tag: str) -> np.ndarray:
        return self.log.scalars[tag].steps

    def val_labels(self) -> np.ndarray:
        """The validation labels of the run's split (the engine's own ``prepare``)."""
        from traindoc.engine.data import datasets

        return datasets.prepare(self.config.data, self.config.seed).val.y


def train_engine(overrides: dict, run_dir: Path, *,
                 stop_after_evals: int | None = None) -> EngineRun:
    """Train ``RunConfig()`` patched by ``overrides`` (on the CPU) into ``run_dir``.

    ``stop_after_evals``: press Stop once that many evaluations were made (the loop
    honours it right after the evaluation), as a user of the GUI does.
    """
    import time

    from traindoc.engine import config as cfg_mod
    from traindoc.engine.events import Evaluated, Metrics
    from traindoc.engine.tb.reader import load_path
    from traindoc.engine.train.loop import run_training

    config = cfg_mod.apply_patch(cfg_mod.RunConfig(), {"train.device": DEVICE, **overrides})
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    events: list = []
    evaluations = 0

    def emit(event: object) -> None:
        nonlocal evaluations
        if isinstance(event, Metrics | Evaluated):
            events.append(event)
        if isinstance(event, Evaluated):
            evaluations += 1

    def should_stop() -> bool:
        return stop_after_evals is not None and evaluations >= stop_after_evals

    t0 = time.perf_counter()
    with one_thread():
        finished = run_training(config, run_dir, emit=emit, should_stop=should_stop)
    seconds = time.perf_counter() - t0
    (log,) = load_path(run_dir)
    return EngineRun(config, run_dir, log, events, finished, seconds)


# The engine runs' configs (the tests and the corpus train the same ones).


def long_fast_overrides() -> dict:
    """Case 1: a long run (3,450 steps) whose loss falls 10x within its first ~2%
    (warmup 1% of the steps), with strong decoupled weight decay so that the validation
    loss never turns up: a healthy run, whose head is all descent."""
    return {"train.epochs": 150, "optim.weight_decay": 0.5, "schedule.warmup": 0.01}


def collapsed_overrides(dataset: str, *, batch_size: int = 64) -> dict:
    """Cases 2 and 5: AdamW with weight decay 100 (lr x wd = 0.1 per step) keeps every
    weight near 0, so the output is its (undecayed) bias: the class prior."""
    return {"data.dataset": dataset, "optim.weight_decay": 100.0, "train.epochs": 15,
            "data.batch_size": batch_size}


SLOW_SGD_OVERRIDES = {"optim.name": "sgd", "optim.lr": 1e-3, "schedule.kind": "constant",
                      "train.epochs": 6}
LR_0_01_OVERRIDES = {"optim.lr": 0.01}
#: Too large a step without a schedule: momentum SGD at lr 0.5 swings and loses what it
#: learned (validation accuracy 83% -> 51%); AdamW at 0.02 with batch 8 swings too.
UNSTABLE_MOMENTUM_OVERRIDES = {"optim.name": "momentum", "optim.lr": 0.5,
                               "schedule.kind": "constant", "train.epochs": 15}
UNSTABLE_ADAMW_OVERRIDES = {"optim.lr": 0.02, "schedule.kind": "constant",
                            "data.batch_size": 8, "train.epochs": 15}
#: 100 epochs put the warmup (5% of the steps) at 115 steps, 5 epochs; stopped after 2.
WARMUP_STOP = ({"train.epochs": 100}, 2)


def short_overfit_overrides(dataset: str, val_fraction: float) -> dict:
    """Case 8: a 1024x1024 MLP on 150 training digits of 5 classes, 6 epochs, Adam
    2e-3 constant, no weight decay: validation loss bottoms at epoch 2 and then rises
    at every evaluation while the accuracy gap stays under 5 points."""
    return {"data.dataset": dataset, "data.val_fraction": val_fraction,
            "model.hidden": [1024, 1024], "data.batch_size": 10, "train.epochs": 6,
            "schedule.kind": "constant", "optim.name": "adam", "optim.lr": 2e-3,
            "optim.weight_decay": 0.0, "seed": 1}


# ---------------------------------------------------------------- hand-written loops


def _as_logged(points: dict[str, list[tuple[int, float]]]) -> Logged:
    out: Logged = {}
    for tag, pts in points.items():
        arr = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        out[tag] = (arr[:, 0].astype(np.int64), arr[:, 1])
    return out


def _regression_data(n: int, seed: int):
    import torch

    r = np.random.default_rng(seed)
    x = r.uniform(-3, 3, (n, 4)).astype(np.float32)
    y = 2 * np.sin(x[:, 0]) + x[:, 1] - 0.5 * x[:, 2] ** 2 + 0.3 * r.standard_normal(n)
    return torch.as_tensor(x), torch.as_tensor(y.astype(np.float32))


def regression_run(kind: str) -> Logged:
    """Case 3: a regression MLP (4 -> 64 -> 64 -> 1, 2,000 samples, batch 64, Adam)
    trained on a broken loss; evaluated before training and after every epoch.

    - ``one-sided``: ``relu(pred - y).mean()`` (only over-prediction is penalised, a
      clamp with the wrong sign): every prediction is pushed below its target, the loss
      reaches exactly 0, its gradient vanishes and the weights freeze. Adam 1e-3, 20
      epochs; logs ``train/loss``, ``val/loss``, ``val/MAE``.
    - ``wrong-sign``: ``-mse(3 tanh(out), y)`` (an error maximised, on an output bounded
      by tanh): the loss is negative and keeps falling towards its bound while the
      predictions saturate at +-3. Adam 1e-4, 20 epochs; logs ``train_loss``,
      ``val_loss``, ``val_RMSE``.
    """
    import torch
    from torch import nn

    if kind not in ("one-sided", "wrong-sign"):
        raise ValueError(kind)
    one_sided = kind == "one-sided"
    with one_thread():
        torch.manual_seed(0)
        xt, yt = _regression_data(2000, 1)
        xv, yv = _regression_data(500, 2)
        model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                              nn.Linear(64, 1))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3 if one_sided else 1e-4)

        def predict(xb):
            out = model(xb).squeeze(1)
            return out if one_sided else 3 * torch.tanh(out)

        def loss_fn(pred, y):
            if one_sided:
                return torch.relu(pred - y).mean()
            return -((pred - y) ** 2).mean()

        tags = (("train/loss", "val/loss", "val/MAE") if one_sided
                else ("train_loss", "val_loss", "val_RMSE"))
        points: dict[str, list] = {t: [] for t in tags}
        g = torch.Generator().manual_seed(0)
        step = 0

        def evaluate() -> None:
            with torch.no_grad():
                pred = predict(xv)
                points[tags[1]].append((step, float(loss_fn(pred, yv))))
                err = pred - yv
                metric = err.abs().mean() if one_sided else (err**2).mean().sqrt()
                points[tags[2]].append((step, float(metric)))

        evaluate()
        for _ in range(20):
            for b in torch.randperm(len(yt), generator=g).split(64):
                loss = loss_fn(predict(xt[b]), yt[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                points[tags[0]].append((step, float(loss.detach())))
            evaluate()
    return _as_logged(points)


def macro_f1(pred: np.ndarray, true: np.ndarray, classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def _digits_split(n_val: int = 360):
    x, y = _digits()
    x = x.reshape(len(y), -1)
    perm = np.random.default_rng(0).permutation(len(y))
    xv, yv, xt, yt = x[perm[:n_val]], y[perm[:n_val]], x[perm[n_val:]], y[perm[n_val:]]
    mean, std = xt.mean(0), xt.std(0)
    std[std < 1e-6] = 1.0
    return (xt - mean) / std, yt, (xv - mean) / std, yv


def _noisy(labels: np.ndarray, p: float, rng: np.random.Generator, classes: int = 10):
    flip = rng.random(len(labels)) < p
    return np.where(flip, rng.integers(0, classes, len(labels)), labels)


def noisy_label_classifier_run(*, noise: float = 0.7, epochs: int = 15) -> Logged:
    """Case 4, the metric climbs: a digits MLP (64 -> 256 -> 256 -> 10, Adam 1e-4,
    batch 64) whose training labels are redrawn at random with probability ``noise``
    at every step (annotations that disagree). Most of the cross-entropy is then
    irreducible: ``train/loss`` and ``val/loss`` (on noisy labels) fall only a few
    percent, while ``val/f1`` (macro F1 against the clean validation labels, from the
    model's predictions) climbs steadily over the whole run."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    xt, yt, xv, yv = _digits_split()
    rng = np.random.default_rng(1)
    yv_noisy = _noisy(yv, noise, rng)
    with one_thread():
        torch.manual_seed(0)
        xt_t, xv_t = torch.as_tensor(xt), torch.as_tensor(xv)
        yv_t = torch.as_tensor(yv_noisy)
        model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        g = torch.Generator().manual_seed(0)
        points: dict[str, list] = {"train/loss": [], "val/loss": [], "val/f1": []}
        step = 0
        for _ in range(epochs):
            for b in torch.randperm(len(yt), generator=g).split(64):
                target = torch.as_tensor(_noisy(yt[b.numpy()], noise, rng))
                loss = F.cross_entropy(model(xt_t[b]), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                points["train/loss"].append((step, float(loss.detach())))
            with torch.no_grad():
                out = model(xv_t)
                points["val/loss"].append((step, float(F.cross_entropy(out, yv_t))))
                points["val/f1"].append((step, macro_f1(out.argmax(1).numpy(), yv, 10)))
    return _as_logged(points)


def bandit_run(*, broken: bool = True, iterations: int = 150) -> Logged:
    """Case 4, the reward never moves: a contextual bandit on digits (observe an image,
    pick one of 10 actions, reward 1 + 5 when the action is its label), an actor-critic
    (64 -> 128 tanh -> policy 10 + value 1, Adam 1e-3, 256 samples per update, A2C-style
    ``loss = policy_gradient_loss + 0.5 value_loss``), logged with Stable-Baselines3's
    tags: ``train/loss``, ``train/value_loss``, ``train/policy_gradient_loss``,
    ``rollout/ep_rew_mean`` (every update) and ``eval/mean_reward`` (greedy policy on
    held-out images, every 10 updates).

    ``broken``: the environment scores each action against the label of another,
    randomly drawn image (an index bug), so nothing can be learned: the reward stays
    at 1 + 5/10 while the loss falls ~80% as the critic learns the mean reward.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    xt, yt, xv, yv = _digits_split()
    with one_thread():
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        xt_t, xv_t = torch.as_tensor(xt), torch.as_tensor(xv)
        yt_t, yv_t = torch.as_tensor(yt), torch.as_tensor(yv)
        body = nn.Sequential(nn.Linear(64, 128), nn.Tanh())
        policy, value = nn.Linear(128, 10), nn.Linear(128, 1)
        opt = torch.optim.Adam([*body.parameters(), *policy.parameters(),
                                *value.parameters()], lr=1e-3)

        def reward(actions, labels):
            return 1.0 + 5.0 * (actions == labels).float()

        points: dict[str, list] = {t: [] for t in (
            "train/loss", "train/value_loss", "train/policy_gradient_loss",
            "rollout/ep_rew_mean", "eval/mean_reward")}
        for step in range(1, iterations + 1):
            idx = torch.randint(0, len(yt_t), (256,), generator=g)
            h = body(xt_t[idx])
            dist = torch.distributions.Categorical(logits=policy(h))
            v = value(h).squeeze(1)
            actions = dist.sample()
            labels = yt_t[torch.randint(0, len(yt_t), (256,), generator=g)] if broken \
                else yt_t[idx]
            r = reward(actions, labels)
            pg_loss = -((r - v).detach() * dist.log_prob(actions)).mean()
            value_loss = F.mse_loss(v, r)
            loss = pg_loss + 0.5 * value_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            points["train/loss"].append((step, float(loss.detach())))
            points["train/value_loss"].append((step, float(value_loss.detach())))
            points["train/policy_gradient_loss"].append((step, float(pg_loss.detach())))
            points["rollout/ep_rew_mean"].append((step, float(r.mean())))
            if step % 10 == 0:
                with torch.no_grad():
                    greedy = policy(body(xv_t)).argmax(1)
                    labels = yv_t[torch.randperm(len(yv_t), generator=g)] if broken else yv_t
                    points["eval/mean_reward"].append((step, float(reward(greedy, labels)
                                                                   .mean())))
    return _as_logged(points)


HAND_RUNS: dict[str, Callable[[], Logged]] = {
    "regression-one-sided-loss": lambda: regression_run("one-sided"),
    "regression-wrong-sign-loss": lambda: regression_run("wrong-sign"),
    "noisy-labels-f1-climbs": noisy_label_classifier_run,
    "bandit-broken-reward": bandit_run,
}


def write_logged(run_dir: Path, logged: Logged) -> None:
    """Write every tag as logged with our ``ScalarWriter`` (TensorBoard event file)."""
    from traindoc.engine.tb.writer import ScalarWriter

    w = ScalarWriter(Path(run_dir))
    for tag, (steps, values) in logged.items():
        for s, v in zip(steps.tolist(), values.tolist(), strict=True):
            w.add_scalar(tag, v, s)
    w.close()


def formula_loss(n: int) -> np.ndarray:
    """Case 1's formula: a fast early descent, ``0.1 + 2.2 exp(-step/20)``."""
    return 0.1 + 2.2 * np.exp(-np.arange(n) / 20.0)


__all__ = [
    "DEVICE", "HAND_RUNS", "LR_0_01_OVERRIDES", "SLOW_SGD_OVERRIDES",
    "UNSTABLE_ADAMW_OVERRIDES", "UNSTABLE_MOMENTUM_OVERRIDES", "WARMUP_STOP",
    "EngineRun", "Logged", "bandit_run", "collapsed_overrides", "formula_loss",
    "imbalanced_digits_npz", "long_fast_overrides", "macro_f1", "noisy_label_classifier_run",
    "one_thread", "regression_run", "short_overfit_overrides", "small_digits_npz",
    "train_engine", "write_logged",
]
