"""The main window: composes the docks, menus and controllers; no logic of its own."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from traindoc.gui import long_lived, session
from traindoc.gui.config_draft import DraftModel
from traindoc.gui.core.lineage import repair_blocker
from traindoc.gui.model import AppModel
from traindoc.gui.pump import Pump
from traindoc.gui.widgets.config_form import ConfigForm
from traindoc.gui.widgets.run_list import RunList

log = logging.getLogger(__name__)

MAX_RECENT = 10
DEFAULT_SIZE = (1440, 900)


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        logdir: str | Path | None = None,
        settings: QSettings | None = None,
        lazy: bool = False,
    ) -> None:
        super().__init__()
        self.setWindowTitle("traindoc")
        self.resize(*DEFAULT_SIZE)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.logdir = Path(logdir or session.runs_dir(self.settings))
        session.restore_geometry(self, self.settings)
        self.model = AppModel(self)
        session.restore_chart_options(self.model, self.settings)
        self.draft = DraftModel(parent=self)
        session.restore_form(self.draft, self.settings)
        self.pump = Pump(self.model, parent=self)
        self.runs = None  # traindoc.gui.launch.RunController, built with the heavy parts
        self.logs = None  # traindoc.gui.logs.LogController
        self.script_runs = None  # traindoc.gui.script_runs.ScriptRunController
        self.repairs = None  # traindoc.gui.repair_runs.RepairController ("Fix until healthy")
        self.charts = None
        self.findings = None
        self._pending_paths: list[str] = []

        self.run_list = RunList(self.model)
        self.form = ConfigForm(self.draft)
        self.form.set_runs_dir(str(self.logdir))
        self.form.runs_dir_changed.connect(self.set_logdir)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start_run)
        form_box = QWidget()
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(self.form, 1)
        form_layout.addWidget(self.start_button)
        runs_box = self.run_list.panel()  # the filter box above the run list
        self.runs_dock = self._dock("Runs", runs_box, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.form_dock = self._dock("New run", form_box, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.central = QWidget()
        self.central_layout = QVBoxLayout(self.central)
        self.central_layout.setContentsMargins(2, 2, 2, 2)
        self.setCentralWidget(self.central)
        self.statusBar().showMessage("Ready")
        self.model.message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.draft.changed.connect(self._update_actions)
        self.model.current_changed.connect(lambda _id: self._update_actions())
        self.model.run_changed.connect(lambda _id: self._update_actions())
        self.model.diagnosis_changed.connect(lambda _id: self._update_actions())
        self._build_menus()
        self._update_actions()
        self.heavy_built = False
        if not lazy:  # lazy: the caller builds them once the window has painted
            self.build_heavy()

    # ------------------------------------------------------------ composition

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def build_heavy(self) -> None:
        """Charts, findings and controllers: pyqtgraph and diagnostics load here, after show."""
        if self.heavy_built:
            return
        self.heavy_built = True
        from traindoc.gui.dock_space import CompareSwitch, FindingsBox, side_widths
        from traindoc.gui.launch import RunController
        from traindoc.gui.logs import LogController
        from traindoc.gui.progress_status import ProgressStatus
        from traindoc.gui.relink import Relinker
        from traindoc.gui.widgets.chart_controls import ChartControls
        from traindoc.gui.widgets.charts import ChartPanel
        from traindoc.gui.widgets.compare_table import CompareTable
        from traindoc.gui.widgets.findings_panel import FindingsPanel
        from traindoc.gui.widgets.run_details import RunDetails

        self.runs = RunController(self.model, self.pump, self.logdir, parent=self)
        self.progress = ProgressStatus(self.model, self.statusBar(),
                                       stopping=lambda: self.runs.stopping)
        self.logs = LogController(self.model, self.pump)
        self.relinker = Relinker(self.model, parent=self)  # fixes nest under late parents
        self.controls = ChartControls(self.model)
        self.charts = ChartPanel(self.model)
        self.central_layout.addWidget(self.controls)
        self.central_layout.addWidget(self.charts, 1)
        self.findings = FindingsPanel(self.model)
        self.findings.apply_fix_requested.connect(self.apply_fix)
        self.details = RunDetails(self.model)
        self.details.use_config_requested.connect(self.draft.load)
        self.compare = CompareTable(self.model)
        self.findings_box = FindingsBox(self.model, self.findings)
        self.findings_dock = self._dock("Findings", self.findings_box,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.details_dock = self._dock("Run details", self.details,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.findings_dock, self.details_dock)
        self.findings_dock.raise_()
        self.compare_dock = self._dock("Compare", self.compare,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.runs_dock, self.findings_dock], list(side_widths(self.width())),
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.compare_dock], [170], Qt.Orientation.Vertical)
        session.restore_layout(self, self.settings)  # docks where the user left them
        self.compare_switch = CompareSwitch(self.model, self.compare_dock)
        self.view_menu.addActions([d.toggleViewAction() for d in (
            self.runs_dock, self.form_dock, self.findings_dock, self.details_dock,
            self.compare_dock)])
        self.model.run_changed.connect(self._show_failure)
        self.open_own_runs()
        for path in self._pending_paths:
            self.open_logs(path)
        self._pending_paths.clear()
        self._update_actions()
        long_lived.freeze_startup()  # out of the collector's full passes (UI stalls)

    def _build_menus(self) -> None:
        from traindoc.gui import help_menu, menus

        menus.build(self)
        help_menu.build(self)

    # ------------------------------------------------------------ actions

    def start_run(self) -> str | None:
        if not self.draft.valid:
            QMessageBox.warning(self, "traindoc", "Fix the fields marked in red first.")
            return None
        self.build_heavy()
        run_id = self.runs.start(self.draft.config)
        self.model.set_current(run_id)
        return run_id

    def set_logdir(self, path: str | Path) -> None:
        """Where new runs go (the form's Runs folder); remembered for the next session."""
        self.logdir = Path(path).expanduser()
        if self.runs is not None:
            self.runs.logdir = self.logdir
        self.settings.setValue(session.RUNS_DIR, str(self.logdir))
        self.model.message.emit(f"new runs go to {self.logdir}")

    def stop_run(self) -> None:
        run = self.model.current
        if run is not None and self.script_runs is not None and self.script_runs.stop(run.id):
            return
        if run is not None and self.runs is not None:
            self.runs.stop(run.id)

    def apply_fix(self, run_id: str, finding, remedy) -> str | None:
        scripts = self.script_runs
        runs = scripts if scripts is not None and scripts.script_of(run_id) else self.runs
        try:
            return runs.apply_fix(run_id, finding, remedy)
        except (ValueError, OSError) as exc:  # ConfigError is a ValueError
            QMessageBox.warning(self, "traindoc", f"Cannot apply {remedy.id}: {exc}")
            return None

    def queue_comparison(self, *, epochs: int | None = None) -> list[str]:
        from traindoc.gui.core.presets import find_mnist, optimizer_comparison

        self.build_heavy()
        mnist = find_mnist([self.settings.value("mnist_dir", "")] if
                           self.settings.value("mnist_dir", "") else [])
        configs = optimizer_comparison(mnist, epochs=epochs)
        ids = self.runs.queue(configs)
        self.model.set_checked_runs(ids)
        self.model.set_current(ids[0])
        where = f"MNIST ({mnist})" if mnist else "the bundled digits (no local MNIST found)"
        self.model.message.emit(f"queued SGD, Momentum, Adam and AdamW on {where}")
        return ids

    def open_logs(self, path: str | Path) -> None:
        if not self.heavy_built:
            self._pending_paths.append(str(path))
            return
        try:
            self.logs.open(path)
        except FileNotFoundError as exc:
            QMessageBox.warning(self, "traindoc", str(exc))
            return
        self._remember(str(Path(path).expanduser().resolve()))
        self.model.message.emit(f"reading {path}…")

    def open_own_runs(self) -> int:
        """The runs folder's latest runs, shown again (not added to the recent list)."""
        opened = 0
        for path in session.own_runs(self.logdir):
            try:
                self.logs.open(path)
                opened += 1
            except FileNotFoundError as exc:
                log.info("not reopened: %s", exc)
        return opened

    def open_logs_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open log directory")
        if path:
            self.open_logs(path)

    def recent_paths(self) -> list[str]:
        value = self.settings.value("recent_logs", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, path: str) -> None:
        recent = [p for p in self.recent_paths() if p != path]
        self.settings.setValue("recent_logs", [path, *recent][:MAX_RECENT])
        self.settings.sync()
        self.refresh_recent_menu()

    def refresh_recent_menu(self) -> None:
        from traindoc.gui import menus

        menus.fill_recent(self)

    def _update_actions(self) -> None:
        run = self.model.current
        self.start_button.setEnabled(self.draft.valid)
        self.start_action.setEnabled(self.draft.valid)
        self.stop_action.setEnabled(run is not None and (
            (run.active and run.kind == "launched")
            or (self.script_runs is not None and self.script_runs.running(run.id))))
        busy = self.repairs is not None and self.repairs.running
        self.repair_action.setEnabled(repair_blocker(run, running=busy) is None)

    def _show_failure(self, run_id: str) -> None:
        run = self.model.run(run_id)
        if run is not None and run_id == self.model.state.current and run.traceback:
            self.details_dock.raise_()

    # ------------------------------------------------------------ drag and drop, close

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_logs(url.toLocalFile())
        event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if not self.confirm_close():
            event.ignore()  # Cancel: every run keeps going
            return
        session.save(self, self.settings)
        self.shutdown()
        super().closeEvent(event)

    def confirm_close(self) -> bool:
        """True when closing loses nothing or the user agreed to stop the runs."""
        from traindoc.gui.core.close_prompt import close_question

        if self.runs is None:
            return True
        names = [[run.name for run in map(self.model.run, ids) if run is not None]
                 for ids in (list(self.runs.drivers), list(self.runs.pending))]
        if self.script_runs is not None:
            names[0] += self.script_runs.running_names()
        question = close_question(*names)
        if question is None:
            return True
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        answer = QMessageBox.question(self, "Quit traindoc", question, buttons,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        """End every child process and follower thread (window closing)."""
        from traindoc.gui import help_menu

        self.pump.stop()
        help_menu.stop_tensorboards(self)
        if self.repairs is not None:
            self.repairs.close()
        if self.runs is not None:
            self.runs.close_all()
        if self.script_runs is not None:
            self.script_runs.close_all()
        if self.logs is not None:
            self.logs.close_all()
