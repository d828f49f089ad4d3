"""Objective metrics and sums of loss parts in the window: charted, followed live, overridable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from traindoc.engine.tb.reader import load_path

from ..engine.tb.helpers import simple
from .conftest import add_run

LOAD_MS = 30_000
TRAIN = "train/box_loss+train/cls_loss+train/obj_loss"
VAL = "val/box_loss+val/cls_loss+val/obj_loss"
PARTS = ("box", "obj", "cls")


def write_epochs(writer: EventFileWriter, epochs, *, skip=()) -> None:
    for epoch in epochs:
        for split in ("train", "val"):
            for k, p in enumerate(PARTS):
                tag = f"{split}/{p}_loss"
                if (tag, epoch) not in skip:
                    value = (k + 1) * 0.05 * np.exp(-epoch / 25) + (0.01 if split == "val" else 0)
                    writer.add_event(simple(tag, float(value), epoch))
        writer.add_event(simple("metrics/mAP_0.5", float(1 - np.exp(-epoch / 15)), epoch))


def open_and_wait(qtbot, window, path: Path):
    window.open_logs(path)
    source = window.logs.sources[path.resolve()]
    qtbot.waitUntil(lambda: source.scans >= 1 and bool(source.runs), timeout=LOAD_MS)
    run = window.model.run(next(iter(source.runs.values())))
    qtbot.waitUntil(lambda: run.diagnosis is not None, timeout=LOAD_MS)
    return run


def assert_like_a_load(run, folder: Path) -> None:
    (batch,) = load_path(folder)
    assert run.roles == batch.roles
    assert run.points == batch.points  # the sums add no points
    for role, tag in batch.roles.items():
        np.testing.assert_array_equal(run.series(role).steps, batch.scalars[tag].steps)
        np.testing.assert_array_equal(run.series(role).values, batch.scalars[tag].values)


def test_parts_are_summed_live_and_the_metric_is_charted(qtbot, window, tmp_path):
    folder = tmp_path / "yolo"
    writer = EventFileWriter(str(folder), flush_secs=10_000)
    write_epochs(writer, range(30), skip={("val/cls_loss", 4)})
    writer.add_event(simple("train/box_loss", 0.01, 30))  # epoch 30 has begun: one part so far
    writer.flush()
    run = open_and_wait(qtbot, window, folder)
    assert run.roles["train_loss"] == TRAIN and run.roles["val_loss"] == VAL
    assert run.roles["val_metric"] == "metrics/mAP_0.5"
    assert len(run.series("train_loss")) == 30 and len(run.series("val_loss")) == 29
    assert_like_a_load(run, folder)
    window.model.set_current(run.id)
    window.model.frame.emit()
    assert "metric" in window.charts.shown_charts()
    curve = window.charts.curve(run.id, "val_metric")
    np.testing.assert_allclose(curve.raw.yData, 1 - np.exp(-np.arange(30) / 15), rtol=1e-6)
    assert run.best("val_metric")[1] == 29  # higher is better for mAP
    assert run.best("val_loss")[1] == 29

    write_epochs(writer, range(30, 50))
    writer.close()
    qtbot.waitUntil(lambda: len(run.series("train_loss")) == 50, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: len(run.series("val_loss")) == 49, timeout=LOAD_MS)
    assert_like_a_load(run, folder)
    assert run.diagnosis is not None


def test_overriding_a_sum_and_back(qtbot, window, tmp_path):
    folder = tmp_path / "yolo"
    writer = EventFileWriter(str(folder))
    write_epochs(writer, range(20))
    writer.close()
    run = open_and_wait(qtbot, window, folder)
    assert window.logs.candidates(run.id)["train_loss"][0] == TRAIN
    window.logs.set_overrides(run.id, {"train_loss": "train/obj_loss"})  # off the GUI thread
    qtbot.waitUntil(lambda: run.roles["train_loss"] == "train/obj_loss"
                    and run.diagnosis is not None, timeout=LOAD_MS)
    assert TRAIN not in run.tags
    window.logs.set_overrides(run.id, {})
    qtbot.waitUntil(lambda: run.roles["train_loss"] == TRAIN and run.diagnosis is not None,
                    timeout=LOAD_MS)
    assert len(run.series("train_loss")) == 20
    assert_like_a_load(run, folder)
    assert run.diagnosis is not None and run.diagnosis.points > 0


def test_role_dialog_offers_the_metric_roles_and_refuses_a_tag_without_direction(qtbot, model):
    from traindoc.gui.dialogs.role_override import NONE, RoleOverrideDialog

    run = add_run(model, roles={"val_loss": "val_loss", "val_metric": "val_MAE"},
                  points={t: ([1, 2], [1.0, 2.0])
                          for t in ("val_loss", "val_MAE", "val_RMSE", "epoch")})
    dialog = RoleOverrideDialog(run, {"val_metric": ["val_MAE", "val_RMSE"]})
    qtbot.addWidget(dialog)
    assert {"train_metric", "val_metric"} <= set(dialog.combos)
    assert dialog.combos["val_metric"].currentText() == "val_MAE"
    assert dialog.combos["train_metric"].currentText() == NONE
    dialog.combos["val_metric"].setCurrentText("epoch")
    dialog.accept()
    assert dialog.result() == 0 and not dialog.error.isHidden()
    assert "val_metric=epoch" in dialog.error.text()
    dialog.combos["val_metric"].setCurrentText("val_RMSE")
    dialog.accept()
    assert dialog.result() == 1
    assert dialog.overrides()["val_metric"] == "val_RMSE"


def test_best_reads_a_metric_the_way_its_name_says(model):
    steps, values = [1, 2, 3], [0.5, 0.2, 0.4]
    lower = add_run(model, roles={"val_metric": "val_MAE"}, points={"val_MAE": (steps, values)})
    higher = add_run(model, roles={"val_metric": "eval/mean_reward"},
                     points={"eval/mean_reward": (steps, values)})
    assert lower.best("val_metric") == (0.2, 2)
    assert higher.best("val_metric") == (0.5, 1)
