"""Loss against learning rate, with the suggestion marked: one drawing for the GUI and the PNG.

:func:`draw_sweep` draws an lr-find document (``LrFindResult.as_dict()``, the
``lr_find.json`` format) onto a pyqtgraph ``PlotItem``: the GUI's LR-finder dialog
uses it. Run as ``python -m traindoc.gui.lr_plot SWEEP.json PNG`` it writes the
same drawing to a PNG offscreen with pyqtgraph's ``ImageExporter``: that is how
:func:`traindoc.engine.find.plot.render_png` draws the command line's plot.
Importing this module loads only numpy.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PNG_SIZE = (900, 560)
RAW_COLOR = (150, 150, 150)
SMOOTH_COLOR = (31, 119, 180)
SUGGEST_COLOR = (214, 39, 40)
ALT_COLOR = (120, 120, 120)


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)


def y_range(losses: np.ndarray, smoothed: np.ndarray) -> tuple[float, float]:
    """A view that shows the descent: from below the minimum to 1.5x the starting level."""
    finite = smoothed[np.isfinite(smoothed)]
    if not len(finite):
        finite = losses[np.isfinite(losses)]
    if not len(finite):
        return 0.0, 1.0
    head = finite[: max(1, len(finite) // 10)]
    low, high = float(finite.min()), float(np.median(head)) * 1.5
    if not high > low:
        high = low + 1.0
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def draw_sweep(plot: Any, summary: Mapping[str, Any]) -> dict[str, Any]:
    """Draw an lr-find document (``LrFindResult.as_dict()``) onto a ``PlotItem``.

    Returns the items drawn (``raw``, ``smoothed``, ``marker``, ``line``) so a
    caller can test or update them.
    """
    import pyqtgraph as pg

    lrs = _floats(summary.get("lrs", []))
    losses = _floats(summary.get("losses", []))
    smoothed = _floats(summary.get("smoothed", []))
    suggestion = summary.get("suggestion") or {}
    plot.clear()
    plot.setLogMode(x=True, y=False)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setLabel("bottom", "learning rate")
    plot.setLabel("left", "training loss")
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    if plot.legend is None:
        plot.addLegend(offset=(-10, 10))
    items: dict[str, Any] = {}
    ok = np.isfinite(losses) & (lrs > 0)
    items["raw"] = plot.plot(
        lrs[ok],
        losses[ok],
        pen=None,
        symbol="o",
        symbolSize=4,
        symbolBrush=pg.mkBrush(*RAW_COLOR),
        symbolPen=None,
        name="loss per step",
    )
    ok_s = np.isfinite(smoothed) & (lrs > 0)
    items["smoothed"] = plot.plot(
        lrs[ok_s], smoothed[ok_s], pen=pg.mkPen(SMOOTH_COLOR, width=2), name="smoothed"
    )
    lr = suggestion.get("lr")
    if lr:
        loss_at = float(np.interp(math.log10(lr), np.log10(lrs[ok_s]), smoothed[ok_s]))
        items["line"] = pg.InfiniteLine(
            pos=math.log10(lr),
            angle=90,
            pen=pg.mkPen(SUGGEST_COLOR, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            label=f"suggested {lr:.3g}",
            labelOpts={"position": 0.9, "color": SUGGEST_COLOR},
        )
        plot.addItem(items["line"])
        items["marker"] = plot.plot(
            [lr],
            [loss_at],
            pen=None,
            symbol="o",
            symbolSize=11,
            symbolBrush=pg.mkBrush(*SUGGEST_COLOR),
            name=f"suggested lr {lr:.3g}",
        )
    alternatives = (suggestion.get("alternatives") or {}).items()
    for k, (name, alt) in enumerate(alternatives):
        tick = pg.InfiniteLine(
            pos=math.log10(alt),
            angle=90,
            pen=pg.mkPen(ALT_COLOR, width=1, style=pg.QtCore.Qt.PenStyle.DotLine),
            label=f"{name} {alt:.3g}",
            labelOpts={"position": 0.08 + 0.1 * k, "color": ALT_COLOR},
        )
        plot.addItem(tick)
        items[f"alt:{name}"] = tick
    plot.setYRange(*y_range(losses, smoothed), padding=0)
    return items


def _export(summary_json: str, png: str) -> None:
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter

    pg.mkQApp()
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    widget = pg.PlotWidget()
    widget.resize(*PNG_SIZE)
    summary = json.loads(Path(summary_json).read_text(encoding="utf-8"))
    draw_sweep(widget.getPlotItem(), summary)
    exporter = ImageExporter(widget.getPlotItem())
    exporter.parameters()["width"] = PNG_SIZE[0]
    exporter.export(png)


if __name__ == "__main__":
    _export(sys.argv[1], sys.argv[2])
