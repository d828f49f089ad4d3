"""A curve keeps what the shared helpers worked out on it (edge masks and levels, its
smoothed trend, its peak): asked again, they answer the same as a fresh computation;
a curve cut with ``after`` starts with nothing kept; kept arrays are read-only, so a
rule that wrote into one would fail instead of changing what the next rule reads."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.diagnostics import facts
from traindoc.diagnostics.signals import (
    curve,
    edge_level,
    edge_mask,
    rolling_median,
    weighted_median,
)
from traindoc.diagnostics.summary import summarize
from traindoc.diagnostics.view import RunView


def _curve(n: int = 80):
    steps = np.arange(n)
    values = 2.0 * np.exp(-steps / 15) + 0.1 + 0.05 * np.sin(steps)
    return curve(summarize(steps, values))


def test_repeated_questions_get_the_first_answer_and_fresh_curves_recompute():
    c = _curve()
    level = edge_level(c, 0.1, head=False)
    assert edge_level(c, 0.1, head=False) == level
    assert edge_level(c, 0.1, head=True) > level  # another question: another answer
    assert edge_level(_curve(), 0.1, head=False) == level  # a fresh curve, same value
    mask = edge_mask(c, 0.5, head=False)
    assert edge_mask(c, 0.5, head=False) is mask
    assert mask.sum() == 40 and mask[-1] and not mask[0]
    tail = c.after(60)  # its own curve: nothing carried over from c
    assert not tail.memo
    assert edge_mask(tail, 0.5, head=False).sum() == 10
    # The last 10% of 20 points is two, not the eight of the whole curve.
    assert edge_level(tail, 0.1, head=False) == weighted_median(tail.y[-2:], tail.w[-2:])
    assert edge_level(tail, 0.1, head=False) != edge_level(c, 0.1, head=False)


def test_smooth_and_peak_are_kept_per_curve_and_read_only():
    c = _curve()
    s = facts.smooth(c)
    assert np.array_equal(s, rolling_median(c.y, facts.smooth_window(len(c))))
    assert facts.smooth(c) is s
    with pytest.raises(ValueError):
        s[0] = 0.0
    with pytest.raises(ValueError):
        edge_mask(c, 0.1, head=True)[0] = False
    low, high = facts.peak(c, False), facts.peak(c, True)
    assert facts.peak(c, False) is low
    assert low.best == pytest.approx(float(np.min(s)))
    assert high.index == int(np.argmax(s)) and low.index == int(np.argmin(s))
    short = c.after(len(c) - 8)
    assert np.array_equal(facts.smooth(short), rolling_median(short.y, 3))


def test_a_summary_owns_its_arrays_and_has_answers_each_question():
    steps, values = np.arange(80), np.linspace(2.0, 0.1, 80)
    seg = summarize(steps, values)
    assert not np.shares_memory(seg.start, steps) and not np.shares_memory(seg.end, steps)
    steps[:] = -1  # the caller's arrays change later: the summary does not
    assert seg.start[0] == 0 and seg.end[-1] == 79
    view = RunView({"train_loss": seg})
    assert view.has("train_loss", 80) and not view.has("train_loss", 81)
    assert view.has("train_loss", 80) and not view.has("train_loss", 81)  # asked again
    assert not view.has("val_loss")
