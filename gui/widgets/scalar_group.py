"""One group of the All-scalars view: the tags sharing a prefix (``train/``, ``val/``,
``metrics/``), under a header that folds.

A folded group holds no plot at all: its charts (one per tag, one curve per shown
run that has the tag, drawn by :class:`~traindoc.gui.widgets.curves.CurveSet`) are
created when it is unfolded, and dropped when it is folded again, so a log with
hundreds of tags costs nothing until a group is opened.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget

from traindoc.gui.model import AppModel
from traindoc.gui.widgets.curves import CurveSet
from traindoc.gui.widgets.plot_style import all_positive, apply_log, make_plot, set_x_mode

COLUMNS = 2
PLOT_HEIGHT = 240  # px per row of charts
LR_WORDS = ("lr", "learning_rate", "learning-rate")


def is_learning_rate(tag: str) -> bool:
    """``opt/lr``, ``x/lr0``, ``learning_rate``: never smoothed (it hides the schedule);
    nor is the tag a run maps to its ``lr`` role (``lr-AdamW``)."""
    name = tag.rsplit("/", 1)[-1].lower()
    return name.rstrip("0123456789") in LR_WORDS


class TagGroup(QWidget):
    """A header button (the prefix and its tag count) and, unfolded, the tags' charts."""

    def __init__(self, model: AppModel, prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.prefix = prefix
        self.tags: list[str] = []
        self.header = QToolButton()
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.header.setStyleSheet("QToolButton { text-align: left; font-weight: bold; }")
        self.header.toggled.connect(self._toggled)
        self.graphics: pg.GraphicsLayoutWidget | None = None
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[tuple[str, str], CurveSet] = {}  # (run id, tag)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 4)
        self._layout.addWidget(self.header)
        self._label()

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.header.setChecked(on)

    def set_tags(self, tags: list[str]) -> None:
        """The group's tags that pass the filter; rebuilds the charts when unfolded."""
        if tags != self.tags:
            self.tags = list(tags)
            self._label()
            if self.expanded:
                self._build()
        elif self.expanded:
            self.sync_curves()

    def _label(self) -> None:
        arrow = Qt.ArrowType.DownArrow if self.expanded else Qt.ArrowType.RightArrow
        self.header.setArrowType(arrow)
        self.header.setText(f"{self.prefix}  ({len(self.tags)})")

    def _toggled(self, on: bool) -> None:
        self._label()
        if on:
            self._build()
        else:
            self._drop()

    # ------------------------------------------------------------ charts

    def _build(self) -> None:
        self._drop()
        x_mode = self.model.state.x_axis
        self.graphics = pg.GraphicsLayoutWidget()
        rows = -(-len(self.tags) // COLUMNS)
        self.graphics.setFixedHeight(max(1, rows) * PLOT_HEIGHT)
        for index, tag in enumerate(self.tags):
            plot = make_plot(tag, "", x_mode)
            plot.vb.sigRangeChanged.connect(lambda *_, t=tag: self._view_changed(t))
            plot.vb.sigResized.connect(lambda *_, t=tag: self._view_changed(t))
            self.graphics.ci.addItem(plot, row=index // COLUMNS, col=index % COLUMNS)
            self.plots[tag] = plot
        self._layout.addWidget(self.graphics)
        self.sync_curves()

    def _drop(self) -> None:
        for curve in self.curves.values():
            curve.remove()
        self.curves.clear()
        self.plots.clear()
        if self.graphics is not None:
            self._layout.removeWidget(self.graphics)
            self.graphics.deleteLater()
            self.graphics = None

    def sync_curves(self) -> None:
        """One curve per shown run having the tag, in the run's own colour."""
        if not self.expanded:
            return
        runs = [self.model.run(r) for r in self.model.visible_runs()]
        wanted = {(run.id, tag) for run in runs for tag in self.plots if tag in run.tags}
        for key in [k for k in self.curves if k not in wanted]:
            self.curves.pop(key).remove()
        for run in runs:
            for tag, plot in self.plots.items():
                if tag in run.tags and (run.id, tag) not in self.curves:
                    self.curves[(run.id, tag)] = CurveSet(
                        plot, run.tags[tag], color=run.color, name=f"{run.name} {tag}",
                        dashed=tag.lower().startswith("val"),
                        smoothing=not (is_learning_rate(tag) or run.roles.get("lr") == tag),
                        x_mode=self.model.state.x_axis)
        for tag, plot in self.plots.items():
            plot.legend_.set([(run.name, run.color) for run in runs if tag in run.tags])
        self.apply_log()
        self.redraw()

    def redraw(self) -> None:
        weight = self.model.state.smoothing
        drawn = {curve.plot for curve in self.curves.values() if curve.refresh(weight)}
        if drawn and self.model.state.log_y:
            self.apply_log()  # a value at or below zero arrived: back to linear
        for plot in drawn:
            plot.vb.prepareForPaint()

    def _view_changed(self, tag: str) -> None:
        plot = self.plots.get(tag)
        weight = self.model.state.smoothing
        for curve in self.curves.values():
            if curve.plot is plot and not curve.refresh(weight):
                curve.place_markers()

    def apply_log(self) -> None:
        on = self.model.state.log_y
        for plot in self.plots.values():
            apply_log(plot, on and all_positive(
                [c for c in self.curves.values() if c.plot is plot]))

    def apply_x_axis(self, mode: str) -> None:
        for plot in self.plots.values():
            set_x_mode(plot, mode)
            plot.enableAutoRange(x=True, y=True)
        for curve in self.curves.values():
            curve.set_x_mode(mode)
        self.redraw()
