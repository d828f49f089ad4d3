"""The event-file reader: every scalar encoding, TensorBoard's loader cases, damage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2

from traindoc.engine.tb.discovery import find_runs
from traindoc.engine.tb.reader import EventFileReader, load_path, load_run
from traindoc.engine.tb.records import frame
from traindoc.engine.tb.scalars import Scalars, merge_files

from .helpers import (
    ENCODINGS,
    histogram_event,
    image_event,
    records,
    scalar_tensor,
    simple,
    tensor_event,
    version_event,
)

EXACT = {"float_val": np.float32, "double_val": np.float64, "half_val": np.float16,
         "content_f16": np.float16, "content_f32": np.float32, "content_f64": np.float64}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_scalar_encoding(tmp_path, encoding):
    values = [0.1, -2.5, 1e-3, 65504.0, float("nan"), float("inf"), -float("inf")]
    events = [version_event()] + [
        tensor_event("t", step, scalar_tensor(v, encoding), wall=10.0 + step)
        for step, v in enumerate(values)
    ]
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records(events))
    (run,) = load_path(path)
    s = run.scalars["t"]
    assert run.points == len(values) and s.steps.tolist() == list(range(len(values)))
    assert s.wall_times.tolist() == [10.0 + i for i in range(len(values))]
    if encoding == "bfloat16":
        want = (np.array(values, np.float32).view(np.uint32) >> 16 << 16).view(np.float32)
    else:
        want = np.array(values, EXACT[encoding])
    np.testing.assert_array_equal(s.values, want.astype(np.float64))


def test_simple_values_many_tags_and_multi_value_events(tmp_path):
    rng = np.random.default_rng(0)
    vals = rng.normal(size=(200, 3)).astype(np.float32)
    events = [version_event()]
    for step in range(200):
        v = [summary_pb2.Summary.Value(tag=f"tag/{k}" + "x" * (k * 7), simple_value=vals[step, k])
             for k in range(3)]
        events.append(event_pb2.Event(wall_time=5.0, step=step,
                                      summary=summary_pb2.Summary(value=v)))
        events.append(simple("solo", float(step), step))
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records(events))
    (run,) = load_path(path)
    assert run.points == 800 and not run.warnings
    for k in range(3):
        s = run.scalars[f"tag/{k}" + "x" * (k * 7)]
        np.testing.assert_array_equal(s.values, vals[:, k].astype(np.float64))
        assert s.steps.tolist() == list(range(200))


def test_images_histograms_graphs_are_skipped(tmp_path):
    events = [version_event(), event_pb2.Event(graph_def=b"\x00" * 3000),
              image_event("img", 1), histogram_event("h", 1), simple("loss", 0.5, 1),
              event_pb2.Event(step=2, summary=summary_pb2.Summary(value=[
                  summary_pb2.Summary.Value(tag="img2", image=summary_pb2.Summary.Image(
                      encoded_image_string=b"png" * 100)),
                  summary_pb2.Summary.Value(tag="loss", simple_value=0.25)]))]
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records(events))
    (run,) = load_path(path)
    assert list(run.scalars) == ["loss"] and run.points == 2
    assert run.scalars["loss"].values.tolist() == [0.5, 0.25]
    assert not run.warnings


def test_negative_steps_and_missing_step_field(tmp_path):
    events = [simple("a", 1.0, -5), simple("a", 2.0, 0), simple("a", 3.0, 2**50)]
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records(events))
    (run,) = load_path(path)
    assert run.scalars["a"].steps.tolist() == [-5, 0, 2**50]


# --- TensorBoard's own loader cases ----------------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(b"")
    reader = EventFileReader(path)
    chunk = reader.read(final=True)
    assert chunk.points == 0 and not chunk.warnings and not chunk.scalars


def test_file_without_scalars_and_zero_length_records(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records([version_event()]) + frame(b"") + frame(b"") + records([
        histogram_event("h", 3)]))
    chunk = EventFileReader(path).read(final=True)
    assert chunk.points == 0 and not chunk.warnings


def test_append_after_first_read(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records([version_event(), simple("a", 1.0, 1)]))
    reader = EventFileReader(path)
    assert reader.read().scalars["a"].values.tolist() == [1.0]
    assert reader.read().points == 0
    with open(path, "ab") as f:
        f.write(records([simple("a", 2.0, 2), simple("a", 3.0, 3)]))
    chunk = reader.read()
    assert chunk.scalars["a"].values.tolist() == [2.0, 3.0] and not chunk.warnings


def test_record_missing_last_byte_then_completed(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    first = records([version_event(), simple("a", 1.0, 1)])
    last = records([simple("a", 2.0, 2)])
    path.write_bytes(first + last[:-1])
    reader = EventFileReader(path)
    chunk = reader.read()
    assert chunk.scalars["a"].values.tolist() == [1.0] and not chunk.warnings
    assert reader.offset == len(first) and reader.pending
    with open(path, "ab") as f:
        f.write(last[-1:])
    chunk = reader.read()
    assert chunk.scalars["a"].values.tolist() == [2.0] and not chunk.warnings


def test_truncated_tail_is_a_warning_in_a_one_shot_load(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    data = records([version_event()] + [simple("a", float(i), i) for i in range(10)])
    path.write_bytes(data[:-7])
    (run,) = load_path(path)
    assert run.points == 9
    (w,) = run.warnings
    assert w.startswith(f"{path}: truncated record at byte ") and "10 records kept" in w


def test_bad_crc_is_a_warning_with_offset_and_reading_resyncs(tmp_path):
    events = [version_event()] + [simple("a", float(i), i) for i in range(10)]
    data = bytearray(records(events))
    sizes = [len(records([e])) for e in events]
    offset = sum(sizes[:4])  # record 4 = the point at step 3
    data[offset + 20] ^= 0xFF
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(bytes(data))
    (run,) = load_path(path)
    assert run.scalars["a"].steps.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    (w,) = run.warnings
    assert f"bad data CRC at byte {offset}" in w and "4 records kept before it" in w
    assert w.startswith(str(path))


def test_garbage_between_records(tmp_path):
    a = records([version_event(), simple("a", 1.0, 1)])
    b = records([simple("a", 2.0, 2)])
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(a + b"\x01garbage\xff" * 5 + b)
    (run,) = load_path(path)
    assert run.scalars["a"].values.tolist() == [1.0, 2.0]
    (w,) = run.warnings
    assert f"at byte {len(a)}, 45 bytes skipped" in w


def test_undecodable_payload_with_valid_crc(tmp_path):
    a = records([version_event(), simple("a", 1.0, 1)])
    junk = frame(b"\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")  # bad varint length
    b = records([simple("a", 2.0, 2)])
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(a + junk + b)
    (run,) = load_path(path)
    assert run.scalars["a"].values.tolist() == [1.0, 2.0]
    assert run.warnings == [f"{path}: undecodable record at byte {len(a)}, skipped"]


def test_damage_in_a_growing_file_is_reported_once(tmp_path):
    a = records([version_event(), simple("a", 1.0, 1)])
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(a + b"\x00garbage" * 3)
    reader = EventFileReader(path)
    c1 = reader.read()
    assert len(c1.warnings) == 1 and "no valid record after it yet" in c1.warnings[0]
    with open(path, "ab") as f:
        f.write(b"more junk")
    assert reader.read().warnings == []
    with open(path, "ab") as f:
        f.write(records([simple("a", 2.0, 2)]))
    c3 = reader.read()
    assert c3.scalars["a"].values.tolist() == [2.0] and c3.warnings == []


def test_record_larger_than_a_chunk(tmp_path, monkeypatch):
    import traindoc.engine.tb.reader as reader_mod

    monkeypatch.setattr(reader_mod, "CHUNK_BYTES", 1000)
    events = [version_event(), image_event("img", 1, size=5000), simple("a", 1.0, 1)]
    events += [simple("a", float(i), i) for i in range(2, 200)]
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records(events))
    (run,) = load_path(path)
    assert run.points == 199 and not run.warnings
    assert run.scalars["a"].steps.tolist() == list(range(1, 200))


def test_unreadable_file_is_a_warning(tmp_path):
    reader = EventFileReader(tmp_path / "events.out.tfevents.missing")
    chunk = reader.read(final=True)
    assert chunk.points == 0 and "cannot read" in chunk.warnings[0]


# --- runs: several files, restarts ---------------------------------------------------


def test_restarted_run_later_file_wins(tmp_path):
    first = [version_event()] + [simple("loss", 10.0 + s, s) for s in range(0, 100, 10)]
    second = [version_event()] + [simple("loss", 20.0 + s, s) for s in range(50, 130, 10)]
    (tmp_path / "events.out.tfevents.100.h.1.0").write_bytes(records(first))
    (tmp_path / "events.out.tfevents.200.h.1.0").write_bytes(records(second))
    (run,) = load_path(tmp_path)
    s = run.scalars["loss"]
    assert s.steps.tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]
    assert s.values.tolist()[:5] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert s.values.tolist()[5:] == [20.0 + st for st in range(50, 130, 10)]
    assert run.points == 10 + 8  # every point read, before the purge
    assert run.name == "."


def test_files_of_a_run_merge_in_step_order():
    a = Scalars(np.array([0, 1, 2]), np.array([1.0, 2, 3]), np.zeros(3))
    b = Scalars(np.array([3, 5]), np.array([4.0, 5]), np.zeros(2))
    m = merge_files([a, Scalars.empty(), b])
    assert m.steps.tolist() == [0, 1, 2, 3, 5]
    unsorted = Scalars(np.array([2, 0, 1]), np.array([3.0, 1, 2]), np.zeros(3))
    assert merge_files([unsorted]).values.tolist() == [1.0, 2.0, 3.0]


def test_keras_train_validation_joined(tmp_path):
    for sub, vals in (("train", [1.0, 0.5]), ("validation", [1.2, 0.9])):
        d = tmp_path / "fit" / sub
        d.mkdir(parents=True)
        evs = [version_event()] + [
            tensor_event("epoch_loss", i, scalar_tensor(v, "content_f32")) for i, v in
            enumerate(vals)]
        (d / "events.out.tfevents.1.h.1.v2").write_bytes(records(evs))
    (run,) = [load_run(s) for s in find_runs(tmp_path)]
    assert run.name == "fit"
    assert sorted(run.scalars) == ["train/epoch_loss", "validation/epoch_loss"]
    assert run.roles == {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss"}
    assert run.scalars["validation/epoch_loss"].values.tolist() == [
        pytest.approx(1.2), pytest.approx(0.9)]
    assert math.isclose(run.scalars["train/epoch_loss"].values[1], 0.5)


def test_replaced_file_is_read_again(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(records([simple("a", 1.0, 1)]))
    reader = EventFileReader(path)
    assert reader.read().points == 1
    other = tmp_path / "new"
    other.write_bytes(records([simple("a", 5.0, 1), simple("a", 6.0, 2)]))
    other.replace(path)
    chunk = reader.read()
    assert chunk.scalars["a"].values.tolist() == [5.0, 6.0]
    assert "read again from the start" in chunk.warnings[0]
