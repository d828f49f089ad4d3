"""What a known config adds to a finding: a weight decay far too high behind an underfit
model, a learning rate far too high behind a loss spike the run recovered from, and
the pace at which a poor model still learns."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnostics.helpers import decay, epochs, run
from traindoc.diagnostics.regularization import weight_decay_far_too_high
from traindoc.diagnostics.types import Severity


def _config(name="sgd", lr=0.1, weight_decay=1e-4, **schedule):
    return {"optim": {"name": name, "lr": lr, "weight_decay": weight_decay},
            "schedule": {"kind": "constant", "warmup": 0.0, **schedule},
            "model": {"hidden": [64]}, "train": {"epochs": 20}}


def test_weight_decay_is_far_too_high_at_100x_the_usual_value_for_its_optimizer():
    assert "5,000x the usual 0.0001 for sgd" in weight_decay_far_too_high(_config(weight_decay=0.5))
    assert weight_decay_far_too_high(_config("momentum", weight_decay=0.01)) is not None
    # Common practice stays inside it: 5e-4 with SGD, 0.1 (even 0.5) with AdamW.
    assert weight_decay_far_too_high(_config(weight_decay=5e-4)) is None
    assert weight_decay_far_too_high(_config("adamw", 1e-3, 0.1)) is None
    assert weight_decay_far_too_high(_config("adamw", 1e-3, 0.5)) is None
    assert "100x the usual 0.01 for adamw" in weight_decay_far_too_high(_config("adamw", 1e-3, 1.0))
    # Unknown optimizer or no config: the curve alone never blames the decay.
    assert weight_decay_far_too_high(_config("lamb", weight_decay=5.0)) is None
    assert weight_decay_far_too_high(None) is None


def _poor_and_flat(n=20):
    """Train and validation accuracies that rose to ~58% and flattened (a model that
    cannot fit), with the loss to match."""
    t = np.arange(n)
    train_acc = 0.58 - 0.48 * np.exp(-t / 3.0)
    val_acc = train_acc - 0.02
    loss = 2.3 - 0.9 * (1 - np.exp(-t / 3.0))
    return dict(train_loss=epochs(loss), val_loss=epochs(loss + 0.02),
                train_accuracy=epochs(train_acc), val_accuracy=epochs(val_acc))


def test_an_underfit_run_under_a_huge_weight_decay_lowers_it_first():
    d = run(_config(weight_decay=0.5), **_poor_and_flat())
    assert d.primary is not None and d.primary.rule == "underfitting"
    assert d.primary.cause == "heavy-weight-decay"
    assert "the weight decay 0.5 is 5,000x the usual 0.0001 for sgd" in d.primary.evidence
    first = d.primary.remedies[0]
    assert first.id == "weight-decay"
    assert first.patch == {"optim.weight_decay": 1e-4}  # lowered to the usual value
    assert first.text.startswith("Lower the weight decay")
    # The rest keep the order of the table, raise-lr still x2 for underfitting.
    ids = [r.id for r in d.primary.remedies]
    assert ids[1:] == ["bigger-model", "train-longer", "raise-lr", "better-model"]
    raise_lr = next(r for r in d.primary.remedies if r.id == "raise-lr")
    assert raise_lr.patch == {"optim.lr": 0.2}


def test_an_underfit_run_under_a_usual_weight_decay_keeps_the_tables_order():
    d = run(_config(weight_decay=1e-4), **_poor_and_flat())
    assert d.primary is not None and d.primary.rule == "underfitting"
    assert d.primary.cause is None
    assert [r.id for r in d.primary.remedies][:2] == ["bigger-model", "train-longer"]
    assert "weight decay" not in d.primary.evidence


def test_overfitting_still_only_ever_raises_the_weight_decay():
    # The overfitting fix never lowers a decay, however strong it is already.
    from traindoc.diagnostics.remedies import remedy
    assert remedy("weight-decay", _config(weight_decay=0.5), rule="overfitting").already_tried
    patch = remedy("weight-decay", _config(weight_decay=0.0), rule="overfitting").patch
    assert patch == {"optim.weight_decay": 1e-4}


def test_a_poor_run_whose_learning_has_slowed_down_is_underfitting():
    # A 4-unit bottleneck for 20 epochs: 20% for five epochs, a climb to 52%, then
    # +1 point in the last five. The second half's straight-line pace (the climb) would
    # reach 80% with time; where the curve is now, it would not.
    train_acc = np.r_[np.full(5, 0.2), np.linspace(0.27, 0.52, 10), np.linspace(0.52, 0.53, 5)]
    val_acc = train_acc - 0.01
    loss = 2.3 - 1.2 * (train_acc - 0.1)
    d = run(train_loss=epochs(loss), val_loss=epochs(loss + 0.03),
            train_accuracy=epochs(train_acc), val_accuracy=epochs(val_acc))
    assert d.primary is not None and d.primary.rule == "underfitting"
    assert "rises too slowly now for training longer to lift it" in d.primary.evidence
    # The same run while its accuracy still climbs at the end is still learning.
    climbing = np.r_[np.full(5, 0.2), np.linspace(0.22, 0.55, 15)]
    loss = 2.3 - 1.2 * (climbing - 0.1)
    d = run(train_loss=epochs(loss), val_loss=epochs(loss + 0.03),
            train_accuracy=epochs(climbing), val_accuracy=epochs(climbing - 0.01))
    assert "underfitting" not in d.rules


def _spike_then_learn(n=400):
    """A loss thrown 17x up at step 2 that recovers and learns (Adam's first full-size
    steps at too high a rate)."""
    y = decay(n, start=2.3, floor=0.3, noise=0.05, seed=4)
    y[1], y[2], y[3] = 20.0, 39.0, 9.0
    return y


def test_a_recovered_spike_is_a_note_on_a_foreign_log_and_a_warning_at_a_far_too_high_lr():
    loss = _spike_then_learn()
    foreign = run(train_loss=loss)
    spike = next(f for f in foreign.findings if f.rule == "divergence")
    assert spike.severity is Severity.INFO and spike.title == "Loss spiked and recovered"
    # AdamW at 30x its usual rate: the step that threw the loss up was too large.
    d = run(_config("adamw", 0.03, 0.01), train_loss=loss)
    assert d.primary is not None and d.primary.rule == "divergence"
    assert d.primary.severity is Severity.WARNING and d.primary.cause == "lr-too-large"
    assert "the learning rate 0.03 is 30x the usual 0.001 for adamw" in d.primary.evidence
    assert d.primary.remedies[0].id == "lower-lr"
    assert d.primary.remedies[0].patch == {"optim.lr": 0.003}
    # At 5x the usual rate the same spike stays a note.
    d = run(_config("adamw", 0.005, 0.01), train_loss=loss)
    assert all(f.severity is Severity.INFO for f in d.findings)


def test_gradient_spikes_come_before_the_poor_accuracy_of_the_run_they_shook():
    rng = np.random.default_rng(2)
    n = 460
    grad = np.abs(0.4 + 0.05 * rng.standard_normal(n))
    grad[[40, 120, 300]] = [8.0, 9.0, 7.5]
    loss = np.interp(np.arange(n), [0, n - 1], [2.3, 1.0]) + 0.02 * rng.standard_normal(n)
    loss[[41, 121, 301]] += 0.8
    flat = _poor_and_flat()
    d = run(train_loss=loss, grad_norm=grad, val_loss=flat["val_loss"],
            train_accuracy=flat["train_accuracy"], val_accuracy=flat["val_accuracy"])
    alarms = [f.rule for f in d.findings if f.alarm]
    assert alarms[:2] == ["grad-explosion", "underfitting"], alarms


def test_a_loss_pulled_back_to_its_start_under_a_huge_weight_decay_lowers_the_decay():
    # SGD with weight decay 0.5 on the digits: the loss leaves ln 10, then the decay
    # pulls the weights back to zero and the loss returns to where it started.
    rng = np.random.default_rng(5)
    n = 460
    t = np.arange(n)
    loss = 2.302 - 0.05 * np.exp(-((t - 75) / 40.0) ** 2) + 0.002 * rng.standard_normal(n)
    d = run(_config(lr=0.01, weight_decay=0.5), train_loss=loss)
    assert d.primary is not None and d.primary.rule == "divergence"
    assert d.primary.title == "Loss climbed back up"
    assert d.primary.cause == "heavy-weight-decay"
    assert d.primary.remedies[0].id == "weight-decay"
    assert d.primary.remedies[0].patch == {"optim.weight_decay": 1e-4}
    assert [r.id for r in d.primary.remedies][1:] == ["lower-lr", "add-warmup", "clip-grad"]
    # Under the usual decay the same climb is a step too large: lower-lr first.
    d = run(_config(lr=0.01, weight_decay=1e-4), train_loss=loss)
    assert d.primary.cause is None and d.primary.remedies[0].id == "lower-lr"


def test_a_gradient_norm_that_turns_inf_within_a_few_steps_blames_the_learning_rate():
    # SGD at lr 1000: the loss is thrown to 1e27 (finite) and the gradient norm is Inf
    # from its fourth point: the seed's "NaN within a few steps" -> lower the rate.
    loss = np.r_[2.3, 8.8e13, np.full(21, 3.0e27)]
    grad = np.r_[0.6, 2.0e14, 5.0e27, np.full(20, np.inf)]
    d = run(train_loss=loss, grad_norm=grad)
    nan = next(f for f in d.findings if f.rule == "nan-loss")
    assert nan.cause == "lr-too-large"
    assert "it came after only 3 finite values: the learning rate is likely too large" in (
        nan.evidence)
    assert nan.remedies[0].id == "lower-lr"
    # The same Inf after a long finite stretch is a gradient explosion: clip first.
    late = np.r_[np.linspace(0.6, 0.4, 100), 3e5, np.full(5, np.inf)]
    d = run(train_loss=decay(106), grad_norm=late)
    nan = next(f for f in d.findings if f.rule == "nan-loss")
    assert nan.cause == "grad-explosion" and nan.remedies[0].id == "clip-grad"


def test_a_blowup_finding_carries_its_size():
    loss = np.r_[2.3, 2.1, 2.0, 1.9, 441.6, 300.0, 200.0, np.full(20, 150.0)]
    d = run(train_loss=loss)
    blow = next(f for f in d.findings if f.rule == "divergence")
    assert blow.size == pytest.approx(441.6 / 1.9, rel=0.05)


def test_a_spike_at_a_far_too_high_lr_comes_before_the_poor_accuracy_it_left():
    # Adam at lr 0.3 from the first step: the loss is thrown 530x up at step 2, then
    # learns a little; accuracies end at 42%. The step size explains both.
    loss = decay(115, start=2.3, floor=1.3, noise=0.05, seed=1)
    loss[1] = 1220.0
    flat = _poor_and_flat(5)
    flat["train_accuracy"] = epochs(np.array([0.25, 0.23, 0.39, 0.41, 0.421]), every=23)
    flat["val_accuracy"] = epochs(np.array([0.22, 0.35, 0.40, 0.41, 0.421]), every=23)
    d = run(_config("adam", 0.3, 0.01), train_loss=loss,
            train_accuracy=flat["train_accuracy"], val_accuracy=flat["val_accuracy"])
    assert [f.rule for f in d.findings if f.alarm][:2] == ["divergence", "underfitting"]
    assert d.primary.remedies[0].id == "lower-lr"
