"""LogFollower when a file is replaced (issue 10, item 11).

Truncated and rewritten, renamed over, its folder deleted and recreated, rewritten
at the same size: the follower reports the run reset and delivers it as read again,
so a consumer that applies the updates holds exactly what a one-shot load reads.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from traindoc.engine.tb.follow import FollowUpdate, LogFollower
from traindoc.engine.tb.reader import load_path

from .helpers import poll_watcher, records, simple, version_event

NAME = "events.out.tfevents.1.h"


def _data(n, value=1.0, start=0, tag="train/loss"):
    return records([version_event()] + [simple(tag, value, s) for s in range(start, start + n)])


class Consumer:
    """Applies follower updates as the GUI and ``diagnose --watch`` must."""

    def __init__(self):
        self.runs: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
        self.resets = 0

    def take(self, u: FollowUpdate) -> None:
        for run in u.reset:
            self.runs[run] = {}
            self.resets += 1
        for run, tags in u.points.items():
            have = self.runs.setdefault(run, {})
            for tag, s in tags.items():
                steps, values = have.setdefault(tag, ([], []))
                if tag in u.purged.get(run, {}):
                    cut = u.purged[run][tag]
                    kept = [(a, b) for a, b in zip(steps, values, strict=True) if a < cut]
                    steps[:] = [a for a, _ in kept]
                    values[:] = [b for _, b in kept]
                steps.extend(s.steps.tolist())
                values.extend(s.values.tolist())

    def points(self, run=".", tag="train/loss"):
        return self.runs.get(run, {}).get(tag, ([], []))


def _follow(path):
    follower, consumer = LogFollower(path, rescan_secs=0), Consumer()

    def poll():
        u = follower.poll()
        consumer.take(u)
        return u

    return poll, consumer


def _later_mtime(path, than_ns):
    os.utime(path, ns=(than_ns + 10**9, than_ns + 10**9))


def _same_as_load(consumer, root, run="."):
    (loaded,) = [r for r in load_path(root) if r.name == run] if run != "." else load_path(root)
    for tag, s in loaded.scalars.items():
        if tag in consumer.runs.get(run, {}):
            assert consumer.points(run, tag)[0] == s.steps.tolist()
            assert consumer.points(run, tag)[1] == s.values.tolist()


def test_truncated_and_rewritten(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(_data(50))
    poll, consumer = _follow(tmp_path)
    poll()
    path.write_bytes(_data(20, 2.0))  # same inode, truncated then rewritten
    u = poll()
    assert u.reset == (".",) and any("replaced or rewritten" in w for w in u.warnings)
    assert consumer.points() == (list(range(20)), [2.0] * 20)
    with open(path, "ab") as f:  # and it grows on as usual
        f.write(records([simple("train/loss", 2.0, s) for s in range(20, 25)]))
    u = poll()
    assert not u.reset and u.n_points == 5
    assert consumer.points()[0] == list(range(25))


def test_atomically_replaced(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(_data(50))
    poll, consumer = _follow(tmp_path)
    poll()
    tmp = tmp_path / "next.tmp"
    tmp.write_bytes(_data(60, 3.0))
    os.replace(tmp, path)
    u = poll()
    assert u.reset == (".",) and u.n_points == 60
    assert consumer.points() == (list(range(60)), [3.0] * 60)


def test_same_size_replacement_is_read_again(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(_data(50, 1.0))
    poll, consumer = _follow(tmp_path)
    poll()
    before = os.stat(path).st_mtime_ns
    with open(path, "r+b") as f:  # in place: same inode, same size
        f.write(_data(50, 2.0))
    _later_mtime(path, before)
    assert os.stat(path).st_size == len(_data(50, 1.0))
    u = poll()
    assert u.reset == (".",)
    assert consumer.points() == (list(range(50)), [2.0] * 50)
    assert not poll()  # and then it is current again


def test_same_size_renamed_over(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(_data(50, 1.0))
    poll, consumer = _follow(tmp_path)
    poll()
    tmp = tmp_path / "next.tmp"
    tmp.write_bytes(_data(50, 4.0))
    os.replace(tmp, path)
    poll()
    assert consumer.points() == (list(range(50)), [4.0] * 50)


def test_folder_deleted_and_recreated(tmp_path):
    run = tmp_path / "a"
    run.mkdir()
    (run / "events.out.tfevents.1.h").write_bytes(_data(50, 1.0))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / NAME).write_bytes(_data(10, 9.0))
    poll, consumer = _follow(tmp_path)
    poll()
    shutil.rmtree(run)
    u = poll()  # seen gone: its points are dropped
    assert u.reset == ("a",) and "a" not in u.points
    assert consumer.points("a") == ([], [])
    run.mkdir()
    (run / "events.out.tfevents.2.h").write_bytes(_data(30, 5.0))
    poll()
    assert consumer.points("a") == (list(range(30)), [5.0] * 30)
    assert consumer.points("b") == (list(range(10)), [9.0] * 10)  # untouched
    # deleted and recreated between two polls, under the same file name
    shutil.rmtree(run)
    run.mkdir()
    (run / "events.out.tfevents.2.h").write_bytes(_data(20, 6.0))
    u = poll()
    assert u.reset == ("a",)
    assert consumer.points("a") == (list(range(20)), [6.0] * 20)
    _same_as_load(consumer, tmp_path, "a")


def test_one_file_of_a_run_removed(tmp_path):
    (tmp_path / "events.out.tfevents.1.h").write_bytes(_data(50, 1.0))
    (tmp_path / "events.out.tfevents.2.h").write_bytes(_data(20, 2.0, start=50))
    poll, consumer = _follow(tmp_path)
    poll()
    assert consumer.points()[0] == list(range(70))
    (tmp_path / "events.out.tfevents.1.h").unlink()
    u = poll()
    assert u.reset == (".",)
    assert consumer.points() == (list(range(50, 70)), [2.0] * 20)


def test_replaced_file_of_a_restarted_run(tmp_path):
    """A run of two files (restarted at step 30) whose second file is rewritten."""
    (tmp_path / "events.out.tfevents.1.h").write_bytes(_data(50, 1.0))
    second = tmp_path / "events.out.tfevents.2.h"
    second.write_bytes(_data(40, 2.0, start=30))
    poll, consumer = _follow(tmp_path)
    poll()
    second.write_bytes(_data(10, 3.0, start=40))
    poll()
    assert consumer.points() == (list(range(50)), [1.0] * 40 + [3.0] * 10)
    _same_as_load(consumer, tmp_path)


def test_watch_drops_a_finding_that_no_longer_holds(tmp_path):
    from traindoc.engine.watch import Watcher

    path = tmp_path / NAME
    rng = np.random.default_rng(0)
    good = 2.3 * np.exp(-np.arange(200) / 40) + 0.1 + rng.normal(0, 0.01, 200)
    bad = good.copy()
    bad[150:] = np.nan
    path.write_bytes(records([version_event()]
                             + [simple("train/loss", float(v), i) for i, v in enumerate(bad)]))
    watcher = Watcher([str(tmp_path)], {})
    poll_watcher(watcher)
    assert "nan-loss" in [f.rule for f in watcher.runs["."].diagnosis().findings]
    tmp = tmp_path / "next.tmp"
    tmp.write_bytes(records([version_event()]
                            + [simple("train/loss", float(v), i) for i, v in enumerate(good)]))
    os.replace(tmp, path)
    changed, warnings = poll_watcher(watcher)
    assert changed == ["."] and warnings
    state = watcher.runs["."]
    assert state.points == 200
    assert "nan-loss" not in [f.rule for f in state.diagnosis().findings]
