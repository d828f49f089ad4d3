"""Drawing one series on one plot: the raw curve (faint), its EMA, and non-finite markers.

``CurveSet.refresh()`` is called once per frame and when the plot's view changes;
it does nothing unless the series, the smoothing weight or the drawn window (x
range, pixel width) changed since the last draw, and then calls ``setData`` once
per item. Smoothing is resumed over new points only (O(new)).

The curves reduce their own data (:mod:`traindoc.gui.core.reduction`): clip to the view, then
keep min and max per pixel bucket, so pyqtgraph only ever sees a few thousand
points, and its per-``setData`` work (finite check, bounds, path) stays small. The
items report the series' running bounds (kept by the buffers in O(new points)) to
the view's auto-range instead of measuring what is drawn.

NaN/Inf points break the line (the reduction puts a NaN in every bucket holding
one; pyqtgraph's finite check stays on) and are marked on purpose with red
triangles pinned to the top edge of the plot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from traindoc.diagnostics.signals import EmaState, ema
from traindoc.gui.core import reduction
from traindoc.gui.core.buffers import GrowingArray, GrowingSeries, RunningBounds

RAW_ALPHA = 70  # of 255: the raw curve stays visible behind the smoothed one
MAX_MARKERS = 2000  # non-finite markers drawn at most (evenly sampled)
SYMBOL_MAX_POINTS = 60  # series this short (per-epoch validation) get point symbols
# Dashes and wide pens are for short series only: Qt's dasher over a long zigzag path
# costs ~1 s a frame, and a pen wider than 1 px strokes every segment of a dense
# min/max band as a polygon (~8 ms per 1e6-point curve here; a 1 px pen takes Qt's
# line fast path). A dense band looks the same at either width.
DASH_MAX_POINTS = 2000
WIDE_PEN = 1.6
# Peak reduction keeps a min/max pair per bucket: 2 buckets per pixel column are
# enough to show every spike (pyqtgraph's default of 5 draws 2.5x the segments).
SAMPLES_PER_PIXEL = 2.0
# Never fewer buckets than this (a plot not laid out yet reports a width of ~100 px):
# a series of up to 2 * MIN_BUCKETS points in view is drawn point for point.
MIN_BUCKETS = 1024
NAN_MARK_COLOR = "#D62728"


class ReducedCurveItem(pg.PlotDataItem):
    """A ``PlotDataItem`` fed pre-reduced data, reporting the bounds of the full series.

    Its own down-sampling and clip-to-view stay off (the plot's context menu cannot
    turn them on): the data it gets is already clipped and reduced.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        super().setDownsampling(ds=1, auto=False)
        super().setClipToView(False)
        self.full_bounds: tuple[tuple[float, float], tuple[float, float]] | None = None

    def setDownsampling(self, ds=None, auto=None, method=None) -> None:
        pass

    def setClipToView(self, state: bool) -> None:
        pass

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        bounds = self.full_bounds
        if (bounds is None or frac < 1.0 or orthoRange is not None or self.opts["logMode"][ax]
                or not self.isVisible()):
            return super().dataBounds(ax, frac, orthoRange)
        return _widened(bounds[ax])


def _widened(bounds: tuple[float, float]) -> tuple[float, float]:
    """A one-value range opened to +-10% (+-1 around zero): a single point sits mid-plot."""
    lo, hi = bounds
    if lo != hi:
        return bounds
    pad = abs(lo) * 0.1 or 1.0
    return lo - pad, hi + pad


class CurveSet:
    """The items drawing one role of one run in one plot.

    ``smoothing=False`` draws the raw values whatever the weight (the learning rate:
    an EMA would hide its real schedule). ``x_mode`` is "step", "relative" (seconds
    since the series' first point) or "wall" (seconds since the epoch).
    """

    def __init__(
        self,
        plot: pg.PlotItem,
        series: GrowingSeries,
        *,
        color: str,
        dashed: bool = False,
        name: str = "",
        smoothing: bool = True,
        x_mode: str = "step",
    ) -> None:
        self.plot = plot
        self.series = series
        self.color = color
        self.dashed = dashed
        self.smoothing = smoothing
        self.x_mode = x_mode
        self._make_pens(True)
        self.raw = ReducedCurveItem(pen=self._raw_pen)
        self.smooth = ReducedCurveItem(pen=self._full_pen, name=name)
        self._markers: pg.ScatterPlotItem | None = None  # made at the first NaN/Inf
        plot.addItem(self.raw)
        plot.addItem(self.smooth)
        self._drawn_version = -1
        self._drawn_window: tuple | None = None
        self._generation = 0
        self._weight = -1.0
        self._smoothed = GrowingArray(np.float64)
        self._smoothed_bounds = RunningBounds()
        self._ema_state = EmaState()
        self._raw_peaks = reduction.PeakPyramid()
        self._smooth_peaks = reduction.PeakPyramid()
        self._marker_steps = np.empty(0, np.int64)

    def _make_pens(self, short: bool) -> None:
        """Dashed (validation) and wide pens for a short series; solid 1 px for a long one."""
        self._short = short
        style = Qt.PenStyle.DashLine if self.dashed and short else Qt.PenStyle.SolidLine
        full = QColor(self.color).darker(150) if self.dashed else QColor(self.color)
        faint = QColor(full)
        faint.setAlpha(RAW_ALPHA)
        self._raw_pen = pg.mkPen(faint, width=1, style=style)
        self._full_pen = pg.mkPen(full, width=WIDE_PEN if short else 1, style=style)

    # ------------------------------------------------------------ drawing

    def refresh(self, weight: float) -> bool:
        """Redraw if the data, the smoothing or the view changed; returns True when it drew."""
        series = self.series
        weight = weight if self.smoothing else 0.0
        window = self._window()
        if (series.version == self._drawn_version and weight == self._weight
                and window == self._drawn_window):
            return False
        values = series.values
        short = len(values) <= DASH_MAX_POINTS
        if short != self._short:
            self._make_pens(short)
            self.smooth.setPen(self._full_pen)
        if series.generation != self._generation:
            self._generation = series.generation
            self._raw_peaks.reset()
            self._weight = -1.0  # the smoothing starts over too
        if weight != self._weight:
            self._smoothed.clear()
            self._smoothed_bounds.clear()
            self._smooth_peaks.reset()
            self._ema_state = EmaState()
        done = len(self._smoothed)
        if weight > 0 and done < len(values):
            new, self._ema_state = ema(values[done:], weight, self._ema_state)
            self._smoothed.extend(new)
            self._smoothed_bounds.update(new)
        # Point symbols mark the few evaluations of a validation series, not train steps.
        symbol = "o" if self.dashed and 0 < len(values) <= SYMBOL_MAX_POINTS else None
        symbol = "o" if len(values) == 1 else symbol  # one point: no line to draw
        if weight > 0:
            self._draw(self.raw, values, series.value_bounds, self._raw_peaks, window)
            self.raw.setPen(self._raw_pen)
            self._draw(self.smooth, self._smoothed.view(), self._smoothed_bounds,
                       self._smooth_peaks, window, **self._symbol_args(symbol))
            self.smooth.show()
        else:
            self._draw(self.raw, values, series.value_bounds, self._raw_peaks, window,
                       **self._symbol_args(symbol))
            self.raw.setPen(self._full_pen)
            self.smooth.full_bounds = None
            self.smooth.setData([], [])
            self.smooth.hide()
        if series.version != self._drawn_version or window != self._drawn_window:
            self._marker_steps = _sample(self._marker_x(), MAX_MARKERS)
        self.place_markers()
        self._drawn_version = series.version
        self._drawn_window = window
        self._weight = weight
        return True

    def set_x_mode(self, mode: str) -> None:
        """Draw against steps, relative or wall time from the next ``refresh`` on."""
        self.x_mode = mode
        self._drawn_window = None

    def _x(self) -> tuple[np.ndarray, float, bool, tuple[float, float] | None]:
        """The x values for the mode, the offset to subtract from them, whether they are
        in order (clipping by bisection) and their bounds after the offset."""
        series = self.series
        if self.x_mode == "step":
            return series.steps, 0.0, series.ordered, series.step_bounds.get()
        walls = series.walls
        offset = float(walls[0]) if self.x_mode == "relative" and len(walls) else 0.0
        bounds = series.wall_bounds.get()
        if bounds is not None:
            bounds = (bounds[0] - offset, bounds[1] - offset)
        return walls, offset, series.walls_ordered, bounds

    def x_bounds(self) -> tuple[float, float] | None:
        """The series' x range in the current mode (O(1))."""
        return self._x()[3]

    def x_at_steps(self, steps) -> np.ndarray:
        """Where ``steps`` fall on the current x axis (the nearest point's x)."""
        steps = np.asarray(steps, dtype=np.float64)
        x, offset, _, _ = self._x()
        if self.x_mode == "step" or not len(x):
            return steps
        index = np.clip(np.searchsorted(self.series.steps, steps), 0, len(x) - 1)
        return x[index] - offset

    def _marker_x(self) -> np.ndarray:
        if self.x_mode == "step":
            return self.series.nonfinite_steps
        x, offset, _, _ = self._x()
        return x[self.series.nonfinite_index] - offset

    def _window(self) -> tuple[int, float | None, float | None]:
        """What the drawing depends on in the view: bucket count, and the x range to clip to.

        No clipping (None, None) while the view follows the data (x auto-range, here or
        on the plot it is x-linked to): the range is then the data's own.
        """
        vb = self.plot.vb
        buckets = max(MIN_BUCKETS, int(vb.width() * SAMPLES_PER_PIXEL))
        master = vb.linkedView(0)
        if vb.autoRangeEnabled()[0] or (master is not None and master.autoRangeEnabled()[0]):
            return buckets, None, None
        if self.plot.ctrl.logXCheck.isChecked():
            return buckets, None, None  # never on our step axes; clip only in linear x
        x0, x1 = vb.viewRange()[0]
        return buckets, float(x0), float(x1)

    def _draw(self, item: ReducedCurveItem, values: np.ndarray, bounds: RunningBounds,
              peaks: reduction.PeakPyramid, window: tuple, **style) -> None:
        bad = self.series.nonfinite_index
        steps, offset, ordered, xb = self._x()
        buckets, x0, x1 = window
        lo, hi = 0, len(values)
        if x0 is not None and ordered:
            lo, hi = reduction.clip(steps, x0 + offset, x1 + offset)
        peaks.update(values, bad)  # O(new points)
        x, y = peaks.reduce(steps, values, lo, hi, buckets, bad)  # O(buckets)
        if offset:
            x = x - offset
        yb = bounds.get()
        full = lo == 0 and hi == len(values) and xb is not None and yb is not None
        item.full_bounds = (xb, yb) if full else None
        item.setData(x, y, **style)

    def _symbol_args(self, symbol: str | None) -> dict:
        if symbol is None:
            return {"symbol": None}
        return {
            "symbol": symbol,
            "symbolSize": 5,
            "symbolPen": pg.mkPen(self._full_pen.color()),
            "symbolBrush": pg.mkBrush(self._full_pen.color()),
        }

    @property
    def markers(self) -> pg.ScatterPlotItem:
        """The red triangles on the non-finite points: made, and added to the plot, when
        first asked for (most series have none; an item costs ~1 ms to make and add)."""
        if self._markers is None:
            self._markers = pg.ScatterPlotItem(
                symbol="t", size=9, pen=pg.mkPen(NAN_MARK_COLOR), brush=pg.mkBrush(NAN_MARK_COLOR)
            )
            self._markers.setZValue(20)
            self.plot.addItem(self._markers, ignoreBounds=True)
        return self._markers

    def place_markers(self) -> None:
        """Pin the non-finite markers just below the plot's top edge."""
        steps = self._marker_steps
        if steps.size == 0:
            # (an empty setData still asks for a repaint)
            if self._markers is not None and len(self._markers.data):
                self._markers.setData([], [])
            return
        (_, _), (y0, y1) = self.plot.vb.viewRange()
        top = y1 - 0.04 * (y1 - y0)
        self.markers.setData(x=steps.astype(np.float64), y=np.full(steps.size, top))

    @property
    def marker_steps(self) -> np.ndarray:
        return self._marker_steps

    def displayed(self) -> tuple[np.ndarray, np.ndarray]:
        """The (steps, values) of the curve drawn in full colour (smoothed when on)."""
        item = self.smooth if self._weight > 0 else self.raw
        x, y = item.getData()
        if x is None:
            return np.empty(0), np.empty(0)
        return x, y

    def remove(self) -> None:
        for item in (self.raw, self.smooth, self._markers):
            if item is not None:
                self.plot.removeItem(item)


def _sample(steps: np.ndarray, limit: int) -> np.ndarray:
    if steps.size <= limit:
        return steps.copy()
    index = np.linspace(0, steps.size - 1, limit).astype(np.int64)
    return steps[index]
