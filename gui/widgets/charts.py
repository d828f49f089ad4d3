"""The live charts: loss, accuracy, objective metric, learning rate, gradient norm,
throughput, memory (the "Diagnosis" tab; "All scalars" shows every tag,
:mod:`traindoc.gui.widgets.all_scalars`).

One ``GraphicsLayoutWidget`` holds the plots with linked step axes. Each
visible run draws one :class:`CurveSet` per role it has; on every ``frame`` the
panel refreshes each curve once (a no-op unless its data changed); a change of a
plot's view (zoom, pan, resize) refreshes that plot's curves. The curves clip to the
view and keep min/max per pixel bucket themselves (:mod:`traindoc.gui.core.reduction`), which keeps
a redraw of millions of points within a frame.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from traindoc.gui.model import AppModel
from traindoc.gui.widgets.all_scalars import AllScalarsView
from traindoc.gui.widgets.curves import CurveSet
from traindoc.gui.widgets.plot_style import all_positive, apply_log, make_plot, set_x_mode

log = logging.getLogger(__name__)

HIGHLIGHT_COLOR = (255, 200, 0, 60)


@dataclass(frozen=True, slots=True)
class ChartSpec:
    key: str
    title: str
    roles: tuple[str, ...]
    y_label: str
    smoothing: bool = True  # the learning rate is drawn raw: an EMA hides its schedule


CHARTS = (
    ChartSpec("loss", "Loss", ("train_loss", "val_loss"), "loss"),
    ChartSpec("accuracy", "Accuracy", ("train_accuracy", "val_accuracy"), "accuracy"),
    # The objective metric (reward, mAP, MAE, ...): its axis reads as the tag's own unit.
    ChartSpec("metric", "Metric", ("train_metric", "val_metric"), "metric"),
    ChartSpec("lr", "Learning rate", ("lr",), "lr", smoothing=False),
    ChartSpec("grad_norm", "Gradient norm", ("grad_norm",), "‖g‖₂"),
    ChartSpec("throughput", "Throughput", ("samples_per_sec",), "samples/s"),
    ChartSpec("memory", "Device memory (peak)", ("device_mem_mb",), "MB"),
)
ROLE_CHART = {role: spec.key for spec in CHARTS for role in spec.roles}
SPECS = {spec.key: spec for spec in CHARTS}

pg.setConfigOptions(antialias=False, background="w", foreground="#333")


class ChartPanel(QWidget):
    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        # As tall as one line naming a run from the start: the first run's legend line
        # would otherwise grow the label, shrink the charts and repaint each of them again.
        self.legend.setText(_legend_html([("#000", "run", "status")]))
        self.legend.setMinimumHeight(self.legend.heightForWidth(10_000))
        self.graphics = pg.GraphicsLayoutWidget()
        diagnosis = QWidget()
        layout = QVBoxLayout(diagnosis)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics, 1)
        # Two views of the runs: the role charts (default) and every scalar tag.
        self.all_scalars = AllScalarsView(model)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(diagnosis, "Diagnosis")
        self.tabs.addTab(self.all_scalars, "All scalars")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)

        self.plots: dict[str, pg.PlotItem] = {}
        self.regions: dict[str, pg.LinearRegionItem] = {}
        self.curves: dict[tuple[str, str], CurveSet] = {}
        self._shown_runs: set[str] = set()
        self._laid_out: list[str] = []
        first = None
        for spec in CHARTS:
            plot = make_plot(spec.title, spec.y_label, model.state.x_axis)
            plot.vb.sigRangeChanged.connect(lambda *_, key=spec.key: self._view_changed(key))
            plot.vb.sigResized.connect(lambda *_, key=spec.key: self._view_changed(key))
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*HIGHLIGHT_COLOR))
            region.setZValue(-10)
            region.hide()
            plot.addItem(region, ignoreBounds=True)
            self.plots[spec.key] = plot
            self.regions[spec.key] = region

        model.frame.connect(self.redraw)
        model.visible_changed.connect(self.sync_runs)
        model.roles_changed.connect(self._rebuild_run)
        model.run_removed.connect(self._rebuild_run)
        model.run_changed.connect(self._update_legend_for)
        model.smoothing_changed.connect(lambda _w: self.redraw())
        model.log_y_changed.connect(lambda _on: self._apply_log_y())
        model.x_axis_changed.connect(self._apply_x_axis)
        model.highlight_changed.connect(self._apply_highlight)
        self.sync_runs()

    # ------------------------------------------------------------ runs ↔ curves

    def sync_runs(self) -> None:
        visible = self.model.visible_runs()
        wanted: set[tuple[str, str]] = set()
        for run_id in visible:
            run = self.model.run(run_id)
            for role in ROLE_CHART:
                series = run.series(role)
                if series is None:
                    continue
                wanted.add((run_id, role))
                if (run_id, role) not in self.curves:
                    self.curves[(run_id, role)] = CurveSet(
                        self.plots[ROLE_CHART[role]],
                        series,
                        color=run.color,
                        dashed=role.startswith("val_"),
                        name=f"{run.name} {role}",
                        smoothing=SPECS[ROLE_CHART[role]].smoothing,
                        x_mode=self.model.state.x_axis,
                    )
        for key in list(self.curves):
            if key not in wanted:
                self.curves.pop(key).remove()
        self._relayout()
        if set(visible) != self._shown_runs:
            self._shown_runs = set(visible)
            self.fit()
        self._update_legend()
        self._apply_log_y()
        self._apply_highlight()
        self.redraw()

    def _relayout(self) -> None:
        """Show only the charts that have data, two per row (loss and accuracy when none).

        Only the charts that change cell are moved: taking a chart out of the layout takes
        it out of the scene, and putting it back re-adds every item it holds (the first
        run's learning rate, added below loss and accuracy, moves neither of them)."""
        keys = [spec.key for spec in CHARTS
                if any(curve.plot is self.plots[spec.key] for curve in self.curves.values())]
        keys = keys or ["loss", "accuracy"]
        if keys == self._laid_out:
            return
        layout = self.graphics.ci
        cells = {key: divmod(index, 2) for index, key in enumerate(keys)}
        before = {key: divmod(index, 2) for index, key in enumerate(self._laid_out)}
        for key, cell in before.items():
            if cells.get(key) != cell:
                layout.removeItem(self.plots[key])
        for key in set(self.plots) - set(keys):
            self.plots[key].hide()
        for key, (row, col) in cells.items():
            if before.get(key) != (row, col):
                # Shown first: the layout sizes its rows when the chart is added, and a
                # hidden chart gets no room (a second layout pass, and paint, would follow).
                self.plots[key].show()
                layout.addItem(self.plots[key], row=row, col=col)
        self._laid_out = keys

    def shown_charts(self) -> list[str]:
        return list(self._laid_out)

    def fit(self) -> None:
        """Show every visible point again (after the shown runs changed).

        The step range is set from the data itself: with auto down-sampling, a
        short run drawn in the range of a long one is decimated to nothing, and
        pyqtgraph's auto-range, which measures what is drawn, would never recover.
        """
        lo, hi = None, None
        for curve in self.curves.values():
            bounds = curve.x_bounds()  # kept as points arrive: O(1) here
            if bounds is not None:
                lo = bounds[0] if lo is None else min(lo, bounds[0])
                hi = bounds[1] if hi is None else max(hi, bounds[1])
        first = self.plots[CHARTS[0].key]
        if lo is not None:
            if hi == lo:  # one point: in the middle of the plot
                lo, hi = lo - 1, hi + 1
            first.setXRange(float(lo), float(hi), padding=0.02)
        for plot in self.plots.values():
            plot.enableAutoRange(x=True, y=True)

    def _rebuild_run(self, run_id: str) -> None:
        """A run's roles changed: its curves are made again, if it is on the charts (a
        run off them has none, and re-syncing every chart for it costs O(runs) per run
        while a big tree opens)."""
        drawn = [k for k in self.curves if k[0] == run_id]
        if not drawn and run_id not in self.model.visible_runs():
            return
        for key in drawn:
            self.curves.pop(key).remove()
        self.sync_runs()

    def redraw(self) -> None:
        weight = self.model.state.smoothing
        # A series can appear after its run became visible (first validation point).
        for run_id in self.model.visible_runs():
            run = self.model.run(run_id)
            if any(
                (run_id, role) not in self.curves and run.series(role) is not None
                for role in ROLE_CHART
            ):
                self.sync_runs()
                return
        drawn = {curve.plot for curve in self.curves.values() if curve.refresh(weight)}
        if drawn and self.model.state.log_y:
            self._apply_log_y()  # a value at or below zero arrived: back to linear
        # Follow the new data now rather than in the paint: pyqtgraph updates the auto-range
        # while painting, and the axes it then changes ask for a second paint of the panel.
        for spec in CHARTS:  # the x-link master (loss) first
            if self.plots[spec.key] in drawn:
                self.plots[spec.key].vb.prepareForPaint()

    def _view_changed(self, key: str) -> None:
        """Zoom, pan or resize: redraw the plot's curves for the new window, re-pin markers."""
        plot = self.plots.get(key)
        weight = self.model.state.smoothing
        for curve in self.curves.values():
            if curve.plot is plot and not curve.refresh(weight):
                curve.place_markers()

    # ------------------------------------------------------------ options

    def _apply_log_y(self) -> None:
        """Log scale, when on, on every chart whose values are all positive."""
        on = self.model.state.log_y
        for key, plot in self.plots.items():
            apply_log(plot, on and all_positive(self._curves_of(key)))

    def _curves_of(self, key: str) -> list[CurveSet]:
        plot = self.plots[key]
        return [curve for curve in self.curves.values() if curve.plot is plot]

    def log_charts(self) -> list[str]:
        return [key for key, plot in self.plots.items() if plot.ctrl.logYCheck.isChecked()]

    def _apply_x_axis(self, mode: str) -> None:
        for plot in self.plots.values():
            set_x_mode(plot, mode)
        for curve in self.curves.values():
            curve.set_x_mode(mode)
        self._apply_highlight()
        self.redraw()
        self.fit()

    def _apply_highlight(self) -> None:
        hl = self.model.state.highlight
        show = hl is not None and hl[0] in self.model.visible_runs()
        if show:  # the finding's steps, where they fall on the x axis
            mapped = next((c.x_at_steps(hl[1:]) for (run_id, _), c in self.curves.items()
                           if run_id == hl[0]), np.asarray(hl[1:], dtype=np.float64))
        for region in self.regions.values():
            if show:
                start, end = float(mapped[0]), max(float(mapped[1]), float(mapped[0]) + 1)
                region.setRegion((start, end))
                region.show()
            else:
                region.hide()

    def highlighted_range(self) -> tuple[float, float] | None:
        region = self.regions["loss"]
        return tuple(region.getRegion()) if region.isVisible() else None

    # ------------------------------------------------------------ legend

    def _update_legend_for(self, run_id: str) -> None:
        if run_id in self.model.visible_runs():
            self._update_legend()

    def _update_legend(self) -> None:
        for plot in self.plots.values():
            drawn = {run_id for (run_id, _), curve in self.curves.items() if curve.plot is plot}
            runs = [self.model.run(r) for r in self.model.visible_runs() if r in drawn]
            plot.legend_.set([(run.name, run.color) for run in runs])
        runs = [self.model.run(run_id) for run_id in self.model.visible_runs()]
        self.legend.setText(_legend_html([(run.color, run.name, run.status) for run in runs]))

    # ------------------------------------------------------------ test and export helpers

    def curve(self, run_id: str, role: str) -> CurveSet | None:
        return self.curves.get((run_id, role))


def _legend_html(runs: list[tuple[str, str, str]]) -> str:
    """The line above the charts: a square of each shown run's colour, its name and
    status (``runs``: (colour, name, status)), then how to read the lines."""
    parts = [
        f'<span style="color:{QColor(color).name()}; font-size:16px">■</span> '
        f"{html.escape(name)} <i>({html.escape(status)})</i>"
        for color, name, status in runs
    ]
    note = "solid: train · dashed, darker: validation · ▲ red: NaN/Inf"
    return "&nbsp;&nbsp;".join(parts) + f"&nbsp;&nbsp;<small>{note}</small>"
