"""The seed's examples (SPEC §4): each flags exactly the rule it names; healthy ones nothing."""

from __future__ import annotations

import math

import pytest

from tests.diagnostics.helpers import epochs, rules, run
from traindoc.diagnostics.types import Severity, Status

NAN = math.nan


def test_lr_too_large_sequence_is_nan_and_divergence():
    # "100 -> 50 -> 200 -> 10 -> 500 -> NaN (爆炸了!)": the loss explodes (divergence, SPEC §4's
    # sign for that rule) and turns NaN; the NaN's cause is a too-large LR.
    d = run(train_loss=[100, 50, 200, 10, 500, NAN])
    assert d.rules == {"nan-loss", "divergence"}
    nan = next(f for f in d.findings if f.rule == "nan-loss")
    assert nan.cause == "lr-too-large"
    assert nan.step_start == 5
    assert "500" in nan.evidence and "step 5" in nan.evidence
    assert [r.id for r in nan.remedies][:3] == ["lower-lr", "add-warmup", "clip-grad"]
    div = next(f for f in d.findings if f.rule == "divergence")
    # 10 -> 500 is a rise of 50x above the lowest level before it (an explosion is a
    # rise above what came before), and 500 is above where the run started (100).
    assert "50x the lowest level before it" in div.evidence and div.severity is Severity.ERROR


def test_lr_too_small_sequence_is_slow_descent():
    # "100 -> 99.9 -> 99.8 -> 99.7..."
    d = run(train_loss=[100, 99.9, 99.8, 99.7])
    assert d.rules == {"slow-descent"}
    f = d.findings[0]
    assert "100" in f.evidence and "99.7" in f.evidence and "0.3%" in f.evidence
    assert [r.id for r in f.remedies] == ["raise-lr", "switch-to-adam"]


def test_good_lr_sequence_is_healthy():
    # "100 -> 80 -> 60 -> 40 -> 20 -> 5"
    d = run(train_loss=[100, 80, 60, 40, 20, 5])
    assert d.status is Status.HEALTHY and not d.findings


@pytest.mark.parametrize(
    ("train", "val", "expected"),
    [(0.99, 0.75, {"overfitting"}), (0.70, 0.68, {"underfitting"}), (0.95, 0.93, set()),
     (99, 75, {"overfitting"}), (70, 68, {"underfitting"}), (95, 93, set())],
)
def test_accuracy_pairs(train, val, expected):
    d = run(train_accuracy=[train], val_accuracy=[val])
    assert d.rules == expected
    assert d.status is (Status.PROBLEMS if expected else Status.HEALTHY)


def test_accuracy_gap_evidence_names_numbers():
    f = run(train_accuracy=[0.99], val_accuracy=[0.75]).findings[0]
    assert "99.0%" in f.evidence and "75.0%" in f.evidence and "24.0 points" in f.evidence
    assert f.remedies[0].id == "early-stopping"


def test_drawn_oscillation():
    # "损失震荡不下降": the drawing bounces between 2.0, 1.5, 1.0 and 0.5 with no descent.
    y = [1.5, 2.0, 1.5, 1.0, 1.5, 0.5, 1.0, 2.0, 1.0, 1.5, 0.5, 1.5]
    d = run(train_loss=y)
    assert d.rules == {"oscillation"}
    assert d.findings[0].remedies[0].id == "lower-lr"


def test_drawn_slow_descent():
    # "下降太慢了": 2.0 -> 1.7 in a straight line.
    assert rules(train_loss=[2.0, 1.95, 1.9, 1.85, 1.8, 1.75, 1.7]) == {"slow-descent"}


def test_drawn_ideal_curve_is_healthy():
    # Falls steadily then flattens, train and test close.
    train = [2.0, 1.6, 1.3, 1.0, 0.8, 0.6, 0.45, 0.35, 0.3, 0.27, 0.25, 0.24]
    val = [2.05, 1.65, 1.35, 1.06, 0.86, 0.66, 0.52, 0.42, 0.37, 0.34, 0.33, 0.33]
    d = run(train_loss=epochs(train), val_loss=epochs(val))
    assert d.status is Status.HEALTHY


def test_drawn_overfitting():
    # Test loss turns up ("开始上升!") while train keeps falling.
    train = [1.2, 0.9, 0.7, 0.55, 0.45, 0.38, 0.32, 0.27, 0.23, 0.2, 0.17, 0.15]
    val = [1.25, 0.95, 0.78, 0.68, 0.63, 0.62, 0.64, 0.68, 0.73, 0.79, 0.85, 0.92]
    d = run(train_loss=epochs(train), val_loss=epochs(val))
    assert d.rules == {"overfitting"}
    f = d.findings[0]
    assert f.step_start == 600 and f.step_end == 1200
    assert [r.id for r in f.remedies][:2] == ["early-stopping", "more-dropout"]


def test_too_short_is_insufficient_data():
    d = run(val_loss=[0.784, 0.677], val_accuracy=[0.216, 0.323])
    assert d.status is Status.INSUFFICIENT_DATA and not d.findings
    assert run(train_loss=[2.3, 2.1, 1.9]).status is Status.INSUFFICIENT_DATA


def test_nan_on_a_short_run_is_still_reported():
    d = run(train_loss=[2.3, NAN])
    assert d.rules == {"nan-loss"} and d.status is Status.PROBLEMS
