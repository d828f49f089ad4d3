"""The Help menu: About, reading the findings, Open run folder, Open in TensorBoard.

TensorBoard runs as its own process on the current run's folder (``tensorboard
--logdir FOLDER --port PORT``) and the browser opens on it once it has had time to
start; the window ends these processes when it closes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMainWindow, QMessageBox

from traindoc.gui.core import help_text

MainWindow = QMainWindow  # traindoc.gui.main_window.MainWindow, not imported (no cycle)
start_process = subprocess.Popen  # tests replace it
BROWSER_DELAY_MS = 4000  # TensorBoard takes a few seconds to serve its first page


def build(w: MainWindow) -> None:
    menu = w.menuBar().addMenu("&Help")
    w.tensorboards = []  # TensorBoard processes started from this window
    for text, slot in (
        ("&Reading the findings", show_guide),
        ("Open run &folder", open_run_folder),
        ("Open in &TensorBoard", open_tensorboard),
        (None, None),
        ("&About traindoc", show_about),
    ):
        if text is None:
            menu.addSeparator()
            continue
        action = QAction(text, w)
        action.triggered.connect(lambda _on=False, s=slot: s(w))
        menu.addAction(action)
    w.help_menu = menu


def run_folder(w: MainWindow) -> Path | None:
    """The current run's folder (a launched run's, or the log folder opened)."""
    run = w.model.current
    if run is None:
        return None
    if run.run_dir is not None:
        return Path(run.run_dir)
    return Path(run.source) if run.source else None


def show_about(w: MainWindow) -> str:
    import PySide6

    devices = [str(r.info["device"]) for r in w.model.runs() if r.info.get("device")]
    text = help_text.about_text(qt=qVersion(), pyside=PySide6.__version__,
                                device=help_text.device_text(devices))
    QMessageBox.about(w, "About traindoc", text)
    return text


def show_guide(w: MainWindow) -> None:
    QMessageBox.information(w, "Reading the findings", help_text.FINDINGS_GUIDE)


def open_run_folder(w: MainWindow) -> Path | None:
    folder = run_folder(w)
    if folder is None:
        QMessageBox.information(w, "traindoc", "Select a run first.")
        return None
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
    return folder


def open_tensorboard(w: MainWindow) -> str | None:
    """Start TensorBoard on the current run's folder and open the browser on it;
    returns its address, or None (no run, or TensorBoard not installed: says how)."""
    folder = run_folder(w)
    if folder is None:
        QMessageBox.information(w, "traindoc", "Select a run first.")
        return None
    command = shutil.which("tensorboard")
    if command is None:
        QMessageBox.information(w, "Open in TensorBoard",
                                help_text.tensorboard_missing(str(folder)))
        return None
    port = _free_port()
    w.tensorboards.append(start_process(
        [command, "--logdir", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ))
    url = f"http://localhost:{port}/"
    w.model.message.emit(f"TensorBoard on {folder.name}: {url}")
    QTimer.singleShot(BROWSER_DELAY_MS, lambda: QDesktopServices.openUrl(QUrl(url)))
    return url


def stop_tensorboards(w: MainWindow) -> None:
    """End the TensorBoard processes this window started (window closing)."""
    for process in getattr(w, "tensorboards", []):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
    w.tensorboards = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
