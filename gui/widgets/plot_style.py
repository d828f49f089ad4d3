"""What every chart shares: readable tick labels, the x axis (step, time since the
run's start, or wall-clock time), a legend naming the runs, and log scale wherever
the values are all positive.

Used by the Diagnosis charts (:mod:`traindoc.gui.widgets.charts`) and the All-scalars
view (:mod:`traindoc.gui.widgets.all_scalars`).
"""

from __future__ import annotations

import html

import pyqtgraph as pg

from traindoc.gui.core.ticks import duration_spacing, format_duration, format_tick, log_label

X_LABELS = {"step": "step", "relative": "time since start", "wall": "time"}
LEGEND_BRUSH = (255, 255, 255, 210)
DURATION_TICK_PX = 90  # about one time label per this many pixels


class ChartAxis(pg.DateAxisItem):
    """An axis with short labels (:mod:`traindoc.gui.core.ticks`); dates in ``wall`` mode."""

    def __init__(self, orientation: str, mode: str = "step") -> None:
        super().__init__(orientation)
        self.mode = mode

    def set_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.picture = None
            self.update()

    def linkToView(self, view) -> None:
        self._linkToView_internal(view)  # no date limits: steps and losses are not dates

    def tickValues(self, minVal, maxVal, size):
        if self.mode == "wall" and not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        return pg.AxisItem.tickValues(self, minVal, maxVal, size)

    def tickSpacing(self, minVal, maxVal, size):
        if self.mode == "relative" and not self.logMode and maxVal > minVal:
            major, minor = duration_spacing(maxVal - minVal, size / DURATION_TICK_PX)
            return [(major, 0.0), (minor, 0.0)]
        return super().tickSpacing(minVal, maxVal, size)

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return [log_label(v) for v in values]
        if self.mode == "wall":
            return super().tickStrings(values, scale, spacing)
        if self.mode == "relative":
            return [format_duration(v, spacing) for v in values]
        return [format_tick(v, spacing) for v in values]


#: The value axis keeps this width whatever its tick labels: labels that grow as data
#: arrive would resize the view and repaint every chart (a 100+ ms frame).
LEFT_AXIS_WIDTH = 64


def make_plot(title: str, y_label: str, x_mode: str) -> pg.PlotItem:
    """A plot with formatted axes; no grid (~50 ms a frame on a software raster)."""
    plot = pg.PlotItem(title=title, axisItems={
        "bottom": ChartAxis("bottom", x_mode), "left": ChartAxis("left", "value"),
    })
    plot.setLabel("bottom", X_LABELS[x_mode])
    plot.setLabel("left", y_label)
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    plot.legend_ = RunLegend(plot)
    return plot


def set_x_mode(plot: pg.PlotItem, mode: str) -> None:
    plot.getAxis("bottom").set_mode(mode)
    plot.setLabel("bottom", X_LABELS[mode])


class RunLegend:
    """The runs on a plot, by name and colour: shown when it has more than one run
    (or always, while ``forced``, for exported images)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.item = pg.LegendItem(offset=(-8, 8), brush=pg.mkBrush(*LEGEND_BRUSH),
                                  pen=pg.mkPen("#bbb"), labelTextSize="8pt")
        self.item.setParentItem(plot.vb)
        self.item.setZValue(30)
        self.item.hide()
        self.entries: list[tuple[str, str]] = []
        self._built: list[tuple[str, str]] = []  # the entries the item holds
        self.forced = False

    def set(self, entries: list[tuple[str, str]]) -> None:
        """``entries``: (run name, colour), one per run drawn on the plot. The legend's
        items are made only when it shows (a sample and a label per run cost ~1 ms, and
        most plots show one run, with no legend)."""
        self.entries = list(entries)
        show = len(entries) > 1 or (self.forced and bool(entries))
        if show and self.entries != self._built:
            self.item.clear()
            for name, color in entries:
                self.item.addItem(pg.PlotDataItem(pen=pg.mkPen(color, width=2)),
                                  html.escape(name))
            self._built = list(entries)
        self.item.setVisible(show)

    def force(self, on: bool) -> None:
        """Show the legend for one run too, and let it scale with the chart (while a
        chart is exported at a larger size: on screen it keeps its pixel size)."""
        self.forced = on
        self.item.setFlag(self.item.GraphicsItemFlag.ItemIgnoresTransformations, not on)
        self.set(self.entries)

    def names(self) -> list[str]:
        return [name for name, _ in self.entries] if self.item.isVisible() else []


def all_positive(curves) -> bool:
    """True when the curves have points and every finite value is above zero."""
    lows = [b[0] for b in (c.series.value_bounds.get() for c in curves) if b is not None]
    return bool(lows) and min(lows) > 0


def apply_log(plot: pg.PlotItem, on: bool) -> None:
    """Log scale on or off (a no-op when already so)."""
    if plot.ctrl.logYCheck.isChecked() != on:
        plot.setLogMode(y=on)
        plot.enableAutoRange(y=True)
