"""A step counter that restarts inside one file (issue 10, item 12).

TensorBoard purges: the later points replace the earlier ones from the restart
step on. Without it, sorting interleaves two attempts and looks like oscillation.
"""

from __future__ import annotations

import numpy as np

from traindoc.engine.tb.follow import LogFollower
from traindoc.engine.tb.reader import EventFileReader, load_path
from traindoc.engine.tb.scalars import Scalars

from .helpers import poll_watcher, records, simple, version_event


def _events(steps, value, tag="train/loss"):
    return [simple(tag, value, s, wall=float(s)) for s in steps]


def _write(path, events):
    path.write_bytes(records([version_event(), *events]))


def test_one_shot_reader_replaces_the_first_attempt(tmp_path):
    _write(tmp_path / "events.out.tfevents.1.h",
           _events(range(1, 51), 1.0) + _events(range(1, 31), 2.0))
    (run,) = load_path(tmp_path)
    s = run.scalars["train/loss"]
    assert s.steps.tolist() == list(range(1, 31))
    assert s.values.tolist() == [2.0] * 30
    assert sum("step counter restarts" in w for w in run.warnings) == 1


def test_restart_to_a_middle_step_keeps_the_points_before_it(tmp_path):
    _write(tmp_path / "events.out.tfevents.1.h",
           _events(range(0, 50), 1.0) + _events(range(20, 40), 2.0)
           + _events(range(0, 10), 1.0, tag="other"))
    (run,) = load_path(tmp_path)
    s = run.scalars["train/loss"]
    assert s.steps.tolist() == list(range(0, 40))
    assert s.values.tolist() == [1.0] * 20 + [2.0] * 20
    assert run.scalars["other"].steps.tolist() == list(range(10))


def test_repeated_step_is_not_a_restart(tmp_path):
    _write(tmp_path / "events.out.tfevents.1.h", _events([0, 1, 1, 2], 1.0))
    (run,) = load_path(tmp_path)
    assert run.scalars["train/loss"].steps.tolist() == [0, 1, 1, 2]
    assert not any("restarts" in w for w in run.warnings)


def test_purge_restarts_several_restarts():
    from traindoc.engine.tb.scalars import purge_restarts

    steps = np.array([1, 2, 3, 4, 5, 3, 4, 5, 6, 2, 3, 9, 10, 8], np.int64)
    s = Scalars(steps, np.arange(len(steps), dtype=float), np.zeros(len(steps)))
    kept, restart, purge_from = purge_restarts(s)
    # 3 replaces 3..5; 2 replaces 2..6; 8 replaces 9, 10
    assert kept.steps.tolist() == [1, 2, 3, 8]
    assert kept.values.tolist() == [0.0, 9.0, 10.0, 13.0]
    assert restart == (3, 5) and purge_from is None
    kept, restart, purge_from = purge_restarts(s, last=7)
    assert restart == (1, 7) and purge_from == 1


def test_reader_reports_a_restart_across_reads(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    _write(path, _events(range(1, 51), 1.0))
    reader = EventFileReader(path)
    assert len(reader.read().scalars["train/loss"]) == 50
    with open(path, "ab") as f:
        f.write(records(_events(range(1, 31), 2.0)))
    chunk = reader.read()
    assert chunk.purged == {"train/loss": 1}
    assert chunk.scalars["train/loss"].steps.tolist() == list(range(1, 31))
    assert any("step counter restarts" in w for w in chunk.warnings)


def test_follower_purges_a_restart_inside_one_file(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    _write(path, _events(range(1, 51), 1.0))
    follower = LogFollower(tmp_path, rescan_secs=0)
    u = follower.poll()
    assert u.n_points == 50 and not u.purged
    with open(path, "ab") as f:
        f.write(records(_events(range(1, 31), 2.0)))
    u = follower.poll()
    assert u.purged == {".": {"train/loss": 1}}
    assert u.points["."]["train/loss"].steps.tolist() == list(range(1, 31))
    with open(path, "ab") as f:
        f.write(records(_events(range(31, 41), 2.0)))
    u = follower.poll()  # going on from the restart is no new restart
    assert not u.purged and u.points["."]["train/loss"].steps.tolist() == list(range(31, 41))


def test_follower_restart_within_one_poll(tmp_path):
    _write(tmp_path / "events.out.tfevents.1.h",
           _events(range(1, 51), 1.0) + _events(range(1, 31), 2.0))
    u = LogFollower(tmp_path, rescan_secs=0).poll()
    s = u.points["."]["train/loss"]
    assert s.steps.tolist() == list(range(1, 31)) and s.values.tolist() == [2.0] * 30


def test_watch_diagnoses_only_the_later_attempt(tmp_path):
    from traindoc.engine.watch import Watcher

    path = tmp_path / "events.out.tfevents.1.h"
    _write(path, _events(range(1, 51), 1.0))
    watcher = Watcher([str(tmp_path)], {})
    poll_watcher(watcher)
    with open(path, "ab") as f:
        f.write(records(_events(range(1, 31), 2.0)))
    poll_watcher(watcher)
    (run,) = watcher.runs.values()
    assert run.points == 30
