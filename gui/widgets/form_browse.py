"""Browse buttons of the New-run form: the runs folder, and file datasets.

A file dataset (``csv:FILE``, ``npz:FILE``, ``mnist:DIR``, ``cifar10:DIR``) is chosen
with a file or folder dialog from the Browse menu next to the dataset box, instead of
typed into it; the runs folder (where new runs go) is a field with its own Browse.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPushButton,
    QWidget,
)

# prefix -> (menu text, "file" or "folder", file dialog filter)
DATASET_SOURCES = {
    "csv:": ("CSV file…", "file", "CSV (*.csv);;All files (*)"),
    "npz:": ("NPZ arrays…", "file", "NumPy arrays (*.npz);;All files (*)"),
    "mnist:": ("MNIST folder…", "folder", ""),
    "cifar10:": ("CIFAR-10 folder…", "folder", ""),
}


def choose_path(parent: QWidget, title: str, kind: str, filter_: str = "",
                start: str = "") -> str:
    """A file or folder from a dialog; '' when cancelled."""
    if kind == "folder":
        return QFileDialog.getExistingDirectory(parent, title, start)
    path, _ = QFileDialog.getOpenFileName(parent, title, start, filter_)
    return path


def with_browse(key: str, editor: QWidget, form) -> QWidget:
    """The editor, with a Browse menu beside it for the dataset field."""
    if key != "data.dataset":
        return editor
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(editor, 1)
    button = QPushButton("Browse…")
    button.setToolTip("Use your own data: a CSV or NPZ file, an MNIST or CIFAR-10 folder")
    menu = QMenu(button)
    for prefix, (text, kind, filter_) in DATASET_SOURCES.items():
        action = menu.addAction(text)
        action.setObjectName(prefix)
        action.triggered.connect(
            lambda _on=False, p=prefix, t=text, k=kind, f=filter_: _pick_dataset(form, p, t, k, f)
        )
    button.setMenu(menu)
    form.dataset_browse = button
    row.addWidget(button)
    return box


def _pick_dataset(form, prefix: str, text: str, kind: str, filter_: str) -> None:
    path = choose_path(form, text.rstrip("…"), kind, filter_)
    if path:
        form.set_dataset(prefix + path)


class RunsFolderField(QWidget):
    """Where new runs go: a path field and Browse; ``changed(path)`` on each choice."""

    def __init__(self, changed: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changed = changed
        self.edit = QLineEdit()
        self.edit.setToolTip("New runs are written to a folder inside this one")
        self.edit.editingFinished.connect(self._typed)
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        self._path = ""

    def set_path(self, path: str) -> None:
        self._path = str(path)
        self.edit.setText(self._path)

    def browse(self) -> None:
        path = choose_path(self, "Runs folder", "folder", start=self._path)
        if path:
            self.set_path(path)
            self.changed(path)

    def _typed(self) -> None:
        text = self.edit.text().strip()
        if text and text != self._path:
            self._path = text
            self.changed(text)
