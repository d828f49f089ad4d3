"""The GUI process never imports torch, and closing the window leaves no child process.

Both run in a fresh interpreter (the test process itself may have imported torch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

app = QApplication([])
QMessageBox.question = lambda *a: QMessageBox.StandardButton.Yes  # the user confirms quitting
from traindoc.gui.main_window import MainWindow

logdir = sys.argv[1]
settings = QSettings(logdir + "/s.ini", QSettings.Format.IniFormat)
window = MainWindow(logdir=logdir, settings=settings)
window.show()

def wait(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.01)

window.draft.set("train.epochs", 1)
first = window.start_run()
wait(lambda: first not in window.runs.drivers)
status = window.model.run(first).status
window.draft.set("train.epochs", 1000)
second = window.start_run()
wait(lambda: "pid" in window.model.run(second).info)
pid = window.model.run(second).info["pid"]
window.close()
print(json.dumps({
    "status": status,
    "torch": "torch" in sys.modules,
    "pid": pid,
    "alive_after_close": os.path.exists(f"/proc/{pid}"),
    "second": window.model.run(second).status,
}))
"""


def test_whole_run_from_the_gui_without_torch_and_no_orphan_on_close(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=240,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished"
    assert result["torch"] is False  # a whole run launched from the GUI, torch only in the child
    assert result["alive_after_close"] is False
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{result['pid']}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{result['pid']}")


def test_startup_imports_neither_torch_nor_the_heavy_parts_before_show():
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from traindoc.gui.main_window import MainWindow\n"
        "HEAVY = ('pyqtgraph', 'torch', 'traindoc.diagnostics.registry')\n"
        "w = MainWindow(lazy=True); w.show(); app.processEvents()\n"
        "before = {m for m in HEAVY if m in sys.modules}\n"
        "w.build_heavy()\n"
        "after = {m for m in HEAVY if m in sys.modules}\n"
        "import json; print(json.dumps([sorted(before), sorted(after)]))\n"
        "w.shutdown(); os._exit(0)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == []  # nothing heavy before the window shows
    assert after == ["pyqtgraph", "traindoc.diagnostics.registry"]  # and never torch
