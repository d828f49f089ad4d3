"""A follower with a reading budget lists every run at its first poll and reads them over
the polls that follow, ``pending`` until all are read; the points are those one poll
without a budget reads."""

from __future__ import annotations

import numpy as np

from traindoc.engine.tb.follow import LogFollower
from traindoc.engine.tb.writer import ScalarWriter
from traindoc.engine.watch import Watcher


def write_runs(root, runs: int) -> None:
    for i in range(runs):
        with ScalarWriter(root / f"run{i}", flush_secs=1e9) as w:
            for step in range(30):
                w.add_scalar("train/loss", 1.0 / (step + 1 + i), step)


def test_budget_reads_one_run_per_poll_and_lists_all_at_once(tmp_path):
    write_runs(tmp_path, 4)
    follower = LogFollower(tmp_path, read_budget_s=0.0)
    polls = []
    for _ in range(10):
        polls.append(follower.poll())
        if not follower.pending:
            break
    assert polls[0].new_runs == ("run0", "run1", "run2", "run3")
    assert [sorted(u.points) for u in polls] == [["run0"], ["run1"], ["run2"], ["run3"]]
    whole = LogFollower(tmp_path).poll()
    for update in polls:
        for run, tags in update.points.items():
            assert np.array_equal(tags["train/loss"].values, whole.points[run]["train/loss"].values)
    assert not follower.poll().points  # nothing new: nothing read, nothing pending
    assert not follower.pending


def test_no_budget_reads_everything_in_one_poll(tmp_path):
    write_runs(tmp_path, 3)
    follower = LogFollower(tmp_path)
    update = follower.poll()
    assert sorted(update.points) == ["run0", "run1", "run2"] and not follower.pending


def test_watcher_yields_every_run_first_then_their_diagnoses(tmp_path):
    write_runs(tmp_path, 3)
    watcher = Watcher([str(tmp_path)], {}, read_budget_s=0.0)
    first = list(watcher.changes())
    assert [c.name for c in first] == ["run0", "run1", "run2"] and all(c.new for c in first)
    assert [c.diagnosis is not None for c in first] == [True, False, False]
    assert watcher.pending
    later = [c for _ in range(2) for c in watcher.changes()]
    assert [(c.name, c.new, c.diagnosis is not None) for c in later] == [
        ("run1", False, True), ("run2", False, True)]
    assert not watcher.pending
    assert all(len(c.points["train/loss"]) == 30 for c in later)
