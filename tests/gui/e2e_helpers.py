"""What the Xvfb end-to-end drivers (``e2e_*.py``, run by test_e2e_xvfb.py) share: the
window opened as a user opens it, waiting while events are processed, real clicks and
typing, and one JSON line with what happened."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def open_window(out: Path) -> tuple[QApplication, Any]:
    """The app and its main window, shown, with settings kept in ``out``."""
    app = QApplication([])
    from traindoc.gui.main_window import MainWindow

    settings = QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(logdir=out / "runs", settings=settings, lazy=True)
    window.show()
    app.processEvents()
    return app, window


def wait(app, predicate, timeout=150.0) -> None:
    """Process events until ``predicate()`` holds; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.01)


def settle(app, rounds: int = 20) -> None:
    """A few more rounds of events (the last lines read, the charts redrawn)."""
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.02)


def click(widget, pos: QPoint | None = None) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     pos or widget.rect().center())


def type_into(editor, text: str) -> None:
    """Select all in ``editor`` and type ``text``, key by key."""
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, text)


def click_finding(window, rule: str) -> None:
    """Click finding ``rule`` in the findings panel (its remedies and "Apply fix" show)."""
    findings = window.findings
    row = [f.rule for f in findings._findings].index(rule)
    item = findings.list.item(row)
    click(findings.list.viewport(), findings.list.visualItemRect(item).center())


def report(app, window, out: Path, result: dict[str, Any]) -> int:
    """Save a screenshot, print ``result`` (with the platform and the screenshot) as one
    JSON line, close the window."""
    shot = out / "window.png"
    window.screen().grabWindow(window.winId()).save(str(shot))
    print(json.dumps({"platform": app.platformName(), **result, "screenshot": str(shot)}),
          flush=True)
    window.close()
    return 0
