"""The "Fix until healthy" window: the repair's progress, its lines, and Stop.

Non-modal: the main window keeps charting each attempt live and the run list's tree
grows as attempts start. The progress bar counts attempts and the running attempt's
epochs (attempt k of N); the lines are the command line's (``traindoc train
--auto-fix``), one per attempt, then how it ended and the config diff.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from traindoc.gui.repair_runs import RepairController


class RepairDialog(QDialog):
    """Shows one :class:`RepairController`'s repair; Stop ends it."""

    def __init__(self, controller: RepairController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Fix until healthy")
        self.setModal(False)
        self.resize(640, 320)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.bar = QProgressBar()
        self.lines = QPlainTextEdit()
        self.lines.setReadOnly(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.stop_button = self.buttons.addButton(
            "Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.clicked.connect(controller.stop)
        self.buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.bar, self.lines, self.buttons):
            layout.addWidget(widget)
        controller.changed.connect(self.refresh)
        controller.window.model.frame.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        repair = self.controller.repair
        if repair is None:
            return
        attempt, budget, epoch, epochs = self.controller.progress()
        # One unit per epoch of each run: the first run (done) and up to ``budget`` more.
        per_run = max(epochs, 1)
        self.bar.setRange(0, (budget + 1) * per_run)
        done = attempt * per_run + min(epoch, per_run)
        self.bar.setValue(self.bar.maximum() if not repair.running else done)
        if repair.running:
            where = "first run" if attempt == 0 else f"attempt {attempt} of {budget}"
            self.heading.setText(f"Repairing: {where}, epoch {min(epoch + 1, per_run)} of "
                                 f"{per_run}")
        else:
            self.heading.setText(repair.error or _ending(repair.lines))
        self.bar.setFormat("%p%" if repair.running else "done")
        shown = self.lines.toPlainText().splitlines()
        if shown != repair.lines:
            self.lines.setPlainText("\n".join(repair.lines))
        self.stop_button.setEnabled(repair.running)


def _ending(lines: list[str]) -> str:
    """The ``repair: ...`` line among the last ones."""
    return next((ln for ln in reversed(lines) if ln.startswith("repair:")), lines[-1])
