"""Tags that are not valid UTF-8 stay distinct series (issue 10, item 8)."""

from __future__ import annotations

import io

from tensorboard.summary.writer.record_writer import RecordWriter

from traindoc.engine.tb.follow import LogFollower
from traindoc.engine.tb.reader import load_path

from .helpers import simple, version_event


def _odd_tag_file(path, per_tag=5, tensor=False):
    """Two tags that differ only in a byte that is not UTF-8 (written by TensorBoard's
    RecordWriter; the tag bytes are patched in the serialized Event)."""
    buf = io.BytesIO()
    writer = RecordWriter(buf)
    writer.write(version_event().SerializeToString())
    for step in range(per_tag):
        for mark, raw, value in ((b"A", b"\xff", 1.0), (b"B", b"\xfe", 100.0)):
            event = simple("train/loss" + mark.decode(), value, step).SerializeToString()
            writer.write(event.replace(b"train/loss" + mark, b"train/loss" + raw))
    path.write_bytes(buf.getvalue())


def test_non_utf8_tags_are_kept_apart_and_warned_once(tmp_path):
    _odd_tag_file(tmp_path / "events.out.tfevents.1.h", per_tag=50)
    (run,) = load_path(tmp_path)
    assert {"train/loss\\xfe", "train/loss\\xff"} <= set(run.scalars)
    assert run.points == 100
    assert run.scalars["train/loss\\xff"].values.tolist() == [1.0] * 50
    assert run.scalars["train/loss\\xfe"].values.tolist() == [100.0] * 50
    odd = [w for w in run.warnings if "UTF-8" in w]
    assert len(odd) == 1 and "train/loss\\\\xff" in odd[0]


def test_non_utf8_tags_few_records_exact_decoder(tmp_path):
    """Fewer records than the fast path's groups: the exact decoder keeps them apart too."""
    _odd_tag_file(tmp_path / "events.out.tfevents.1.h", per_tag=1)
    (run,) = load_path(tmp_path)
    assert {"train/loss\\xfe", "train/loss\\xff"} <= set(run.scalars)
    assert len(run.scalars["train/loss\\xff"]) == 1


def test_follower_warns_once_per_file(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    _odd_tag_file(path, per_tag=3)
    follower = LogFollower(tmp_path, rescan_secs=0)
    u = follower.poll()
    assert sorted(u.points["."]) == ["train/loss\\xfe", "train/loss\\xff"]
    assert sum("UTF-8" in w for w in u.warnings) == 1
    data = path.read_bytes()
    with open(path, "ab") as f:
        f.write(data[len(data) // 2 :])  # more of the same records (whole or not)
    u = follower.poll()
    assert not any("UTF-8" in w for w in u.warnings)
