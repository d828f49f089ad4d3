"""The run configuration form: one field per SPEC §6 key, engine's message at the field.

Numbers are typed as text, so any value reaches engine's validation and its
message (key, value, what is allowed) appears right under the field; choices are
combo boxes, switches are check boxes. Every edit goes to the :class:`DraftModel`;
the form shows its values again whenever code replaces them (``loaded``).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from traindoc.engine import config as cfg
from traindoc.gui.config_draft import DraftModel
from traindoc.gui.core.field_rules import inapplicable
from traindoc.gui.widgets import form_browse
from traindoc.gui.widgets.source_picker import SourcePicker
from traindoc.gui.widgets.wheel_guard import WheelGuard, guard

ERROR_STYLE = "color: #C62828; font-size: 11px;"
ERROR_BORDER = "border: 1px solid #C62828;"


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str
    kind: str  # text | bool | choice | combo (editable choice) | source (FILE.py:NAME)
    choices: tuple[str, ...] = ()
    tip: str = ""


SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    ("Run", (
        Field("name", "Name", "text", tip="Run folder name; a timestamp keeps it unique"),
        Field("seed", "Seed", "text"),
    )),
    ("Data", (
        Field("data.dataset", "Dataset", "combo",
              ("digits", "spirals", "blobs", "mnist:", "cifar10:", "npz:", "csv:"),
              "bundled: digits, spirals, blobs; files: mnist:DIR, cifar10:DIR, npz:FILE, csv:FILE"),
        Field("data.batch_size", "Batch size", "text"),
        Field("data.val_fraction", "Validation fraction", "text"),
        Field("data.augment", "Augment (images)", "bool"),
        Field("data.normalize", "Normalize", "bool"),
        Field("data.source", "Own data", "source",
              tip="A function of your .py file returning (train, val); Clear: the dataset"),
    )),
    ("Model", (
        Field("model.arch", "Architecture", "choice", cfg.ARCHS),
        Field("model.hidden", "Hidden widths", "text", tip="e.g. 256, 256"),
        Field("model.dropout", "Dropout", "text"),
        Field("model.activation", "Activation", "choice", cfg.ACTIVATIONS),
        Field("model.source", "Own model", "source",
              tip="A function (or class) of your .py file making the model; Clear: the arch"),
    )),
    ("Optimizer", (
        Field("optim.name", "Optimizer", "choice", cfg.OPTIMIZERS),
        Field("optim.lr", "Learning rate", "text"),
        Field("optim.momentum", "Momentum", "text"),
        Field("optim.weight_decay", "Weight decay", "text"),
    )),
    ("Schedule", (
        Field("schedule.kind", "Schedule", "choice", cfg.SCHEDULES),
        Field("schedule.warmup", "Warmup (fraction)", "text"),
        Field("schedule.decay", "Decay (fraction)", "text"),
        Field("schedule.final_lr_ratio", "Final LR ratio", "text"),
    )),
    ("Training", (
        Field("train.epochs", "Epochs", "text"),
        Field("train.grad_accum", "Gradient accumulation", "text"),
        Field("train.clip_grad_norm", "Clip grad norm", "text", tip="0 = off"),
        Field("train.amp", "Mixed precision", "choice", cfg.AMP_MODES),
        Field("train.early_stopping", "Early stopping", "bool"),
        Field("train.patience", "Patience (epochs)", "text"),
        Field("train.device", "Device", "combo", ("auto", "cpu", "cuda", "cuda:0")),
        Field("train.nproc_per_node", "Processes", "combo", ("1", "2", "4", "8", "gpu"),
              "Processes on this machine (DDP through torchrun); gpu = one per visible GPU. "
              "The batch size is per process: scale the learning rate to the global batch"),
    )),
    ("Advanced: several machines", (
        Field("train.nnodes", "Machines", "text", tip="Run the same config on each machine"),
        Field("train.node_rank", "This machine's rank", "text", tip="0 .. machines - 1"),
        Field("train.rdzv_endpoint", "Node 0 address", "text",
              tip="HOST:PORT of node 0 and a free port, e.g. 10.0.0.1:29500"),
    )),
)


def display(value) -> str:
    """A config value as the form shows it (lists as ``256, 256``)."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def breakable(text: str) -> str:
    """``text`` with line-break chances inside its long words (a path, a long value):
    after each separator, and every ``LONG_WORD`` characters, so that it wraps
    instead of being cut off. Short words are left as they are."""
    return " ".join(_break_word(word) if len(word) > LONG_WORD else word
                    for word in text.split(" "))


def _break_word(word: str) -> str:
    for sep in ("/", "\\", "_", ".", ",", "=", ":", "-"):
        word = word.replace(sep, sep + ZERO_WIDTH_SPACE)
    pieces = word.split(ZERO_WIDTH_SPACE)
    return ZERO_WIDTH_SPACE.join(
        ZERO_WIDTH_SPACE.join(p[i:i + LONG_WORD] for i in range(0, len(p), LONG_WORD)) or p
        for p in pieces
    )


LONG_WORD = 24
ZERO_WIDTH_SPACE = "\u200b"


class ConfigForm(QScrollArea):
    runs_dir_changed = Signal(str)  # the user chose another runs folder

    def __init__(self, draft: DraftModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.editors: dict[str, QWidget] = {}
        self.error_labels: dict[str, QLabel] = {}
        self.tips: dict[str, str] = {}
        body = QWidget()
        column = QVBoxLayout(body)
        self.runs_dir = form_browse.RunsFolderField(self.runs_dir_changed.emit)
        for title, fields in SECTIONS:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            if title == "Run":
                form.addRow("Runs folder", self.runs_dir)
            for spec in fields:
                editor = self._make_editor(spec)
                error = QLabel()
                error.setStyleSheet(ERROR_STYLE)
                error.setWordWrap(True)
                error.setMinimumWidth(1)  # wraps at any width rather than widening the form
                error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
                error.hide()
                holder = QWidget()
                stack = QVBoxLayout(holder)
                stack.setContentsMargins(0, 0, 0, 0)
                stack.setSpacing(1)
                stack.addWidget(form_browse.with_browse(spec.key, editor, self))
                stack.addWidget(error)
                form.addRow(spec.label, holder)
                self.tips[spec.key] = spec.tip or spec.key
                editor.setToolTip(self.tips[spec.key])
                self.editors[spec.key] = editor
                self.error_labels[spec.key] = error
            column.addWidget(box)
        column.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setMinimumWidth(300)
        self.wheel_guard = WheelGuard(self)
        guard(body, self.wheel_guard)  # scrolling the form never changes a choice
        draft.loaded.connect(self._fill)
        draft.changed.connect(self._show_errors)
        self._fill()
        self._show_errors()

    # ------------------------------------------------------------ editors

    def _make_editor(self, spec: Field) -> QWidget:
        if spec.kind == "source":
            return SourcePicker(spec.key.partition(".")[0],
                                lambda text, key=spec.key: self.draft.set(key, text))
        if spec.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda on, key=spec.key: self.draft.set(key, bool(on)))
            return box
        if spec.kind in ("choice", "combo"):
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            if spec.kind == "combo":
                combo.setEditable(True)
                combo.currentTextChanged.connect(
                    lambda text, key=spec.key: self.draft.set(key, text.strip())
                )
            else:
                combo.currentTextChanged.connect(
                    lambda text, key=spec.key: self.draft.set(key, text)
                )
            return combo
        line = QLineEdit()
        # Engine coerces text ("0.01" → 0.01, "256, 256" → (256, 256)) and names bad input.
        line.textEdited.connect(lambda text, key=spec.key: self.draft.set(key, text.strip()))
        return line

    def _fill(self) -> None:
        for key, editor in self.editors.items():
            value = self.draft.values.get(key)
            editor.blockSignals(True)
            if isinstance(editor, SourcePicker):
                editor.set_spec(str(value or ""))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                text = display(value)
                if editor.findText(text) < 0:
                    editor.addItem(text)
                editor.setCurrentText(text)
            else:
                editor.setText(display(value))
            editor.blockSignals(False)
        self._show_errors()

    def _show_errors(self) -> None:
        name, config = self.editors.get("name"), self.draft.config
        if isinstance(name, QLineEdit) and config is not None and not name.hasFocus():
            name.setText(config.name)  # an automatic name follows the config (digits-sgd-lr5)
        for key, label in self.error_labels.items():
            message = self.draft.errors.get(key, "")
            label.setText(breakable(message))
            label.setToolTip(message)
            label.setVisible(bool(message))
            self.editors[key].setStyleSheet(ERROR_BORDER if message else "")
        self._show_applicable()

    def _show_applicable(self) -> None:
        """Fields the other values make moot are greyed out, their tooltip says why."""
        moot = inapplicable(self.draft.values)
        for key, editor in self.editors.items():
            why = moot.get(key)
            editor.setEnabled(why is None)
            editor.setToolTip(f"{self.tips[key]}\n({why})" if why else self.tips[key])

    def set_runs_dir(self, path: str) -> None:
        """Show the runs folder (the window's); no signal."""
        self.runs_dir.set_path(path)

    def set_dataset(self, spec: str) -> None:
        """A dataset chosen with Browse (``csv:/data/my.csv``): shown and validated."""
        combo = self.editors["data.dataset"]
        if combo.findText(spec) < 0:
            combo.addItem(spec)
        combo.setCurrentText(spec)  # its signal sets the draft
