"""Driven by test_e2e_xvfb.py on a real X server: the fix loop, clicked through the UI.

Start the app, fill the form (SGD, learning rate far too high), press Start, wait
for the divergence finding, click it, click "Apply fix" on the learning-rate remedy,
wait for the child run, save a screenshot, print one JSON line with what happened.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app = QApplication([])
    from traindoc.gui.main_window import MainWindow

    settings = QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(logdir=out / "runs", settings=settings, lazy=True)
    window.show()
    app.processEvents()
    window.build_heavy()

    def wait(predicate, timeout=120.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError
            app.processEvents()
            time.sleep(0.01)

    def type_into(key: str, text: str) -> None:
        editor = window.form.editors[key]
        editor.setFocus()
        QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(editor, text)

    def click(widget, pos: QPoint | None = None) -> None:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         pos or widget.rect().center())

    window.form.editors["optim.name"].setCurrentText("sgd")
    window.form.editors["schedule.kind"].setCurrentText("constant")
    type_into("optim.lr", "5")
    type_into("train.epochs", "2")
    click(window.start_button)
    parent_id = window.model.state.current
    wait(lambda: parent_id not in window.runs.drivers)
    parent = window.model.run(parent_id)
    rules = sorted(parent.diagnosis.rules) if parent.diagnosis else []

    findings = window.findings
    row = [f.rule for f in findings._findings].index("divergence")
    item = findings.list.item(row)
    click(findings.list.viewport(), findings.list.visualItemRect(item).center())
    highlight = window.model.state.highlight
    button = findings.fix_button("lower-lr")
    click(button)
    child_id = window.model.state.current
    wait(lambda: child_id != parent_id and child_id not in window.runs.drivers)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    child = window.model.run(child_id)
    shot = out / "window.png"
    window.screen().grabWindow(window.winId()).save(str(shot))
    print(json.dumps({
        "platform": app.platformName(),
        "parent_status": parent.status,
        "parent_rules": rules,
        "highlight": list(highlight) if highlight else None,
        "child_name": child.config.name,
        "child_lr": child.config.optim.lr,
        "child_status": child.status,
        "child_rules": sorted(child.diagnosis.rules) if child.diagnosis else None,
        "verdict": child.verdict.text() if child.verdict else None,
        "resolved": child.verdict.resolved if child.verdict else None,
        "overlaid": sorted(window.model.visible_runs()) == sorted([parent_id, child_id]),
        "screenshot": str(shot),
    }), flush=True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
