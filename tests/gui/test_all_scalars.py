"""Issue 12, item 1: the All-scalars view shows every tag of the shown runs, grouped by
prefix, filtered, with charts created only for unfolded groups."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import add_run

YOLO_TAGS = (
    "train/box_loss", "train/obj_loss", "train/cls_loss",
    "val/box_loss", "val/obj_loss", "val/cls_loss",
    "metrics/precision", "metrics/recall", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95",
    "x/lr0", "x/lr1", "x/lr2",
)


@pytest.fixture
def panel(qtbot, model):
    from traindoc.gui.widgets.charts import ChartPanel

    widget = ChartPanel(model)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    widget.tabs.setCurrentIndex(1)
    return widget


def _yolo(model, name="yolo", n=30):
    steps = np.arange(n)
    points = {tag: (steps, 0.1 + np.linspace(1, 0.5, n) * (k + 1))
              for k, tag in enumerate(YOLO_TAGS)}
    return add_run(model, name, roles={"train_loss": "train/box_loss"}, points=points)


def test_every_tag_grouped_by_prefix_and_charts_only_for_unfolded_groups(model, panel):
    run = _yolo(model)
    model.frame.emit()
    view = panel.all_scalars
    assert sorted(view.all_tags()) == sorted(YOLO_TAGS)  # all 13, not the role-mapped two
    groups = view.groups
    assert set(groups) == {"train", "val", "metrics", "x"}
    assert {p: g.tags for p, g in groups.items()}["metrics"] == [
        "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "metrics/precision", "metrics/recall"]
    assert [p for p, g in groups.items() if g.expanded] == ["metrics"]  # the first only
    assert sorted(view.plots()) == sorted(groups["metrics"].tags)  # folded: no charts
    assert groups["val"].graphics is None
    groups["val"].set_expanded(True)
    assert set(view.plots()) >= {"val/box_loss", "val/obj_loss", "val/cls_loss"}
    curve = groups["val"].curves[(run.id, "val/box_loss")]
    np.testing.assert_array_equal(curve.series.values, run.tags["val/box_loss"].values)
    assert curve.color == run.color
    groups["metrics"].set_expanded(False)
    assert "metrics/recall" not in view.plots() and groups["metrics"].curves == {}


def test_the_filter_hides_tags_and_empty_groups(model, panel):
    _yolo(model)
    model.frame.emit()
    view = panel.all_scalars
    view.filter.setText("map")
    assert view.groups["metrics"].tags == ["metrics/mAP_0.5", "metrics/mAP_0.5:0.95"]
    assert not view.groups["train"].isVisible() and view.groups["metrics"].isVisible()
    assert sorted(view.plots()) == ["metrics/mAP_0.5", "metrics/mAP_0.5:0.95"]
    view.filter.setText("box|cls")  # a regular expression
    assert view.groups["train"].tags == ["train/box_loss", "train/cls_loss"]
    view.filter.setText("mAP_0.5:(")  # not one: plain text
    assert view.groups["metrics"].tags == []
    view.filter.setText("")
    assert len(view.groups["x"].tags) == 3


def test_options_apply_two_runs_share_a_chart_and_the_lr_is_raw(model, panel):
    a = _yolo(model, "a")
    b = _yolo(model, "b", n=40)
    model.set_checked(b.id, True)
    model.frame.emit()
    view = panel.all_scalars
    view.groups["x"].set_expanded(True)
    lr = view.groups["x"].curves[(a.id, "x/lr0")]
    model.set_smoothing(0.8)
    np.testing.assert_array_equal(lr.displayed()[1], a.tags["x/lr0"].values)  # never smoothed
    assert view.groups["metrics"].curves[(b.id, "metrics/recall")].smooth.isVisible()
    plot = view.plots()["metrics/recall"]
    assert plot.legend_.names() == ["a", "b"]
    model.set_log_y(True)
    assert plot.ctrl.logYCheck.isChecked()
    model.set_x_axis("relative")
    assert plot.getAxis("bottom").mode == "relative"
    assert lr.displayed()[0].min() == 0.0


def test_new_tags_appear_as_points_arrive_and_a_hidden_view_does_nothing(model, panel):
    run = add_run(model, "live", points={"train/loss": ([1, 2], [1.0, 0.9])})
    model.frame.emit()
    view = panel.all_scalars
    assert view.all_tags() == ["train/loss"]
    model.append_points(run.id, "val/acc", [2], [0.5])
    model.frame.emit()
    assert view.groups["val"].tags == ["val/acc"]
    panel.tabs.setCurrentIndex(0)
    model.append_points(run.id, "extra/thing", [2], [0.5])
    model.frame.emit()
    assert "extra" not in view.groups  # hidden: no work
    panel.tabs.setCurrentIndex(1)
    assert view.groups["extra"].tags == ["extra/thing"]


def test_a_million_point_tag_is_reduced(model, panel):
    n = 1_000_000
    steps = np.arange(n)
    values = 1.0 + np.sin(steps / 1000.0)
    run = add_run(model, "big", points={"train/loss": (steps, values)})
    model.set_smoothing(0.0)
    model.frame.emit()
    curve = panel.all_scalars.groups["train"].curves[(run.id, "train/loss")]
    x, y = curve.displayed()
    assert len(x) < 10_000 and x.max() == n - 1
    assert np.nanmax(y) == pytest.approx(values.max())
    assert np.nanmin(y) == pytest.approx(values.min())


def test_learning_rate_tags_are_recognised():
    from traindoc.gui.widgets.scalar_group import is_learning_rate

    assert all(map(is_learning_rate, ("opt/lr", "x/lr0", "x/lr2", "learning_rate", "lr")))
    assert not any(map(is_learning_rate, ("train/loss", "val/clr_score", "metrics/recall")))


def test_the_tag_mapped_to_the_lr_role_is_not_smoothed(model, panel):
    run = add_run(model, "lightning", roles={"lr": "lr-AdamW"},
                  points={"lr-AdamW": ([1, 2, 3, 4], [0.1, 0.1, 0.01, 0.01])})
    model.set_smoothing(0.9)
    model.frame.emit()
    curve = panel.all_scalars.groups["(no prefix)"].curves[(run.id, "lr-AdamW")]
    np.testing.assert_array_equal(curve.displayed()[1], [0.1, 0.1, 0.01, 0.01])
