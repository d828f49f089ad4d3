"""LogFollower: only new points, new files and runs, never re-reading old bytes."""

from __future__ import annotations

import builtins

import traindoc.engine.tb.reader as reader_mod
from traindoc.engine.tb.follow import LogFollower
from traindoc.engine.tb.writer import ScalarWriter

from .helpers import records, simple, version_event


class _CountingOpen:
    """Counts the bytes the reader reads from files."""

    def __init__(self):
        self.bytes = 0

    def __call__(self, *args, **kwargs):
        f = builtins.open(*args, **kwargs)  # noqa: SIM115 - closed by Wrapped.__exit__
        counter = self
        real_read = f.read

        class Wrapped:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def seek(self, *a):
                return f.seek(*a)

            def read(self, *a):
                data = real_read(*a)
                counter.bytes += len(data)
                return data

        return Wrapped()


def test_poll_returns_only_new_points(tmp_path, monkeypatch):
    counting = _CountingOpen()
    monkeypatch.setattr(reader_mod, "open", counting, raising=False)
    follower = LogFollower(tmp_path, rescan_secs=0)
    assert not follower.poll()
    w = ScalarWriter(tmp_path / "a", flush_secs=0)
    for i in range(1000):
        w.add_scalar("train/loss", float(i), i)
    w.add_text("traindoc/config", "x = 1")
    u = follower.poll()
    assert u.new_runs == ("a",) and len(u.new_files) == 1
    assert u.points["a"]["train/loss"].steps.tolist() == list(range(1000))
    assert u.texts == {"a": {"traindoc/config": "x = 1"}}
    size = w.path.stat().st_size
    assert counting.bytes == size
    assert not follower.poll()  # nothing new: nothing read
    assert counting.bytes == size
    for i in range(1000, 1010):
        w.add_scalar("train/loss", float(i), i)
    u = follower.poll()
    assert u.new_runs == () and u.n_points == 10
    assert u.points["a"]["train/loss"].steps.tolist() == list(range(1000, 1010))
    assert counting.bytes == w.path.stat().st_size  # only the appended bytes were read
    w.close()


def test_new_runs_and_half_written_records(tmp_path):
    follower = LogFollower(tmp_path, rescan_secs=0)
    path = tmp_path / "b" / "events.out.tfevents.1.h"
    path.parent.mkdir()
    data = records([version_event()] + [simple("loss", float(i), i) for i in range(5)])
    path.write_bytes(data[:-3])
    u = follower.poll()
    assert u.new_runs == ("b",) and u.points["b"]["loss"].steps.tolist() == [0, 1, 2, 3]
    assert not u.warnings
    with open(path, "ab") as f:
        f.write(data[-3:])
    u = follower.poll()
    assert u.points["b"]["loss"].steps.tolist() == [4] and not u.warnings
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "events.out.tfevents.2.h").write_bytes(data)
    u = follower.poll()
    assert u.new_runs == ("c",) and u.n_points == 5
    assert follower.runs == ["b", "c"]


def test_restart_reports_purge(tmp_path):
    follower = LogFollower(tmp_path, rescan_secs=0)
    (tmp_path / "events.out.tfevents.1.h.1.0").write_bytes(
        records([simple("loss", 1.0, s) for s in range(10)]))
    u = follower.poll()
    assert u.new_runs == (".",) and u.n_points == 10 and not u.purged
    (tmp_path / "events.out.tfevents.2.h.1.0").write_bytes(
        records([simple("loss", 2.0, s) for s in range(5, 8)]))
    u = follower.poll()
    assert u.purged == {".": {"loss": 5}}
    assert u.points["."]["loss"].steps.tolist() == [5, 6, 7]


def test_restart_within_one_poll_is_purged_in_the_update(tmp_path):
    (tmp_path / "events.out.tfevents.1.h.1.0").write_bytes(
        records([simple("loss", 1.0, s) for s in range(10)]))
    (tmp_path / "events.out.tfevents.2.h.1.0").write_bytes(
        records([simple("loss", 2.0, s) for s in range(5, 8)]))
    u = LogFollower(tmp_path).poll()
    assert u.points["."]["loss"].steps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert u.points["."]["loss"].values.tolist() == [1.0] * 5 + [2.0] * 3


def test_rescan_interval_limits_directory_walks(tmp_path):
    follower = LogFollower(tmp_path, rescan_secs=3600)
    follower.poll()
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "events.out.tfevents.1.h").write_bytes(records([simple("x", 1, 1)]))
    assert not follower.poll()  # not walked again yet


def test_missing_folder_is_a_warning(tmp_path):
    u = LogFollower(tmp_path / "nope").poll()
    assert u.warnings and "no such file" in u.warnings[0]
