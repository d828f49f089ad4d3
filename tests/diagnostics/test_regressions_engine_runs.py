"""Regressions named after misses found by running our own engine (issue 4, part A).

Each test rebuilds the shape of the real curve (numbers from the logged runs) with the
run's config, since remedies are ordered and patched from it.
"""

from __future__ import annotations

import math

import numpy as np

from tests.diagnostics.helpers import decay, epochs, run
from traindoc.diagnostics.types import Severity

STEPS_PER_EPOCH = 23  # digits, batch 64, 20% validation


def config(name: str, lr: float) -> dict:
    return {
        "optim": {"name": name, "lr": lr, "momentum": 0.9, "weight_decay": 0.01},
        "schedule": {"kind": "warmup-plateau-decay", "warmup": 0.05},
        "train": {"epochs": 5, "clip_grad_norm": 0.0},
        "model": {"hidden": [256, 256], "dropout": 0.0},
        "data": {"dataset": "digits"},
    }


def settle(head, n, level, spread, seed=0):
    rng = np.random.default_rng(seed)
    tail = level * (1 + spread * rng.standard_normal(n - len(head)))
    return np.concatenate([head, np.abs(tail)])


def per_epoch(values):
    return epochs(values, every=STEPS_PER_EPOCH)


def test_adamw_lr50_explosion_then_dead_network_is_divergence_not_underfitting():
    # 2.29 -> 5.2e7 at step 2, 1e3-1e7 for ~10 steps, then 5-8; val accuracy 10%.
    head = [2.2915, 5.2e7, 1.3e7, 1.7e7, 6.95e6, 1.48e4, 6.2e3, 3.9e3, 3.1e4, 1.1e3, 486,
            294, 214, 148, 96]
    train = settle(head, 115, 6.5, 0.3)
    d = run(config("adamw", 50.0), train_loss=train,
            val_loss=per_epoch([58.1, 24.8, 24.3, 10.1, 3.7]),
            train_accuracy=per_epoch([0.098, 0.104, 0.109, 0.096, 0.094]),
            val_accuracy=per_epoch([0.103, 0.100, 0.100, 0.103, 0.100]))
    first = d.findings[0]
    assert first.rule == "divergence" and first.severity is Severity.ERROR
    assert first.remedies[0].id == "lower-lr" and first.remedies[0].patch == {"optim.lr": 5.0}
    assert "2.29" in first.evidence  # measured from the loss at initialisation
    assert "underfitting" not in d.rules


def test_sgd_lr50_explosion_then_recovery_is_divergence():
    head = [2.2915, 7.29, 4.77e3, 5.53e5, 2.88e7, 1.8e7, 1.9e5, 23.1, 27.3, 25.5]
    train = settle(head, 115, 18.0, 0.25, seed=1)
    d = run(config("sgd", 50.0), train_loss=train,
            val_loss=per_epoch([14.9, 15.2, 11.7, 12.3, 2.32]),
            train_accuracy=per_epoch([0.097, 0.104, 0.104, 0.103, 0.101]),
            val_accuracy=per_epoch([0.100, 0.100, 0.103, 0.103, 0.103]))
    assert d.findings[0].rule == "divergence"
    assert d.findings[0].remedies[0].id == "lower-lr"
    assert "underfitting" not in d.rules


def test_momentum_lr1e4_explodes_and_stays_flat_is_divergence():
    train = settle([2.2915, 1.44e7], 115, 3e28, 0.0)
    d = run(config("momentum", 1e4), train_loss=train)
    f = d.findings[0]
    assert f.rule == "divergence" and f.severity is Severity.ERROR
    assert f.remedies[0].patch == {"optim.lr": 1000.0}


def test_momentum_lr1e4_nan_after_three_steps_is_lr_not_grad_clipping():
    # The gradient norm goes NaN with the loss: "训练几步就NaN" is the learning rate.
    train = [2.2915, 1.44e7, 2.97e22] + [math.nan] * 8
    grad = [0.616, 2.56e5, 5.16e15] + [math.nan] * 8
    d = run(config("momentum", 1e4), train_loss=train, grad_norm=grad)
    first = d.findings[0]
    assert first.rule == "nan-loss" and first.cause == "lr-too-large"
    assert first.remedies[0].id == "lower-lr"


def test_sgd_lr1e6_no_learning_is_slow_descent_with_raise_lr_first():
    # val_loss moves 0.0008%; the train loss is mini-batch noise around 2.31.
    rng = np.random.default_rng(3)
    train = 2.312 + 0.008 * rng.standard_normal(115)
    val = per_epoch([2.31070, 2.31070, 2.31069, 2.31069, 2.31068])
    acc = per_epoch([0.0953] * 5)
    d = run(config("sgd", 1e-6), train_loss=train, val_loss=val, train_accuracy=acc,
            val_accuracy=per_epoch([0.1086] * 5))
    assert d.rules == {"slow-descent"}
    f = d.findings[0]
    assert f.cause == "lr-too-small" and "1e-06" in f.evidence
    assert [r.id for r in f.remedies] == ["raise-lr", "switch-to-adam"]
    assert f.remedies[0].patch == {"optim.lr": 1e-5}


def test_sgd_lr1e6_curves_without_config_stay_no_learning():
    # Foreign logs carry no optimizer: the curve alone says "nothing was learned".
    rng = np.random.default_rng(3)
    train = 2.312 + 0.008 * rng.standard_normal(115)
    d = run(train_loss=train, val_loss=per_epoch([2.3107] * 5))
    assert d.rules == {"underfitting"}
    assert d.findings[0].remedies[0].id == "bigger-model"


def test_no_learning_with_a_steady_straight_descent_raises_lr_first():
    # -0.0015% in a clean straight line (the warcraft_optuna_v1 shape): still no
    # learning, but the steps are too small: lr x10 first.
    val = np.linspace(82977.9, 82976.65, 50)
    d = run(config("adamw", 1e-3), val_loss=epochs(val))
    f = d.findings[0]
    assert f.rule == "underfitting" and f.cause == "lr-too-small"
    assert f.remedies[0].id == "raise-lr" and f.remedies[0].patch == {"optim.lr": 0.01}


def test_stuck_at_chance_with_a_normal_lr_keeps_bigger_model_first():
    rng = np.random.default_rng(4)
    train = math.log(29) + 3e-4 * rng.standard_normal(59)
    d = run(config("adamw", 1e-3), train_loss=epochs(train))
    f = d.findings[0]
    assert f.rule == "underfitting" and f.cause is None
    assert f.remedies[0].id == "bigger-model"
    assert next(r for r in f.remedies if r.id == "raise-lr").patch == {"optim.lr": 0.002}


def test_low_lr_config_with_real_progress_is_not_slow_descent():
    # A low configured lr whose loss still fell by 90%: the curve says it learned.
    d = run(config("sgd", 1e-3), train_loss=decay(500, noise=0.05))
    assert d.findings == ()


def test_normal_lr_config_with_healthy_curve_is_silent():
    d = run(config("adamw", 1e-3), train_loss=decay(500, noise=0.05),
            val_loss=epochs(decay(10, start=2.2, floor=0.15), every=50))
    assert d.findings == ()


def test_blow_up_hidden_by_a_logger_that_averages_the_first_steps_is_divergence():
    # HF Trainer's train/loss averages logging steps: the explosion sits inside the
    # first logged point (4.8e6), then 11-20 with accuracy at chance; no config known.
    train = [4.76e6, 16.9, 17.3, 20.9, 13.3, 16.2, 14.4, 15.1, 20.2, 11.2, 5.2]
    d = run(None, train_loss=train,
            val_loss=epochs([14.9, 15.2, 11.7, 12.3, 2.32], every=23),
            val_accuracy=epochs([0.100, 0.100, 0.103, 0.103, 0.103], every=23))
    first = d.findings[0]
    assert first.rule == "divergence" and first.severity is Severity.ERROR
    assert "1 in 10" in first.evidence and "ln 10" in first.evidence
    assert first.remedies[0].id == "lower-lr"


def test_loss_at_chance_level_is_no_learning_not_divergence():
    # signlang_7152's shape: loss = ln 29 and accuracy 1/29 all run long.
    k = 29
    d = run(None, train_loss=[math.log(k) + 1e-4 * i for i in range(60)][::-1],
            val_loss=epochs([math.log(k)] * 20, every=3),
            val_accuracy=epochs([1 / k] * 20, every=3))
    assert "divergence" not in d.rules and "underfitting" in d.rules


def test_high_loss_of_a_classifier_that_learns_is_not_divergence():
    # A loss on another scale (summed, not averaged) while accuracy climbs well off chance.
    d = run(None, train_loss=decay(200, start=900.0, floor=60.0),
            val_loss=epochs(list(np.linspace(800, 80, 10)), every=20),
            val_accuracy=epochs(list(np.linspace(0.2, 0.93, 10)), every=20))
    assert "divergence" not in d.rules
