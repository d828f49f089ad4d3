"""The "Find batch size" dialog: the seed's recipe, run in the background.

Start at 8, double until out of memory, keep the largest that fit minus 20%
rounded down to a power of two, then the gradient-accumulation steps and the
linearly scaled lr that reach the target effective batch
(:func:`traindoc.engine.find.finders.batch.run_batch_find` via ``engine.find.worker``;
torch stays in the child). "Use these settings" emits
:attr:`BatchFindDialog.patch_chosen` with the result's ``patch()`` (dotted config
keys ``data.batch_size``, ``train.grad_accum``, ``optim.lr``), ready for
``traindoc.engine.config.apply_patch``.

Wiring (main window)::

    dialog = BatchFindDialog(form_config, pump=window_pump, parent=self)
    dialog.patch_chosen.connect(draft.apply)
    dialog.open()
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from traindoc.engine import config as config_module
from traindoc.engine.events import Event, Failed, Finished, Metrics
from traindoc.engine.find import worker as finder_worker
from traindoc.engine.find.results import BatchFindResult
from traindoc.gui.dialogs.finder_dialog import FinderDialog
from traindoc.gui.pump import Pump


class BatchFindDialog(FinderDialog):
    """Finds the batch size for ``config``; emits the config patch the user accepts."""

    patch_chosen = Signal(dict)

    def __init__(
        self,
        config: config_module.RunConfig,
        *,
        logdir: str | Path | None = None,
        pump: Pump | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            config, logdir=logdir, tmp_prefix="traindoc-batch-find-", pump=pump, parent=parent
        )
        self.found: BatchFindResult | None = None
        self.setWindowTitle("Find batch size")
        self.resize(560, 460)

        self.target = QSpinBox()
        self.target.setRange(1, 1 << 20)
        self.target.setValue(config.data.batch_size * config.train.grad_accum)
        self.target.setToolTip("effective batch to reach with gradient accumulation")
        self.memory_limit = QDoubleSpinBox()
        self.memory_limit.setRange(0.0, 1e7)
        self.memory_limit.setDecimals(1)
        self.memory_limit.setSuffix(" MiB")
        self.memory_limit.setSpecialValueText("device limit (CPU: ¼ of RAM)")
        self.memory_limit.setToolTip("treat larger batches as out of memory (0 = none)")
        form = QFormLayout()
        form.addRow("Target effective batch", self.target)
        form.addRow("Memory limit", self.memory_limit)
        self.status = QLabel("Press Start: tries batch 8, 16, 32, … until one runs out of memory.")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.use_button = QPushButton("Use these settings")
        self.use_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.use_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use)
        self.close_button.clicked.connect(self.reject)

    def start(self) -> None:
        if self.is_running():
            return
        limit = self.memory_limit.value() or None
        target = finder_worker.batch_find_target(target=self.target.value(), memory_limit_mb=limit)
        self.found = None
        self.log.clear()
        self.use_button.setEnabled(False)
        if not self.launch("batch-find", target, failure="Cannot start"):
            return
        self.start_button.setEnabled(False)
        self.status.setText("Searching…")

    def handle_events(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Metrics) and "batch_find/batch" in event.points:
                batch = int(event.points["batch_find/batch"][1][-1])
                fits = bool(event.points["batch_find/fits"][1][-1])
                peak = float(event.points["batch_find/peak_mb"][1][-1])
                verdict = f"fits (peak {peak:,.2f} MiB)" if fits else "out of memory"
                self.log.appendPlainText(f"batch {batch:>6}: {verdict}")
            elif isinstance(event, Finished):
                self.status.setText(f"Done in {event.seconds:.1f} s: {event.reason}.")
                if isinstance(event.result, BatchFindResult):
                    self.show_result(event.result)
            elif isinstance(event, Failed):
                self.status.setText(f"The search failed: {event.reason}")

    def run_ended(self) -> None:
        self.start_button.setEnabled(True)

    def show_result(self, result: BatchFindResult) -> None:
        self.found = result
        plan = result.plan
        if plan is None:
            self.result_label.setText("Not even a batch of 1 fits: try a smaller model.")
            return
        base = result.configured_batch * result.configured_accum
        capped = " (no out-of-memory up to the cap)" if result.capped else ""
        self.result_label.setText(
            f"Largest batch that fit: {result.largest_fit}{capped}; memory allows batches up "
            f"to {result.recommended} (minus 20%, rounded down to a power of two).<br>"
            f"Recommended for the target effective batch {result.target}: batch "
            f"<b>{plan.micro_batch}</b> × <b>{plan.accum_steps}</b> accumulation step(s) = "
            f"{plan.effective_batch}, lr {result.configured_lr:g} × "
            f"{plan.effective_batch}/{base} = <b>{plan.lr:.3g}</b>."
        )
        self.use_button.setEnabled(True)

    def _use(self) -> None:
        patch = self.found.patch() if self.found is not None else {}
        if not patch:
            return
        self.patch_chosen.emit(patch)
        self.accept()


__all__ = ["BatchFindDialog"]
