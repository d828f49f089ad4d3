"""Menus and toolbar of the main window, and the file and finder actions they open.

Each action calls a window method or acts through the window's models (``model``,
``draft``) and controllers (``logs``); it never reaches into a sibling view. ``w``
is the :class:`traindoc.gui.main_window.MainWindow`, which builds its menus here:
typed as a plain ``QMainWindow`` so that this module does not import it (no cycle).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

MainWindow = QMainWindow  # traindoc.gui.main_window.MainWindow, not imported (see above)


def build(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    w.open_action = _action(w, file_menu, "&Open log directory…", w.open_logs_dialog,
                            QKeySequence.StandardKey.Open)
    w.recent_menu = file_menu.addMenu("Open &recent")
    fill_recent(w)
    file_menu.addSeparator()
    _action(w, file_menu, "&Load config…", partial(load_config, w))
    _action(w, file_menu, "&Save config…", partial(save_config, w))
    file_menu.addSeparator()
    export = file_menu.addMenu("&Export")
    _action(w, export, "Charts to &PNG…", partial(export_png, w))
    _action(w, export, "Scalars to &CSV…", partial(export_csv, w))
    _action(w, export, "Diagnosis &report (Markdown)…", partial(export_report, w))
    file_menu.addSeparator()
    _action(w, file_menu, "&Quit", w.close, QKeySequence.StandardKey.Quit)

    run_menu = bar.addMenu("&Run")
    w.start_action = _action(w, run_menu, "&Start", w.start_run, "Ctrl+R")
    w.stop_action = _action(w, run_menu, "S&top", w.stop_run, "Ctrl+.")
    w.repair_action = _action(w, run_menu, "Fix until &healthy…", partial(fix_until_healthy, w))
    w.repair_action.setToolTip("Apply the remedies one after another, re-training each "
                               "time, until the run is healthy")
    run_menu.addSeparator()
    w.compare_action = _action(
        w, run_menu, "Compare &optimizers (SGD, Momentum, Adam, AdamW)", w.queue_comparison
    )
    run_menu.addSeparator()
    _action(w, run_menu, "&LR range test…", partial(lr_find, w))
    _action(w, run_menu, "&Batch-size finder…", partial(batch_find, w))
    run_menu.addSeparator()
    w.run_script_action = _action(w, run_menu, "Run a &script…", partial(run_script, w))

    logs_menu = bar.addMenu("&Logs")
    w.roles_action = _action(w, logs_menu, "Assign tag &roles…", partial(edit_roles, w))

    w.view_menu = bar.addMenu("&View")

    tools = w.addToolBar("Main")
    tools.setObjectName("main toolbar")
    tools.addActions([w.start_action, w.stop_action, w.open_action, w.compare_action])


def _action(w, menu, text, slot, shortcut=None) -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def fill_recent(w: MainWindow) -> None:
    w.recent_menu.clear()
    paths = w.recent_paths()
    for path in paths:
        _action(w, w.recent_menu, path, partial(w.open_logs, path))
    w.recent_menu.setEnabled(bool(paths))


# ---------------------------------------------------------------- file actions


def load_config(w: MainWindow) -> None:
    from traindoc.engine import config as config_module

    path, _ = QFileDialog.getOpenFileName(w, "Load config", "", "TOML (*.toml)")
    if not path:
        return
    try:
        w.draft.load(config_module.load(path))
    except config_module.ConfigError as exc:
        QMessageBox.warning(w, "traindoc", str(exc))


def save_config(w: MainWindow) -> None:
    from traindoc.engine import config as config_module

    if not w.draft.valid:
        QMessageBox.warning(w, "traindoc", "Fix the fields marked in red first.")
        return
    path, _ = QFileDialog.getSaveFileName(w, "Save config", "config.toml", "TOML (*.toml)")
    if path:
        config_module.save(w.draft.config, path)


def export_png(w: MainWindow) -> None:
    from traindoc.gui import export

    path, _ = QFileDialog.getSaveFileName(w, "Export charts", "charts.png", "PNG (*.png)")
    if path:
        export.charts_png(w.charts, path)
        w.model.message.emit(f"charts saved to {path}")


def export_csv(w: MainWindow) -> None:
    from traindoc.gui import export

    path, _ = QFileDialog.getSaveFileName(w, "Export scalars", "scalars.csv", "CSV (*.csv)")
    if path:
        rows = export.scalars_csv(w.model, w.model.visible_runs(), path)
        w.model.message.emit(f"{rows} points saved to {path}")


def export_report(w: MainWindow) -> None:
    from traindoc.gui import export

    path, _ = QFileDialog.getSaveFileName(w, "Export report", "report.md", "Markdown (*.md)")
    if path:
        export.report_markdown(w.model, w.charts, w.model.visible_runs(), path)
        w.model.message.emit(f"report saved to {path}")


def edit_roles(w: MainWindow) -> None:
    from traindoc.gui.dialogs.role_override import RoleOverrideDialog

    run = w.model.current
    if run is None or not run.tags:
        QMessageBox.information(w, "traindoc", "Select a run with logged scalars first.")
        return
    dialog = RoleOverrideDialog(run, w.logs.candidates(run.id), parent=w)
    if dialog.exec():
        w.logs.set_overrides(run.id, dialog.overrides())


def _form_config(w: MainWindow):
    if not w.draft.valid:
        QMessageBox.warning(w, "traindoc", "Fix the fields marked in red first.")
        return None
    return w.draft.config


def lr_find(w: MainWindow) -> None:
    from traindoc.gui.dialogs.lr_find import LrFindDialog

    config = _form_config(w)
    if config is None:
        return
    dialog = LrFindDialog(config, pump=w.pump, parent=w)
    dialog.lr_chosen.connect(lambda lr: w.draft.apply({"optim.lr": lr}))
    dialog.open()


def batch_find(w: MainWindow) -> None:
    from traindoc.gui.dialogs.batch_find import BatchFindDialog

    config = _form_config(w)
    if config is None:
        return
    dialog = BatchFindDialog(config, pump=w.pump, parent=w)
    dialog.patch_chosen.connect(w.draft.apply)
    dialog.open()


def fix_until_healthy(w: MainWindow):
    """Start the repair loop on the current run and show its window; None when the
    run cannot be repaired (the reason is shown)."""
    from traindoc.gui.dialogs.repair_dialog import RepairDialog
    from traindoc.gui.repair_runs import RepairController

    run = w.model.current
    if w.repairs is None:
        w.repairs = RepairController(w, parent=w)
        w.repairs.changed.connect(w._update_actions)
    try:
        w.repairs.start(run.id if run is not None else None)
    except ValueError as exc:
        QMessageBox.information(w, "Fix until healthy", f"Cannot start: {exc}.")
        return None
    w._update_actions()
    dialog = RepairDialog(w.repairs, parent=w)
    dialog.show()
    return dialog


def run_script(w: MainWindow):
    """Open the "Run a script…" dialog; Start launches the script and opens its logs."""
    from traindoc.gui.dialogs.run_script import RunScriptDialog

    dialog = RunScriptDialog(w.logdir, parent=w)
    dialog.spec_chosen.connect(partial(start_script, w))
    dialog.open()
    return dialog


def start_script(w: MainWindow, spec) -> None:
    from traindoc.engine.errors import UserError
    from traindoc.gui.script_runs import ScriptRunController

    if w.script_runs is None:
        w.script_runs = ScriptRunController(w, parent=w)
    try:
        w.script_runs.start(spec)
    except UserError as exc:
        QMessageBox.warning(w, "traindoc", str(exc))
