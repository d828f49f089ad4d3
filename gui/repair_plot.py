"""Every attempt of a repair over each other: one panel per curve, one colour per attempt.

Run as ``python -m traindoc.gui.repair_plot DOC.json PNG``, it writes the chart to a
PNG offscreen with pyqtgraph's ``ImageExporter``: that is how
:func:`traindoc.engine.repair.plot.render_attempts` draws the repair report's chart.
``DOC.json`` is :func:`traindoc.engine.repair.report.chart_document`'s object:
``{"title": ..., "runs": [{"label", "final", "curves": {role: [steps, values]}}]}``.
:func:`draw_attempts` draws onto a ``GraphicsLayout`` and can serve a dialog too.
Importing this module loads only numpy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

PANEL_SIZE = (900, 300)
PANELS = (("train_loss", "training loss"), ("val_loss", "validation loss"),
          ("val_accuracy", "validation accuracy"))
COLORS = ((120, 120, 120), (214, 39, 40), (255, 127, 14), (148, 103, 189), (31, 119, 180),
          (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207))
FINAL_COLOR = (44, 160, 44)
FEW_POINTS = 20


def _arrays(curve: Any) -> tuple[np.ndarray, np.ndarray]:
    steps, values = curve
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return x, y


def draw_attempts(layout: Any, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Draw the panels onto a pyqtgraph ``GraphicsLayout``; returns ``{role: PlotItem}``."""
    import pyqtgraph as pg

    runs = doc.get("runs", [])
    panels: dict[str, Any] = {}
    for role, title in PANELS:
        if not any(role in run.get("curves", {}) for run in runs):
            continue
        plot = layout.addPlot(row=len(panels), col=0, title=title)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLabel("bottom", "step")
        log_y = role.endswith("_loss")
        plot.setLogMode(x=False, y=log_y)
        if not panels:
            plot.addLegend(offset=(-10, 10))
        for k, run in enumerate(runs):
            if role not in run.get("curves", {}):
                continue
            x, y = _arrays(run["curves"][role])
            keep = np.isfinite(y) & ((y > 0) if log_y else True)
            y = np.where(keep, y, np.nan)
            color = FINAL_COLOR if run.get("final") else COLORS[k % len(COLORS)]
            pen = pg.mkPen(color, width=3 if run.get("final") else 1.5)
            few = int(np.isfinite(y).sum()) <= FEW_POINTS  # a lone evaluation shows as a dot
            plot.plot(x, y, pen=pen, connect="finite", name=run.get("label", str(k)),
                      symbol="o" if few else None, symbolSize=6, symbolBrush=color,
                      symbolPen=None)
        panels[role] = plot
    return panels


def _export(doc_json: str, png: str) -> None:
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter

    pg.mkQApp()
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    doc = json.loads(Path(doc_json).read_text(encoding="utf-8"))
    widget = pg.GraphicsLayoutWidget()
    panels = draw_attempts(widget.ci, doc)
    if not panels:
        raise SystemExit("no curve to draw")
    widget.resize(PANEL_SIZE[0], PANEL_SIZE[1] * len(panels))
    widget.show()  # offscreen: lays the panels out at the widget's size
    pg.QtWidgets.QApplication.processEvents()
    exporter = ImageExporter(widget.scene())
    exporter.parameters()["width"] = PANEL_SIZE[0]
    exporter.export(png)


if __name__ == "__main__":
    _export(sys.argv[1], sys.argv[2])
