"""The current run's facts: status and reason, progress, device, lineage, config, traceback."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from traindoc.diagnostics import wording
from traindoc.engine import config as config_module
from traindoc.engine.events import FAILED
from traindoc.gui.core.state import RunState
from traindoc.gui.model import AppModel


class RunDetails(QWidget):
    use_config_requested = Signal(object)  # RunConfig: copy into the form

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setOpenExternalLinks(False)
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.use_config = QPushButton("Edit this config")
        self.use_config.setToolTip("Copy this run's config into the form to start a variant")
        self.use_config.clicked.connect(self._use_config)
        self.traceback_label = QLabel("<b>Traceback</b>")
        self.traceback = QPlainTextEdit()
        self.traceback.setReadOnly(True)
        self.traceback.setFont(QFont("monospace", 9))
        self.config_text = QPlainTextEdit()
        self.config_text.setReadOnly(True)
        self.config_text.setFont(QFont("monospace", 9))
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.use_config)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addWidget(self.traceback_label)
        layout.addWidget(self.traceback, 2)
        layout.addWidget(QLabel("<b>Config</b>"))
        layout.addWidget(self.config_text, 1)

        model.current_changed.connect(lambda _id: self.refresh())
        model.run_changed.connect(self._changed)
        model.frame.connect(self._progress)
        self.refresh()

    def _changed(self, run_id: str) -> None:
        if run_id == self.model.state.current:
            self.refresh()

    def refresh(self) -> None:
        run = self.model.current
        if run is None:
            self.summary.setText("<i>No run selected.</i>")
            for w in (self.progress, self.use_config, self.traceback, self.traceback_label):
                w.hide()
            self.config_text.setPlainText("")
            return
        self.summary.setText(self._summary_html(run))
        failed = run.status == FAILED and bool(run.traceback)
        self.traceback.setPlainText(run.traceback if failed else "")
        self.traceback.setVisible(failed)
        self.traceback_label.setVisible(failed)
        self.use_config.setVisible(run.config is not None)
        self.config_text.setPlainText(
            config_module.dumps(run.config) if run.config is not None else "(config unknown)"
        )
        self._progress()

    def _progress(self) -> None:
        run = self.model.current
        total = run.info.get("total_steps", 0) if run is not None else 0
        self.progress.setVisible(bool(total))
        if total:
            self.progress.setMaximum(int(total))
            self.progress.setValue(min(int(run.progress_step), int(total)))

    def _summary_html(self, run: RunState) -> str:
        rows = [("Run", run.name), ("Status", run.status)]
        if run.reason:
            rows.append(("Reason", run.reason))
        if run.run_dir is not None:
            rows.append(("Folder", str(run.run_dir)))
        info = run.info
        if info:
            rows.append(("Device", f"{info.get('device')} (amp {info.get('amp')})"))
            rows.append(("Model", f"{info.get('parameters', 0):,} parameters"))
            rows.append(("Data", f"{info.get('train_size')} train / {info.get('val_size')} val, "
                                 f"effective batch {info.get('effective_batch')}"))
        if run.fix is not None:
            parent = self.model.run(run.fix.parent)
            patch = wording.patch_text(run.fix.patch)
            rows.append(("Fix of", f"{parent.name if parent else '?'}: {run.fix.remedy} "
                                   f"for {run.fix.rule} ({patch})"))
        if run.verdict is not None:
            rows.append(("Verdict", run.verdict.text()))
        children = self.model.state.children_of(run.id)
        if children:
            rows.append(("Fixes", ", ".join(c.name for c in children)))
        if run.roles:
            rows.append(("Roles", ", ".join(f"{r} ← {t}" for r, t in sorted(run.roles.items())
                                            if t in run.tags)))
        return "<table>" + "".join(
            f"<tr><td><b>{html.escape(k)}</b>&nbsp;</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        ) + "</table>"

    def _use_config(self) -> None:
        run = self.model.current
        if run is not None and run.config is not None:
            self.use_config_requested.emit(run.config)
