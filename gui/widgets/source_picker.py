"""The New-run form's "From a Python file…" field for ``model.source`` / ``data.source``.

A file (chosen with Browse…, a ``*.py`` file dialog) and a function box listing that
file's top-level functions, read without importing the file
(:mod:`traindoc.gui.core.source_functions`); together they set the key to
``PATH:NAME`` (the path absolute). Clear empties the key: the built-in dataset or
architecture is used again. Errors (file missing, not a ``.py``, no such function)
are the draft's, shown by the form under the field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from traindoc.engine.config_sources import split_source
from traindoc.gui.core.source_functions import top_level_names
from traindoc.gui.widgets.form_browse import choose_path

PY_FILTER = "Python (*.py);;All files (*)"


class SourcePicker(QWidget):
    """A ``FILE.py:NAME`` chooser; ``changed(spec)`` on each user choice ('' = built-in)."""

    def __init__(self, what: str, changed: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what  # "model" or "data": for the placeholder and dialog title
        self.changed = changed
        self.path = QLineEdit()
        self.path.setReadOnly(True)
        self.path.setPlaceholderText(f"built-in {'architecture' if what == 'model' else 'dataset'}")
        self.function = QComboBox()
        self.function.setEditable(True)
        self.function.setMinimumContentsLength(10)
        self.function.setPlaceholderText("function")
        self.function.currentTextChanged.connect(self._function_chosen)
        self.browse_button = QPushButton("From a Python file…")
        self.browse_button.clicked.connect(self.browse)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip(f"Use the built-in {what} again")
        self.clear_button.clicked.connect(self.clear)
        column = QVBoxLayout(self)  # the path gets a line of its own: paths are long
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.path)
        row = QHBoxLayout()
        row.addWidget(self.function, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.clear_button)
        column.addLayout(row)
        self.set_spec("")

    # ------------------------------------------------------------ shown value

    def spec(self) -> str:
        """``PATH:NAME`` as chosen; '' with no file."""
        path = self.path.text()
        return f"{path}:{self.function.currentText().strip()}" if path else ""

    def set_spec(self, spec: str) -> None:
        """Show ``spec`` (the draft's value); no signal."""
        path, name = split_source(spec) if spec else ("", "")
        self._show(path, name)

    def setStyleSheet(self, sheet: str) -> None:  # Qt's name, for the form
        """The form's error border goes round the file and function, not the buttons."""
        self.path.setStyleSheet(sheet)
        self.function.setStyleSheet(sheet)

    # ------------------------------------------------------------ user actions

    def browse(self) -> None:
        """A ``.py`` file from a dialog; its first function is chosen unless the current
        name is in it too."""
        start = self.path.text() or str(Path.cwd())
        chosen = choose_path(self, f"{self.what.capitalize()} from a Python file", "file",
                             PY_FILTER, start)
        if not chosen:
            return
        path = str(Path(chosen).expanduser().resolve())
        names = top_level_names(path) or []
        current = self.function.currentText().strip()
        self._show(path, current if current in names else (names[0] if names else ""))
        self.changed(self.spec())

    def clear(self) -> None:
        """Back to the built-in model or dataset."""
        self._show("", "")
        self.changed("")

    def _function_chosen(self, _text: str) -> None:
        if self.path.text():
            self.changed(self.spec())

    def _show(self, path: str, name: str) -> None:
        self.function.blockSignals(True)
        self.function.clear()
        if path:
            self.function.addItems(top_level_names(path) or [])
        if name and self.function.findText(name) < 0:
            self.function.addItem(name)
        self.function.setCurrentText(name)
        self.function.blockSignals(False)
        self.path.setText(path)
        self.path.setToolTip(path)
        self.function.setEnabled(bool(path))
        self.clear_button.setEnabled(bool(path))
