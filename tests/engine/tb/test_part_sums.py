"""A loss logged only in parts is judged on their sum (SPEC §3): loaded, followed, watched.

Event files are written with TensorBoard's own writer (``EventFileWriter``).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from traindoc.engine.run_diagnosis import diagnose_log, run_data
from traindoc.engine.tb.reader import load_path
from traindoc.engine.tb.scalars import PartSum, Scalars, sum_parts
from traindoc.engine.watch import Watcher

from ..cli_helpers import traindoc
from .helpers import poll_watcher, simple

PARTS = ("box", "obj", "cls")
TRAIN = "train/box_loss+train/cls_loss+train/obj_loss"
VAL = "val/box_loss+val/cls_loss+val/obj_loss"


def part_values(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.exp(-np.arange(n) / 30)
    return {p: (k + 1) * 0.02 * base + 0.01 + rng.normal(0, 1e-3, n)
            for k, p in enumerate(PARTS)}


def write_epochs(writer: EventFileWriter, values: dict[str, np.ndarray], epochs, *,
                 skip: tuple[str, int] | None = None) -> None:
    """YOLOv5's per-epoch scalars: three train and three val parts, mAP and lr."""
    for epoch in epochs:
        for split in ("train", "val"):
            for p in PARTS:
                if skip == (f"{split}/{p}_loss", epoch):
                    continue
                bump = 0.005 if split == "val" else 0.0
                writer.add_event(simple(f"{split}/{p}_loss", float(values[p][epoch] + bump),
                                        epoch, wall=100.0 + epoch))
        writer.add_event(simple("metrics/mAP_0.5", float(1 - np.exp(-epoch / 20)), epoch))
        writer.add_event(simple("x/lr0", 0.01, epoch))


def test_a_loaded_run_sums_its_parts_at_the_steps_all_share(tmp_path):
    values = part_values(40)
    writer = EventFileWriter(str(tmp_path))
    write_epochs(writer, values, range(40), skip=("val/cls_loss", 7))
    writer.close()
    (run,) = load_path(tmp_path)
    assert run.roles == {"train_loss": TRAIN, "val_loss": VAL, "lr": "x/lr0",
                         "val_metric": "metrics/mAP_0.5"}
    assert run.points == 40 * 8 - 1  # only the points read, never the sums
    train = run.scalars[TRAIN]
    np.testing.assert_array_equal(train.steps, np.arange(40))
    want = values["box"] + values["cls"] + values["obj"]
    np.testing.assert_allclose(train.values, want.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(train.wall_times, 100.0 + np.arange(40))
    val = run.scalars[VAL]
    assert 7 not in val.steps and len(val) == 39  # a step one part lacks is not summed
    data = run_data(run)
    assert data.tags["train_loss"] == TRAIN and len(data.series["val_loss"]) == 39
    assert data.tags["val_metric"] == "metrics/mAP_0.5"


def test_a_user_defined_sum_and_a_logged_total(tmp_path):
    writer = EventFileWriter(str(tmp_path))
    write_epochs(writer, part_values(10), range(10))
    writer.close()
    (run,) = load_path(tmp_path, overrides={"train_loss": "train/box_loss+train/obj_loss"})
    assert run.roles["train_loss"] == "train/box_loss+train/obj_loss"
    box, obj = run.scalars["train/box_loss"], run.scalars["train/obj_loss"]
    np.testing.assert_array_equal(run.scalars[run.roles["train_loss"]].values,
                                  box.values + obj.values)
    writer = EventFileWriter(str(tmp_path))
    for step in range(10):
        writer.add_event(simple("train/loss", 1.0, step))
    writer.close()
    assert load_path(tmp_path)[0].roles["train_loss"] == "train/loss"


def _chunks(s: Scalars, cuts) -> list[Scalars]:
    bounds = [0, *cuts, len(s)]
    return [Scalars(s.steps[a:b], s.values[a:b], s.wall_times[a:b])
            for a, b in itertools.pairwise(bounds)]


def test_part_sum_as_points_arrive_equals_the_sum_of_whole_parts():
    rng = np.random.default_rng(3)
    parts = {}
    for name in ("a", "b", "c"):
        steps = np.sort(rng.choice(300, 250, replace=False))
        steps = np.insert(steps, 40, steps[39])  # a repeated step: its first value counts
        parts[name] = Scalars(steps, rng.normal(size=len(steps)), rng.uniform(size=len(steps)))
    whole = sum_parts(parts)
    assert len(whole) > 100
    for trial in range(20):
        live = PartSum(tuple(parts))
        pending = {name: _chunks(s, sorted(rng.choice(len(s), 6, replace=False)))
                   for name, s in parts.items()}
        got = []
        while any(pending.values()):
            new = {name: chunks.pop(0) for name, chunks in pending.items()
                   if chunks and rng.uniform() < 0.5}
            got.append(live.update(new))
        steps = np.concatenate([g.steps for g in got])
        np.testing.assert_array_equal(steps, whole.steps, err_msg=f"trial {trial}")
        np.testing.assert_array_equal(np.concatenate([g.values for g in got]), whole.values)
        np.testing.assert_array_equal(np.concatenate([g.wall_times for g in got]),
                                      whole.wall_times)


def test_part_sum_waits_for_every_part_and_keeps_only_unsettled_points():
    def pts(steps, value=1.0):
        steps = np.asarray(steps, np.int64)
        return Scalars(steps, np.full(len(steps), value), np.zeros(len(steps)))

    live = PartSum(("a", "b"))
    assert len(live.update({"a": pts(range(100))})) == 0  # b has nothing yet
    got = live.update({"b": pts([0, 1, 2], 2.0)})
    np.testing.assert_array_equal(got.steps, [0, 1, 2])
    np.testing.assert_array_equal(got.values, [3.0, 3.0, 3.0])
    got = live.update({"b": pts([3, 5])})  # step 4 is missing in b: never summed
    np.testing.assert_array_equal(got.steps, [3, 5])
    assert sum(len(c) for c in live._pending["a"]) == 94  # steps 6..99 wait for b
    assert len(live.update({"a": pts([50])})) == 0  # an old step again: ignored


def poll(watcher: Watcher) -> None:
    for _, follower in watcher.followers:
        follower._next_rescan = 0  # rescan now (the test's clock)
    poll_watcher(watcher)


def assert_live_equals_batch(watcher: Watcher, folder, *, restarted: bool = False) -> None:
    (batch_log,) = load_path(folder)
    state = watcher.runs["."]
    assert state.roles == batch_log.roles
    if not restarted:  # a load counts the points a restart purged too (SPEC §5 "points")
        assert state.points == batch_log.points
    for role, tag in batch_log.roles.items():
        assert state.live.points(role) == len(batch_log.scalars[tag]), role
    batch, live = diagnose_log(batch_log), state.diagnosis()
    assert live.status == batch.status
    assert [(f.rule, f.step_start, f.step_end) for f in live.findings] == [
        (f.rule, f.step_start, f.step_end) for f in batch.findings]


def test_watch_sums_parts_as_they_arrive_like_a_one_shot_load(tmp_path):
    values = part_values(120, seed=1)
    values["obj"][80:] *= 30  # the val loss sum climbs: a finding to agree on
    watcher = Watcher([str(tmp_path)], {})
    writer = EventFileWriter(str(tmp_path), flush_secs=10_000)
    for start in range(0, 120, 20):
        write_epochs(writer, values, range(start, start + 20))
        # the next epoch's box loss arrives before its other parts
        if start + 20 < 120:
            writer.add_event(simple("train/box_loss", float(values["box"][start + 20]),
                                    start + 20))
        writer.flush()
        poll(watcher)
        assert_live_equals_batch(watcher, tmp_path)
    writer.close()
    # a restarted run: a new file goes back to epoch 100 and rewrites the tail
    writer = EventFileWriter(str(tmp_path))
    write_epochs(writer, part_values(120, seed=2), range(100, 110))
    writer.close()
    poll(watcher)
    assert_live_equals_batch(watcher, tmp_path, restarted=True)
    assert watcher.runs["."].live.points("train_loss") == 110


@pytest.mark.slow
def test_cli_reports_the_sum_and_refuses_a_metric_without_direction(tmp_path):
    writer = EventFileWriter(str(tmp_path))
    write_epochs(writer, part_values(30), range(30))
    writer.close()
    out = traindoc("diagnose", str(tmp_path), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (run,) = json.loads(out.stdout)["runs"]
    assert run["roles"]["train_loss"] == TRAIN and run["roles"]["val_loss"] == VAL
    assert run["roles"]["val_metric"] == "metrics/mAP_0.5"
    assert run["points"] == 30 * 8
    out = traindoc("diagnose", str(tmp_path), "--role", "val_metric=x/lr0", cwd=tmp_path)
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "\n" not in line and "val_metric=x/lr0" in line and "Traceback" not in line
    assert "higher" in line and "lower" in line


@pytest.mark.parametrize("override", ["val_metric=metrics/mAP_0.5:0.95",
                                      "train_loss=train/box_loss+train/cls_loss"])
@pytest.mark.slow
def test_cli_role_overrides_of_metrics_and_sums(tmp_path, override):
    writer = EventFileWriter(str(tmp_path))
    write_epochs(writer, part_values(12), range(12))
    writer.add_event(simple("metrics/mAP_0.5:0.95", 0.5, 3))
    writer.close()
    out = traindoc("diagnose", str(tmp_path), "--json", "--role", override, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    role, tag = override.split("=")
    assert json.loads(out.stdout)["runs"][0]["roles"][role] == tag
