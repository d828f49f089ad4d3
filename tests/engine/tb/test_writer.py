"""ScalarWriter: files that TensorBoard itself reads back, and its flushing."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

from traindoc.engine.tb.reader import load_path, read_texts
from traindoc.engine.tb.writer import ScalarWriter


def _accumulator(path) -> EventAccumulator:
    ea = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    return ea


def test_event_accumulator_reads_values_steps_tags_and_nan(tmp_path):
    with ScalarWriter(tmp_path) as w:
        for step in range(300):
            w.add_scalar("train/loss", 1.0 / (step + 1), step, wall_time=1000.0 + step)
        w.add_scalar("opt/lr", float("nan"), 5)
        w.add_scalar("opt/lr", float("inf"), 6)
        w.add_scalar("opt/lr", -1e300, 7)  # beyond float32: stored as -inf
        w.add_scalar("big/step", 2.5, 2**40)
        w.add_scalar("numpy", np.float32(0.25), np.int64(3))
    ea = _accumulator(tmp_path)
    assert sorted(ea.Tags()["scalars"]) == ["big/step", "numpy", "opt/lr", "train/loss"]
    loss = ea.Scalars("train/loss")
    assert [e.step for e in loss] == list(range(300))
    assert [e.wall_time for e in loss] == [1000.0 + s for s in range(300)]
    np.testing.assert_allclose([e.value for e in loss], 1.0 / np.arange(1, 301), rtol=1e-7)
    lr = [e.value for e in ea.Scalars("opt/lr")]
    assert math.isnan(lr[0]) and lr[1] == math.inf and lr[2] == -math.inf
    assert [(e.step, e.value) for e in ea.Scalars("big/step")] == [(2**40, 2.5)]
    assert [(e.step, e.value) for e in ea.Scalars("numpy")] == [(3, 0.25)]


def test_file_name_and_first_event(tmp_path):
    w = ScalarWriter(tmp_path / "run")
    w.close()
    assert re.fullmatch(r"events\.out\.tfevents\.\d+\.[^.].*\.\d+\.\d+", w.path.name)
    first = next(iter(RawEventFileLoader(str(w.path)).Load()))
    assert event_pb2.Event.FromString(first).file_version == "brain.Event:2"


def test_text_summary_shown_by_tensorboard_and_recovered(tmp_path):
    config = 'name = "digits"\n[optim]\nlr = 0.001  # ünïcode\n'
    with ScalarWriter(tmp_path) as w:
        w.add_text("traindoc/config", config)
        w.add_scalar("train/loss", 1.0, 1)
    ea = _accumulator(tmp_path)
    assert ea.Tags()["tensors"] == ["traindoc/config"]
    assert ea.SummaryMetadata("traindoc/config").plugin_data.plugin_name == "text"
    arr = tensor_util.make_ndarray(ea.Tensors("traindoc/config")[0].tensor_proto)
    assert arr.shape == (1,) and arr[0].decode() == config
    assert read_texts(tmp_path) == {"traindoc/config": config}
    (run,) = load_path(tmp_path)
    assert run.config_text == config and run.points == 1


def test_add_scalars_one_event_per_step(tmp_path):
    with ScalarWriter(tmp_path) as w:
        for step in range(10):
            w.add_scalars({"a": step, "b": -step, "c": 0.5}, step)
    ea = _accumulator(tmp_path)
    assert [e.value for e in ea.Scalars("b")] == [-s for s in range(10)]
    events = list(RawEventFileLoader(str(w.path)).Load())
    assert len(events) == 11  # file_version + one per step
    (run,) = load_path(tmp_path)
    assert run.points == 30 and run.scalars["a"].steps.tolist() == list(range(10))


def test_flushes_after_flush_secs_on_next_add(tmp_path):
    w = ScalarWriter(tmp_path, flush_secs=0.3)
    size0 = w.path.stat().st_size  # the file_version event is written at once
    assert size0 > 0
    w.add_scalar("x", 1.0, 1)
    assert w.path.stat().st_size == size0  # buffered
    time.sleep(0.35)
    w.add_scalar("x", 2.0, 2)  # the deadline passed: this add flushes
    assert w.path.stat().st_size > size0
    size1 = w.path.stat().st_size
    w.add_scalar("x", 3.0, 3)
    assert w.path.stat().st_size == size1
    w.flush()
    assert w.path.stat().st_size > size1
    w.add_scalar("x", 4.0, 4)
    w.close()
    (run,) = load_path(tmp_path)
    assert run.scalars["x"].values.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_flush_secs_zero_writes_every_add(tmp_path):
    w = ScalarWriter(tmp_path, flush_secs=0)
    for i in range(5):
        w.add_scalar("x", i, i)
        (run,) = load_path(tmp_path)
        assert len(run.scalars["x"]) == i + 1
    w.close()


def test_flush_when_empty_is_cheap_and_harmless(tmp_path):
    w = ScalarWriter(tmp_path)
    size = w.path.stat().st_size
    for _ in range(1000):
        w.flush()
    assert w.path.stat().st_size == size
    w.close()
    w.close()  # idempotent


def test_closed_writer_rejects_adds(tmp_path):
    w = ScalarWriter(tmp_path)
    w.close()
    with pytest.raises(ValueError):
        w.add_scalar("x", 1.0, 1)
    with pytest.raises(ValueError):
        w.add_text("t", "x")


def test_bad_arguments(tmp_path):
    with ScalarWriter(tmp_path) as w:
        with pytest.raises(TypeError):
            w.add_scalar(3, 1.0, 1)
        with pytest.raises(TypeError):
            w.add_scalar("x", 1.0, 1.5)
        with pytest.raises(TypeError):
            w.add_scalar("x", "high", 1)
        with pytest.raises(ValueError):
            w.add_scalar("x", 1.0, 2**63)
    with pytest.raises(ValueError):
        ScalarWriter(tmp_path, flush_secs=-1)


def test_two_writers_in_one_folder_get_distinct_files(tmp_path):
    a, b = ScalarWriter(tmp_path), ScalarWriter(tmp_path)
    assert a.path != b.path
    a.close()
    b.close()


def test_every_step_varint_size_read_back_by_tensorboard(tmp_path):
    steps = [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**40, 2**63 - 1]
    with ScalarWriter(tmp_path) as w:
        for s in steps:
            w.add_scalar("x", float(s % 1000), s)
        w.add_scalar("neg", 1.0, -3)
    ea = _accumulator(tmp_path)
    assert [(e.step, e.value) for e in ea.Scalars("x")] == [(s, float(s % 1000)) for s in steps]
    (run,) = load_path(tmp_path)
    assert run.scalars["x"].steps.tolist() == steps
    assert run.scalars["neg"].steps.tolist() == [-3]
