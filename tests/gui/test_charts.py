"""The chart panel against its model: plot data, smoothing, NaN markers, highlight, overlay."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import add_run
from traindoc.diagnostics.signals import ema


def _loss_run(model, name="a", n=500):
    steps = np.arange(1, n + 1)
    values = 2.0 / np.sqrt(steps) + 0.05 * np.sin(steps)
    return add_run(
        model, name, roles={"train_loss": "train/loss", "val_loss": "val/loss"},
        points={"train/loss": (steps, values), "val/loss": ([100, 200, 300], [1.0, 0.8, 0.7])},
    )


def test_curves_hold_the_series_and_the_ema(model, panel):
    run = _loss_run(model)
    model.set_smoothing(0.6)
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    series = run.series("train_loss")
    x, y = curve.raw.xData, curve.raw.yData
    np.testing.assert_array_equal(x, series.steps)
    np.testing.assert_array_equal(y, series.values)
    np.testing.assert_allclose(curve.smooth.yData, ema(series.values, 0.6)[0])
    assert curve.raw.opts["pen"].color().alpha() < 255  # the raw curve is faint behind
    assert panel.curve(run.id, "val_loss") is not None


def test_smoothing_zero_draws_raw_only_and_slider_changes_redraw(model, panel):
    run = _loss_run(model)
    model.frame.emit()
    model.set_smoothing(0.0)
    curve = panel.curve(run.id, "train_loss")
    assert not curve.smooth.isVisible()
    np.testing.assert_array_equal(curve.displayed()[1], run.series("train_loss").values)
    model.set_smoothing(0.9)
    np.testing.assert_allclose(curve.displayed()[1], ema(run.series("train_loss").values, 0.9)[0])


def test_streamed_points_are_drawn_once_per_frame(model, panel):
    run = add_run(model, "live", kind="launched", status="running",
                  roles={"train_loss": "train/loss"}, points={"train/loss": ([1], [1.0])})
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    calls = []
    curve.raw.sigPlotChanged.connect(lambda *_: calls.append(1))
    for k in range(2, 12):
        model.append_points(run.id, "train/loss", [k], [1.0 / k])
    model.frame.emit()
    model.frame.emit()  # nothing new: no redraw
    assert len(calls) == 1
    assert len(curve.raw.xData) == 11
    np.testing.assert_allclose(curve.smooth.yData, ema(run.series("train_loss").values, 0.6)[0])


def test_nonfinite_points_are_marked_at_the_top_edge(model, panel):
    steps = np.arange(1, 101)
    values = np.linspace(2, 1, 100)
    values[[40, 70]] = [np.nan, np.inf]
    run = add_run(model, roles={"train_loss": "t"}, points={"t": (steps, values)})
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    mx, my = curve.markers.getData()
    np.testing.assert_array_equal(mx, [41, 71])
    (_, _), (y0, y1) = panel.plots["loss"].vb.viewRange()
    assert np.all(my > y0 + 0.9 * (y1 - y0)) and np.all(my <= y1)
    assert np.isnan(curve.raw.yData[[40, 70]]).all()  # the line breaks there


def test_clicked_finding_range_is_shaded_on_every_chart(model, panel):
    run = _loss_run(model)
    model.set_highlight(run.id, 120, 340)
    assert panel.highlighted_range() == (120, 340)
    assert all(panel.regions[key].isVisible() for key in panel.shown_charts())
    model.set_highlight(None)
    assert panel.highlighted_range() is None


def test_overlay_and_fit_when_switching_runs(model, panel):
    long_run = _loss_run(model, "long", n=100_000)
    short = _loss_run(model, "short", n=150)
    model.frame.emit()
    model.set_current(short.id)
    assert panel.curve(long_run.id, "train_loss") is None
    x0, x1 = panel.plots["loss"].vb.viewRange()[0]
    assert x0 < 1 and 150 <= x1 < 1000  # fitted to the short run, not the long one
    model.set_checked(long_run.id, True)
    assert panel.curve(long_run.id, "train_loss") is not None
    assert panel.curve(short.id, "train_loss").color != panel.curve(long_run.id, "train_loss").color


def test_log_scale_applies_to_every_chart_whose_values_are_positive(model, panel):
    run = _loss_run(model)
    model.append_points(run.id, "opt/grad_norm", [1, 2, 3], [0.5, 3.0, 2.0])
    model.append_points(run.id, "acc", [1, 2, 3], [-0.1, 0.4, 0.6])  # not all positive
    model.set_roles(run.id, {**run.roles, "grad_norm": "opt/grad_norm", "train_accuracy": "acc"})
    model.frame.emit()
    model.set_log_y(True)
    assert panel.log_charts() == ["loss", "grad_norm"]
    model.append_points(run.id, "opt/grad_norm", [4], [0.0])  # no longer all positive
    model.frame.emit()
    assert panel.log_charts() == ["loss"]
    model.set_log_y(False)
    assert panel.log_charts() == []


def test_chart_controls_write_to_the_model(qtbot, model):
    from traindoc.gui.widgets.chart_controls import ChartControls

    controls = ChartControls(model)
    qtbot.addWidget(controls)
    controls.slider.setValue(85)
    assert model.state.smoothing == pytest.approx(0.85)
    controls.log_y.setChecked(True)
    assert model.state.log_y
    model.set_smoothing(0.3)
    assert controls.slider.value() == 30 and controls.value_label.text() == "0.30"


def test_only_charts_with_data_are_laid_out(model, panel):
    assert panel.shown_charts() == ["loss", "accuracy"]  # empty app: the two main charts
    run = _loss_run(model)
    model.append_points(run.id, "opt/lr", [1, 2], [0.1, 0.1])
    model.set_roles(run.id, {**run.roles, "lr": "opt/lr"})
    assert panel.shown_charts() == ["loss", "lr"]
    assert panel.plots["lr"].isVisible() and not panel.plots["accuracy"].isVisible()


def test_a_long_series_is_reduced_but_keeps_spikes_nans_and_full_bounds(model, panel):
    n = 300_000
    steps = np.arange(n)
    values = 1.0 + 0.01 * np.cos(steps)
    values[[1000, 200_000]] = [40.0, -3.0]
    values[150_000] = np.nan
    run = add_run(model, roles={"train_loss": "t"}, points={"t": (steps, values)})
    model.set_smoothing(0.0)
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    x, y = curve.displayed()
    assert len(x) <= 3 * 2 * panel.plots["loss"].vb.width() + 3 * 1024  # a few thousand
    assert np.nanmin(y) == -3.0 and np.nanmax(y) == 40.0
    assert np.isnan(y).sum() == 1 and x[np.isnan(y)] == 150_000  # the line breaks there
    assert x.min() == 0 and x.max() == n - 1
    # The view's auto-range gets the whole series' bounds, kept as points arrived.
    assert curve.raw.dataBounds(0) == (0, n - 1)
    assert curve.raw.dataBounds(1) == (-3.0, 40.0)
    np.testing.assert_array_equal(curve.marker_steps, [150_000])


def test_zooming_redraws_the_window_point_for_point(model, panel):
    n = 300_000
    steps = np.arange(n)
    values = np.sin(steps / 50.0)
    run = add_run(model, roles={"train_loss": "t"}, points={"t": (steps, values)})
    model.set_smoothing(0.0)
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    panel.plots["loss"].setXRange(100_000, 100_500, padding=0)  # the view changed: redrawn
    x, y = curve.displayed()
    np.testing.assert_array_equal(x, np.arange(99_999, 100_502))  # one point beyond each edge
    np.testing.assert_array_equal(y, values[99_999:100_502])
    panel.plots["loss"].enableAutoRange(x=True)
    panel.plots["loss"].vb.prepareForPaint()
    assert curve.displayed()[0].max() == n - 1


def test_smoothing_is_resumed_over_new_points_only(model, panel, monkeypatch):
    import traindoc.gui.widgets.curves as curves

    run = _loss_run(model, n=5000)
    model.frame.emit()
    seen = []
    real_ema = curves.ema
    monkeypatch.setattr(curves, "ema", lambda v, *a: seen.append(len(v)) or real_ema(v, *a))
    model.append_points(run.id, "train/loss", [5001, 5002], [0.1, 0.2])
    model.frame.emit()
    assert seen == [2]
    curve = panel.curve(run.id, "train_loss")
    want = ema(run.series("train_loss").values, 0.6)[0]
    drawn = curve.smooth.yData  # 5002 points: reduced, keeping each bucket's min and max
    np.testing.assert_allclose([drawn.min(), drawn.max()], [want.min(), want.max()])
    np.testing.assert_allclose(drawn[-2:], sorted(want[-2:], reverse=True))


def test_roles_of_a_run_off_the_charts_do_not_resync_them(model, panel, monkeypatch):
    shown = _loss_run(model, "shown")  # the first run: current, on the charts
    other = _loss_run(model, "other")
    assert model.visible_runs() == [shown.id]
    synced = []
    monkeypatch.setattr(panel, "sync_runs", lambda: synced.append(1))
    model.set_roles(other.id, {"train_loss": "train/loss"})  # e.g. a big tree being read
    assert synced == []
    model.set_roles(shown.id, {"train_loss": "train/loss"})
    assert synced == [1] and panel.curve(shown.id, "val_loss") is None  # dropped, re-made by sync
