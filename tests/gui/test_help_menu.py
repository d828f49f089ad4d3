"""Help menu: About (versions without importing torch), the findings guide, Open run
folder, Open in TensorBoard (started on the run's folder, or how to install it)."""

from __future__ import annotations

import sys

from PySide6.QtCore import qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from traindoc.engine.events import RUNNING
from traindoc.gui import help_menu
from traindoc.gui.core import help_text


def shown(monkeypatch):
    """Captures what message boxes say instead of showing them."""
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: said.append(text))
    monkeypatch.setattr(QMessageBox, "information",
                        lambda parent, title, text, *a: said.append(text))
    return said


def test_help_menu_lists_its_actions(window):
    texts = [a.text().replace("&", "") for a in window.help_menu.actions() if a.text()]
    assert texts == ["Reading the findings", "Open run folder", "Open in TensorBoard",
                     "About traindoc"]
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus[-1] == "Help"


def test_about_names_versions_and_device_without_importing_torch(window, monkeypatch):
    said = shown(monkeypatch)
    torch_loaded = "torch" in sys.modules
    window.model.add_run("r", "launched", RUNNING, info={"device": "cuda:0"})
    text = help_menu.show_about(window)
    assert said == [text]
    lines = text.splitlines()
    assert lines[0] == f"traindoc {help_text.package_version('traindoc')}"
    assert f"torch {help_text.package_version('torch')}" in text
    assert help_text.package_version("torch")[0].isdigit()
    assert f"Qt {qVersion()}" in text and "Device: cuda:0" in text
    assert ("torch" in sys.modules) == torch_loaded
    assert help_text.package_version("no-such-package-xyz") == "not installed"


def test_findings_guide_explains_severity_confidence_and_remedies(window, monkeypatch):
    said = shown(monkeypatch)
    help_menu.show_guide(window)
    assert "✖ error" in said[0] and "ℹ note" in said[0] and "Confidence" in said[0]
    assert "Apply fix" in said[0]


def test_open_run_folder_opens_the_current_runs_folder(window, monkeypatch, tmp_path):
    said = shown(monkeypatch)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert help_menu.open_run_folder(window) is None and said == ["Select a run first."]
    window.model.add_run("r", "launched", RUNNING, run_dir=tmp_path / "r1")
    assert help_menu.open_run_folder(window) == tmp_path / "r1"
    assert opened[0].toLocalFile() == str(tmp_path / "r1")


def test_tensorboard_missing_says_how_to_install(window, monkeypatch, tmp_path):
    said = shown(monkeypatch)
    monkeypatch.setattr(help_menu.shutil, "which", lambda name: None)
    window.model.add_run("r", "log", "finished", run_dir=tmp_path / "r1")
    assert help_menu.open_tensorboard(window) is None
    assert "pip install tensorboard" in said[0]
    assert f"tensorboard --logdir {tmp_path / 'r1'}" in said[0]


class FakeProcess:
    def __init__(self, args, **kw) -> None:
        self.args = args
        self.terminated = False

    def poll(self):
        return 0 if self.terminated else None

    def terminate(self) -> None:
        self.terminated = True

    def wait(self, timeout=None) -> int:
        return 0


def test_tensorboard_runs_on_the_run_folder_and_opens_the_browser(qtbot, window, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setattr(help_menu.shutil, "which", lambda name: "/usr/bin/tensorboard")
    monkeypatch.setattr(help_menu, "start_process", FakeProcess)
    monkeypatch.setattr(help_menu, "BROWSER_DELAY_MS", 1)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.model.add_run("r", "launched", "finished", run_dir=tmp_path / "r1")
    url = help_menu.open_tensorboard(window)
    process = window.tensorboards[0]
    assert process.args[:3] == ["/usr/bin/tensorboard", "--logdir", str(tmp_path / "r1")]
    assert url == f"http://localhost:{process.args[4]}/"
    qtbot.waitUntil(lambda: bool(opened))
    assert opened[0].toString() == url
    window.shutdown()  # closing the window ends TensorBoard too
    assert process.terminated and window.tensorboards == []
