"""Chart options: the EMA smoothing slider (TensorBoard's), the log-scale toggle (every
chart whose values are positive) and the x axis (step, relative or wall time)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from traindoc.gui.core.state import X_AXES
from traindoc.gui.model import AppModel

SLIDER_STEPS = 100  # weight resolution 0.01, like TensorBoard's slider
MAX_WEIGHT = 0.99
X_AXIS_NAMES = {"step": "Step", "relative": "Relative time", "wall": "Wall time"}


class ChartControls(QWidget):
    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(MAX_WEIGHT * SLIDER_STEPS))
        self.slider.setToolTip("Exponential moving average, as in TensorBoard (0 = raw)")
        self.slider.setMaximumWidth(220)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(36)
        self.log_y = QCheckBox("Log scale")
        self.log_y.setToolTip("Log y axis on every chart whose values are all positive")
        self.x_axis = QComboBox()
        for mode in X_AXES:
            self.x_axis.addItem(X_AXIS_NAMES[mode], mode)
        self.x_axis.setToolTip("Horizontal axis: training step, time since the run's "
                               "first point, or clock time")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Smoothing"))
        layout.addWidget(self.slider)
        layout.addWidget(self.value_label)
        layout.addSpacing(16)
        layout.addWidget(self.log_y)
        layout.addSpacing(16)
        layout.addWidget(QLabel("X axis"))
        layout.addWidget(self.x_axis)
        layout.addStretch(1)

        self._show(model.state.smoothing)
        self.log_y.setChecked(model.state.log_y)
        self.x_axis.setCurrentIndex(X_AXES.index(model.state.x_axis))
        self.x_axis.currentIndexChanged.connect(lambda i: model.set_x_axis(X_AXES[i]))
        model.x_axis_changed.connect(lambda mode: self.x_axis.setCurrentIndex(X_AXES.index(mode)))
        self.slider.valueChanged.connect(lambda v: model.set_smoothing(v / SLIDER_STEPS))
        self.log_y.toggled.connect(model.set_log_y)
        model.smoothing_changed.connect(self._show)
        model.log_y_changed.connect(self.log_y.setChecked)

    def _show(self, weight: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(weight * SLIDER_STEPS))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{weight:.2f}")
