"""Drawing one series on one plot: the raw curve (faint), its EMA, and non-finite markers.

``CurveSet.refresh()`` is called once per frame; it does nothing unless the
series or the smoothing weight changed since the last draw, and then calls
``setData`` once per item. Smoothing is resumed over new points only (O(new)).
NaN/Inf points break the line (pyqtgraph's default finite check stays on) and are
marked on purpose with red triangles pinned to the top edge of the plot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from gui.buffers import EmaState, GrowingArray, GrowingSeries, ema

RAW_ALPHA = 70  # of 255: the raw curve stays visible behind the smoothed one
MAX_MARKERS = 2000  # non-finite markers drawn at most (evenly sampled)
SYMBOL_MAX_POINTS = 60  # series this short (per-epoch validation) get point symbols
# Dashes are for short series only: Qt's dasher over a long zigzag path costs ~1 s a frame.
DASH_MAX_POINTS = 2000
# Peak down-sampling keeps a min/max pair per sample: 2 samples per pixel column are
# enough to show every spike (pyqtgraph's default of 5 draws 2.5x the segments).
SAMPLES_PER_PIXEL = 2.0
NAN_MARK_COLOR = "#D62728"


class CurveSet:
    """The items drawing one role of one run in one plot."""

    def __init__(
        self,
        plot: pg.PlotItem,
        series: GrowingSeries,
        *,
        color: str,
        dashed: bool = False,
        name: str = "",
    ) -> None:
        self.plot = plot
        self.series = series
        self.color = color
        self.dashed = dashed
        self._make_pens(dashed)
        self.raw = pg.PlotDataItem(pen=self._raw_pen)
        self.smooth = pg.PlotDataItem(pen=self._full_pen, name=name)
        for item in (self.raw, self.smooth):
            item.opts["autoDownsampleFactor"] = SAMPLES_PER_PIXEL
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        self.markers = pg.ScatterPlotItem(
            symbol="t", size=9, pen=pg.mkPen(NAN_MARK_COLOR), brush=pg.mkBrush(NAN_MARK_COLOR)
        )
        self.markers.setZValue(20)
        plot.addItem(self.raw)
        plot.addItem(self.smooth)
        plot.addItem(self.markers, ignoreBounds=True)
        self._drawn_version = -1
        self._generation = 0
        self._weight = -1.0
        self._smoothed = GrowingArray(np.float64)
        self._ema_state = EmaState()
        self._marker_steps = np.empty(0, np.int64)

    def _make_pens(self, dashed: bool) -> None:
        self._dashes_on = dashed
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        full = QColor(self.color).darker(150) if self.dashed else QColor(self.color)
        faint = QColor(full)
        faint.setAlpha(RAW_ALPHA)
        self._raw_pen = pg.mkPen(faint, width=1, style=style)
        self._full_pen = pg.mkPen(full, width=1.6, style=style)

    # ------------------------------------------------------------ drawing

    def refresh(self, weight: float) -> bool:
        """Redraw if the data or the smoothing changed; returns True when it drew."""
        series = self.series
        if series.version == self._drawn_version and weight == self._weight:
            return False
        steps, values = series.steps, series.values
        dashes = self.dashed and len(values) <= DASH_MAX_POINTS
        if dashes != self._dashes_on:
            self._make_pens(dashes)
            self.smooth.setPen(self._full_pen)
        if weight != self._weight or series.generation != self._generation:
            self._generation = series.generation
            self._smoothed.clear()
            self._ema_state = EmaState()
        done = len(self._smoothed)
        if weight > 0 and done < len(values):
            new, self._ema_state = ema(values[done:], weight, self._ema_state)
            self._smoothed.extend(new)
        bad = series.nonfinite_steps
        shown = values
        if bad.size:
            shown = np.where(np.isfinite(values), values, np.nan)  # ±Inf would wreck ranges
        # Point symbols mark the few evaluations of a validation series, not train steps.
        symbol = "o" if self.dashed and 0 < len(values) <= SYMBOL_MAX_POINTS else None
        if weight > 0:
            self.raw.setData(steps, shown)
            self.raw.setPen(self._raw_pen)
            smoothed = self._smoothed.view()
            if bad.size:
                smoothed = np.where(np.isfinite(smoothed), smoothed, np.nan)
            self.smooth.setData(steps, smoothed, **self._symbol_args(symbol))
            self.smooth.show()
        else:
            self.raw.setData(steps, shown, **self._symbol_args(symbol))
            self.raw.setPen(self._full_pen)
            self.smooth.setData([], [])
            self.smooth.hide()
        self._marker_steps = _sample(bad, MAX_MARKERS)
        self.place_markers()
        self._drawn_version = series.version
        self._weight = weight
        return True

    def _symbol_args(self, symbol: str | None) -> dict:
        if symbol is None:
            return {"symbol": None}
        return {
            "symbol": symbol,
            "symbolSize": 5,
            "symbolPen": pg.mkPen(self._full_pen.color()),
            "symbolBrush": pg.mkBrush(self._full_pen.color()),
        }

    def place_markers(self) -> None:
        """Pin the non-finite markers just below the plot's top edge."""
        steps = self._marker_steps
        if steps.size == 0:
            self.markers.setData([], [])
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
        for item in (self.raw, self.smooth, self.markers):
            self.plot.removeItem(item)


def _sample(steps: np.ndarray, limit: int) -> np.ndarray:
    if steps.size <= limit:
        return steps.copy()
    index = np.linspace(0, steps.size - 1, limit).astype(np.int64)
    return steps[index]
