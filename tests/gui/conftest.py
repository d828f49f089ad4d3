"""GUI tests run offscreen; the platform must be chosen before Qt is imported."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import pytest


@pytest.fixture
def model(qtbot):
    from traindoc.gui.model import AppModel

    return AppModel()


@pytest.fixture
def settings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, tmp_path, settings):
    from traindoc.gui.main_window import MainWindow

    w = MainWindow(logdir=tmp_path / "runs", settings=settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.shutdown()


def add_run(model, name="run", *, roles=None, points=None, kind="log", status="finished", **kw):
    """A run with ``points[tag] = (steps, values)`` and ``roles[role] = tag``."""
    run = model.add_run(name, kind, status, roles=dict(roles or {}), **kw)
    for tag, (steps, values) in (points or {}).items():
        model.append_points(run.id, tag, np.asarray(steps), np.asarray(values, dtype=float))
    return run


@pytest.fixture
def panel(qtbot, model):
    """The chart panel (both tabs) on its own, 900 x 600."""
    from traindoc.gui.widgets.charts import ChartPanel

    widget = ChartPanel(model)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


@pytest.fixture
def form(qtbot):
    """The New-run form over a fresh draft, shown."""
    from traindoc.gui.config_draft import DraftModel
    from traindoc.gui.widgets.config_form import ConfigForm

    widget = ConfigForm(DraftModel())
    qtbot.addWidget(widget)
    widget.show()
    return widget
