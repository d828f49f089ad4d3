"""What the app remembers between sessions (QSettings): the New-run form, the chart
options (smoothing, log scale, x-axis), the window's geometry and dock layout, and the
runs folder, whose runs the app opens again at start.

:func:`save` runs when the window closes; the ``restore_*`` functions when it opens
(the layout once every dock exists). A missing or damaged value keeps the default.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.gui.config_draft import DraftModel
from traindoc.gui.model import AppModel

log = logging.getLogger(__name__)

FORM = "form/config"  # the form's last valid config, as TOML
SMOOTHING, LOG_Y, X_AXIS = "charts/smoothing", "charts/log_y", "charts/x_axis"
GEOMETRY, LAYOUT = "window/geometry", "window/state"
RUNS_DIR = "runs_dir"
LAYOUT_VERSION = 1  # raise when the docks change: an old layout is then ignored
MAX_OWN_RUNS = 20  # the most recent runs of the runs folder opened at start


def save(window: QMainWindow, settings: QSettings) -> None:
    """Everything remembered, from the window's ``draft``, ``model`` and ``logdir``."""
    if window.draft.valid:
        settings.setValue(FORM, config_module.dumps(window.draft.config))
    state = window.model.state
    settings.setValue(SMOOTHING, float(state.smoothing))
    settings.setValue(LOG_Y, bool(state.log_y))
    settings.setValue(X_AXIS, state.x_axis)
    settings.setValue(GEOMETRY, window.saveGeometry())
    if getattr(window, "heavy_built", True):  # the docks exist: their layout is real
        settings.setValue(LAYOUT, window.saveState(LAYOUT_VERSION))
    settings.setValue(RUNS_DIR, str(window.logdir))
    settings.sync()


def restore_form(draft: DraftModel, settings: QSettings) -> bool:
    """The form's last values; False when none were saved or they no longer validate."""
    text = settings.value(FORM, "")
    if not text:
        return False
    try:
        draft.load(config_module.loads(str(text), source="remembered form"))
    except (config_module.ConfigError, ValueError, TypeError) as exc:
        log.info("remembered form values not used: %s", exc)
        return False
    return True


def restore_chart_options(model: AppModel, settings: QSettings) -> None:
    with contextlib.suppress(TypeError, ValueError):  # a damaged value: the default
        model.set_smoothing(float(settings.value(SMOOTHING, model.state.smoothing)))
    model.set_log_y(_bool(settings.value(LOG_Y, model.state.log_y)))
    model.set_x_axis(str(settings.value(X_AXIS, model.state.x_axis)))


def restore_geometry(window: QMainWindow, settings: QSettings) -> bool:
    value = settings.value(GEOMETRY)
    return isinstance(value, QByteArray | bytes) and window.restoreGeometry(value)


def restore_layout(window: QMainWindow, settings: QSettings) -> bool:
    """Docks where the user left them (after every dock was created)."""
    value = settings.value(LAYOUT)
    return isinstance(value, QByteArray | bytes) and window.restoreState(value, LAYOUT_VERSION)


def runs_dir(settings: QSettings, default: str = "runs") -> Path:
    return Path(str(settings.value(RUNS_DIR, default) or default)).expanduser()


def own_runs(folder: Path, limit: int = MAX_OWN_RUNS) -> list[Path]:
    """The runs folder's run folders (with a ``status.json``), the newest ``limit``,
    oldest first (a fix's parent before the fix)."""
    try:
        entries = [Path(e.path) for e in os.scandir(folder) if e.is_dir()]
    except OSError:
        return []
    runs = [p for p in entries if (p / rundir.STATUS_FILE).is_file()]
    runs.sort(key=lambda p: (p / rundir.STATUS_FILE).stat().st_mtime)
    return runs[-limit:]


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
