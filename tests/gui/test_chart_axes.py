"""Issue 12, items 2 and 4: run colours and legends, axes (x as step / relative / wall
time, tick labels), one-point series, log scale and the unsmoothed learning rate."""

from __future__ import annotations

import numpy as np

from tests.gui.conftest import add_run
from traindoc.gui.core.ticks import format_duration, format_number, format_tick


def _run(model, name, n=50, start=1000.0):
    run = add_run(model, name, roles={"train_loss": "train/loss", "lr": "opt/lr"})
    steps = np.arange(n)
    model.append_points(run.id, "train/loss", steps, 1.0 / (steps + 1), start + 2.0 * steps)
    model.append_points(run.id, "opt/lr", steps, np.where(steps < n // 2, 0.1, 0.01),
                        start + 2.0 * steps)
    return run


def test_a_run_keeps_its_colour_across_selections_and_charts_name_runs(model, panel):
    a, b, c = (_run(model, name) for name in ("alpha", "beta", "gamma"))
    model.frame.emit()
    assert panel.plots["loss"].legend_.names() == []  # one run: no legend
    colors = {r.id: r.color for r in (a, b, c)}
    assert len(set(colors.values())) == 3
    model.set_checked(c.id, True)
    model.set_current(b.id)
    assert panel.curve(c.id, "train_loss").color == colors[c.id]
    assert panel.curve(b.id, "lr").color == colors[b.id]
    assert panel.plots["loss"].legend_.names() == ["beta", "gamma"]
    assert panel.plots["lr"].legend_.names() == ["beta", "gamma"]
    model.set_checked(a.id, True)
    model.set_current(a.id)
    assert panel.curve(c.id, "train_loss").color == colors[c.id]  # never recoloured
    assert panel.plots["loss"].legend_.names() == ["alpha", "gamma"]  # beta: unticked


def test_tick_labels_are_short_and_rounded():
    assert format_tick(float(np.float32(0.001)), float(np.float32(0.0005))) == "0.001"
    assert [format_tick(v, 1e5) for v in (0, 1e5, 2e5, 3e5)] == ["0", "100k", "200k", "300k"]
    assert format_tick(1.25e6, 2.5e5) == "1.25M" and format_tick(2.5e-5, 1e-5) == "2.5e-05"
    assert format_tick(1.0, 0.2) == "1" and format_tick(-0.4, 0.2) == "-0.4"
    assert format_number(0.0010000000047497454) == "0.001" and format_number(123456) == "123.5k"
    assert format_duration(90, 30) == "1.5m" and format_duration(7200, 3600) == "2h"
    assert format_duration(20, 5) == "20s"


def test_axes_draw_formatted_labels(model, panel):
    from traindoc.gui.widgets.plot_style import ChartAxis

    axis = panel.plots["loss"].getAxis("bottom")
    assert isinstance(axis, ChartAxis)
    assert axis.tickStrings([100000.0, 200000.0], 1.0, 100000.0) == ["100k", "200k"]
    left = panel.plots["lr"].getAxis("left")
    assert left.tickStrings([float(np.float32(0.001))], 1.0, 0.0005) == ["0.001"]
    left.setLogMode(False, True)
    exponents = [float(np.log10(v)) for v in (0.001, 0.0009, 0.0005, 1.0)]
    assert left.tickStrings(exponents, 1.0, 1.0) == ["0.001", "", "0.0005", "1"]  # 1, 2, 5 x 10^n
    bottom = panel.plots["loss"].getAxis("bottom")
    bottom.set_mode("relative")  # time ticks at round durations: 15 min, not 16.67
    assert bottom.tickSpacing(0.0, 3000.0, 360.0) == [(900.0, 0.0), (600.0, 0.0)]
    assert bottom.tickStrings([900.0, 1800.0], 1.0, 900.0) == ["15m", "30m"]


def test_x_axis_as_step_relative_or_wall_time(model, panel):
    run = _run(model, "timed", n=50, start=1_700_000_000.0)
    model.set_smoothing(0.0)
    model.frame.emit()
    curve = panel.curve(run.id, "train_loss")
    assert curve.displayed()[0].max() == 49
    model.set_x_axis("relative")
    x = curve.displayed()[0]
    assert x.min() == 0 and x.max() == 98.0  # seconds since the first point
    assert panel.plots["loss"].getAxis("bottom").labelText == "time since start"
    lo, hi = panel.plots["loss"].vb.viewRange()[0]
    assert lo < 0 + 5 and hi > 98 - 5
    model.set_x_axis("wall")
    assert curve.displayed()[0].min() == 1_700_000_000.0
    assert panel.plots["loss"].getAxis("bottom").mode == "wall"
    model.set_x_axis("step")
    assert curve.displayed()[0].max() == 49


def test_log_points_keep_their_wall_times_and_live_points_get_their_arrival(model, monkeypatch):
    from traindoc.gui.core import buffers

    run = add_run(model, "w")
    model.append_points(run.id, "t", [1, 2], [0.5, 0.4], [10.0, 20.0])
    monkeypatch.setattr(buffers.time, "time", lambda: 30.0)
    model.append_points(run.id, "t", [3], [0.3])
    series = run.tags["t"]
    assert series.walls.tolist() == [10.0, 20.0, 30.0]
    assert series.wall_bounds.get() == (10.0, 30.0) and series.walls_ordered
    monkeypatch.setattr(buffers.time, "time", lambda: 38.0)
    model.append_points(run.id, "t", [4, 5, 6, 7], [0.3] * 4)  # one batch: spread in time
    assert series.walls[3:].tolist() == [32.0, 34.0, 36.0, 38.0]


def test_a_one_point_series_is_drawn_as_a_point_mid_plot(qtbot, model, panel):
    run = add_run(model, "single", roles={"val_loss": "v"}, points={"v": ([100], [0.5])})
    model.frame.emit()
    qtbot.wait(10)  # the auto-range follows in the next paint
    curve = panel.curve(run.id, "val_loss")
    assert curve.displayed()[0].tolist() == [100.0]
    assert curve.raw.opts["symbol"] == "o" or curve.smooth.opts["symbol"] == "o"
    (x0, x1), (y0, y1) = panel.plots["loss"].vb.viewRange()
    assert abs((x0 + x1) / 2 - 100) < 1 and 10 < x1 - x0 < 30  # step 100 +- 10%
    assert abs((y0 + y1) / 2 - 0.5) < 0.01 and 0.05 < y1 - y0 < 0.2  # 0.5 +- 10%


def test_the_learning_rate_is_never_smoothed(model, panel):
    run = _run(model, "sched")
    model.set_smoothing(0.9)
    model.frame.emit()
    lr = panel.curve(run.id, "lr")
    np.testing.assert_array_equal(lr.displayed()[1], run.series("lr").values)
    assert not lr.smooth.isVisible()
    assert panel.curve(run.id, "train_loss").smooth.isVisible()  # the loss still is


def test_chart_controls_set_the_x_axis(qtbot, model):
    from traindoc.gui.widgets.chart_controls import ChartControls

    controls = ChartControls(model)
    qtbot.addWidget(controls)
    controls.x_axis.setCurrentIndex(1)
    assert model.state.x_axis == "relative"
    model.set_x_axis("wall")
    assert controls.x_axis.currentData() == "wall"


def test_the_value_axes_keep_their_width_as_data_arrive(model, panel, qtbot):
    from traindoc.gui.widgets.plot_style import LEFT_AXIS_WIDTH

    widths = {key: plot.getAxis("left").width() for key, plot in panel.plots.items()}
    assert set(widths.values()) == {LEFT_AXIS_WIDTH}
    run = add_run(model, "big", roles={"train_loss": "train/loss"})
    model.append_points(run.id, "train/loss", np.arange(100), 1.2345e8 / (np.arange(100) + 1))
    model.frame.emit()
    qtbot.wait(50)  # painted: the tick labels are there
    assert {plot.getAxis("left").width() for plot in panel.plots.values()} == {LEFT_AXIS_WIDTH}
