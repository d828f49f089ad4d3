"""The LR-finder dialog: runs the range test in the background and plots loss against lr.

Self-contained: give it a :class:`RunConfig`; Start runs the sweep in the
background (:class:`traindoc.gui.dialogs.finder_dialog.FinderDialog`: torch stays in
the child), draws the points as they arrive, then the smoothed curve with the
suggestion marked (:func:`traindoc.gui.lr_plot.draw_sweep`, the same drawing as the
CLI's PNG) from the sweep's :class:`~traindoc.engine.find.results.LrFindResult`.
"Use this LR" emits :attr:`LrFindDialog.lr_chosen` and accepts.

Wiring (main window)::

    dialog = LrFindDialog(form_config, pump=window_pump, parent=self)
    dialog.lr_chosen.connect(lambda lr: draft.apply({"optim.lr": lr}))
    dialog.open()
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from traindoc.engine import config as config_module
from traindoc.engine.events import Event, Failed, Finished, Metrics
from traindoc.engine.find import worker as finder_worker
from traindoc.engine.find.results import LrFindResult
from traindoc.engine.find.suggest import config_lr
from traindoc.gui import lr_plot
from traindoc.gui.dialogs.finder_dialog import FinderDialog
from traindoc.gui.pump import Pump


class LrFindDialog(FinderDialog):
    """Runs ``traindoc lr-find`` for ``config`` in the background and shows the result."""

    lr_chosen = Signal(float)

    def __init__(
        self,
        config: config_module.RunConfig,
        *,
        logdir: str | Path | None = None,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_steps: int = 100,
        autostart: bool = False,
        pump: Pump | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            config, logdir=logdir, tmp_prefix="traindoc-lr-find-", pump=pump, parent=parent
        )
        self.setWindowTitle("Find learning rate")
        self.resize(760, 520)
        self.options = {"start_lr": start_lr, "end_lr": end_lr, "num_steps": num_steps}
        self.live_lrs: list[float] = []
        self.live_losses: list[float] = []
        self.found: LrFindResult | None = None

        self.status = QLabel("Ready: Start sweeps the learning rate on a copy of the model.")
        self.status.setWordWrap(True)
        self.plot_widget = pg.PlotWidget()
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLogMode(x=True, y=False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "training loss")
        self.live_curve = self.plot.plot([], [], pen=None, symbol="o", symbolSize=4)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.setEnabled(False)
        self.use_button = QPushButton("Use this LR")
        self.use_button.setEnabled(False)
        self.use_button.setDefault(True)
        self.start_button = QPushButton("Start")  # the sweep waits for it, as the batch search does
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.choice, 1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)

        self.use_button.clicked.connect(self._use)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.reject)
        if autostart:
            self.start()

    # ------------------------------------------------------------ running

    def start(self) -> None:
        """Start the sweep in a background process."""
        if self.handle is not None:
            return
        target = finder_worker.lr_find_target(**self.options)
        if not self.launch("lr-find", target, failure="Cannot start the sweep"):
            return
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(
            f"Sweeping lr {self.options['start_lr']:g} → {self.options['end_lr']:g} over "
            f"{self.options['num_steps']} steps on a copy of the model…"
        )

    def handle_events(self, events: list[Event]) -> None:
        fresh = False
        for event in events:
            if isinstance(event, Metrics) and "lr_find/loss" in event.points:
                self.live_lrs.extend(event.points["lr_find/lr"][1].tolist())
                self.live_losses.extend(event.points["lr_find/loss"][1].tolist())
                fresh = True
            elif isinstance(event, Finished):
                self._finished(event)
            elif isinstance(event, Failed):
                self._failed(event)
        if fresh and self.found is None:
            lrs, losses = np.asarray(self.live_lrs), np.asarray(self.live_losses)
            ok = np.isfinite(losses)
            self.live_curve.setData(lrs[ok], losses[ok])
            self.status.setText(f"Sweeping… step {len(lrs)}, lr {lrs[-1]:.3g}")

    def run_ended(self) -> None:
        self.stop_button.setEnabled(False)

    def _finished(self, event: Finished) -> None:
        if not isinstance(event.result, LrFindResult):
            self.status.setText(f"Sweep ended: {event.reason}")
            return
        self.status.setText(f"Sweep done in {event.seconds:.1f} s: {event.reason}.")
        self.show_result(event.result)

    def _failed(self, event: Failed) -> None:
        self.status.setText(f"The sweep failed: {event.reason}")
        self.result_label.setText(event.traceback[-2000:] if not event.user_error else "")

    # ------------------------------------------------------------ result

    def show_result(self, result: LrFindResult) -> None:
        """Plot a finished sweep with its suggestion and offer the candidates."""
        self.found = result
        self.plot.removeItem(self.live_curve)
        self.items = lr_plot.draw_sweep(self.plot, result.as_dict())
        suggestion = result.suggestion
        self.choice.clear()
        lr = result.suggested_lr
        if lr is not None:
            self.choice.addItem(f"suggested ({suggestion.rule}): {suggestion.lr:.3g}", lr)
        for name, value in suggestion.alternatives.items():
            if value and math.isfinite(value):
                self.choice.addItem(f"{name}: {value:.3g}", config_lr(value))
        text = (
            f"Suggested lr <b>{suggestion.lr:.3g}</b> — {suggestion.note}"
            if lr is not None
            else f"No suggestion — {suggestion.note}. The configured lr "
            f"({result.configured_lr:g}) is kept unless you pick an alternative."
        )
        self.result_label.setText(text)
        self.choice.setEnabled(self.choice.count() > 0)
        self.use_button.setEnabled(self.choice.count() > 0)

    @property
    def chosen_lr(self) -> float | None:
        """The rate selected in the dialog (the suggestion unless the user picked another)."""
        data = self.choice.currentData() if self.choice.count() else None
        return float(data) if data is not None else None

    def _use(self) -> None:
        lr = self.chosen_lr
        if lr is None:
            return
        self.lr_chosen.emit(lr)
        self.accept()


__all__ = ["LrFindDialog"]
