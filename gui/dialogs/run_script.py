"""The "Run a script…" dialog: a training script's command line, working folder, log
folder and the options that carry config keys (``optim.lr=--lr``, one per line).

Every field is checked as it is edited with :func:`traindoc.gui.script_runs.check_spec`
(the CLI's own validation); a bad entry is shown under its field and Start stays
disabled. Start emits :attr:`RunScriptDialog.spec_chosen` with the checked spec.
"Load…" fills the fields from a TOML file's ``[script]`` table
(:mod:`traindoc.engine.script_file`, as ``traindoc run --config`` reads it).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from traindoc.engine.errors import UserError
from traindoc.engine.script_file import load_script
from traindoc.gui.script_runs import ScriptSpec, check_spec

FIELDS = ("command", "cwd", "logdir", "params")


def default_logdir(runs_folder: str | Path) -> Path:
    """A new folder under the app's runs folder for the script's logs."""
    base = Path(runs_folder).expanduser() / time.strftime("script-%Y%m%d-%H%M%S")
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunScriptDialog(QDialog):
    """See the module docstring."""

    spec_chosen = Signal(object)  # ScriptSpec

    def __init__(self, runs_folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run a script")
        self.spec: ScriptSpec | None = None
        self.command = QLineEdit()
        self.command.setPlaceholderText("python train.py --lr 0.1")
        self.cwd = QLineEdit(os.getcwd())
        self.logdir = QLineEdit(str(default_logdir(runs_folder)))
        self.params = QPlainTextEdit()
        self.params.setPlaceholderText("optim.lr=--lr")
        self.params.setMaximumHeight(90)
        self.errors = {name: self._error_label() for name in FIELDS}
        form = QFormLayout()
        form.addRow("Command line", self._with_error(self.command, "command"))
        form.addRow("Working folder", self._with_error(
            self._browse_row(self.cwd, "Working folder"), "cwd"))
        form.addRow("Log folder", self._with_error(
            self._browse_row(self.logdir, "Log folder"), "logdir"))
        form.addRow("Parameters (KEY=OPTION)", self._with_error(self.params, "params"))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start")
        self.load_button = self.buttons.addButton("Load…", QDialogButtonBox.ButtonRole.ActionRole)
        self.load_button.setToolTip("Fill the fields from a TOML file's [script] table")
        self.load_button.clicked.connect(self._load_dialog)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.file_error = self._error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_error)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        for edit in (self.command, self.cwd, self.logdir):
            edit.textChanged.connect(self.validate)
        self.params.textChanged.connect(self.validate)
        self.validate()

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setStyleSheet("color: #c0392b;")
        label.setWordWrap(True)
        label.hide()
        return label

    def _with_error(self, widget: QWidget, name: str) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(widget)
        column.addWidget(self.errors[name])
        return box

    def _browse_row(self, edit: QLineEdit, title: str) -> QWidget:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(lambda: self._browse(edit, title))
        line.addWidget(button)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path = QFileDialog.getExistingDirectory(self, title, edit.text())
        if path:
            edit.setText(path)

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a [script] table", self.cwd.text(),
                                              "TOML files (*.toml);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path: str | Path) -> bool:
        """Fill the fields from ``path``'s [script] table; a bad file is shown above the
        fields and changes none of them. True when loaded."""
        try:
            table = load_script(path)
        except UserError as exc:
            self.file_error.setText(str(exc))
            self.file_error.show()
            return False
        self.file_error.hide()
        self.command.setText(shlex.join(table.command))
        self.cwd.setText(str(table.cwd or Path(path).expanduser().resolve().parent))
        if table.logdir is not None:
            self.logdir.setText(str(table.logdir))
        self.params.setPlainText("\n".join(f"{k}={v}" for k, v in table.params.flags.items()))
        return self.validate()

    def validate(self) -> bool:
        """Check every field; show each problem under its field. True when all are good."""
        self.spec, errors = check_spec(self.command.text(), self.cwd.text(),
                                       self.logdir.text(), self.params.toPlainText())
        if not self.command.text().strip():  # not yet typed: no red text, just no Start
            errors.pop("command", None)
        for name, label in self.errors.items():
            label.setText(errors.get(name, ""))
            label.setVisible(name in errors)
        self.start_button.setEnabled(self.spec is not None)
        return self.spec is not None

    def error(self, name: str) -> str:
        """The message shown under field ``name`` ("" when it is fine)."""
        return self.errors[name].text()

    def start(self) -> None:
        if not self.validate():
            return
        self.spec_chosen.emit(self.spec)
        self.accept()
