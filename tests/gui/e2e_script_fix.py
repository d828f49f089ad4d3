"""Driven by test_e2e_xvfb.py on a real X server: a training script's fix, clicked through.

Start the app, choose Run → "Run a script…", type the example script's command at a
learning rate that diverges (``--lr 2``) and the mapping ``optim.lr=--lr``, press Start,
wait for the divergence finding while the script still runs, click it, click
"Apply fix" on ``lower-lr``, wait for the child script to finish and its verdict, save a
screenshot, print one JSON line with what happened.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]


def wait(app, predicate, timeout=150.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.01)


def click(widget, pos: QPoint | None = None) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     pos or widget.rect().center())


def type_into(editor, text: str) -> None:
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(editor, text)


def start_script(app, window) -> None:
    """Run → "Run a script…", the fields typed in, Start clicked."""
    window.run_script_action.trigger()
    wait(app, lambda: any(type(w).__name__ == "RunScriptDialog" and w.isVisible()
                          for w in app.topLevelWidgets()))
    dialog = next(w for w in app.topLevelWidgets() if type(w).__name__ == "RunScriptDialog")
    type_into(dialog.command, f"{sys.executable} examples/train_script.py --lr 2 --epochs 10")
    type_into(dialog.cwd, str(ROOT))
    type_into(dialog.params, "optim.lr=--lr")
    click(dialog.start_button)


def apply_lower_lr(window) -> None:
    """Click the divergence finding, then its lower-lr "Apply fix"."""
    findings = window.findings
    row = [f.rule for f in findings._findings].index("divergence")
    item = findings.list.item(row)
    click(findings.list.viewport(), findings.list.visualItemRect(item).center())
    click(findings.fix_button("lower-lr"))


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app = QApplication([])
    from traindoc.gui.main_window import MainWindow

    settings = QSettings(str(out / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(logdir=out / "runs", settings=settings, lazy=True)
    window.show()
    app.processEvents()
    start_script(app, window)
    scripts = window.script_runs
    parent_script = next(iter(scripts.scripts.values()))
    source = window.logs.sources[parent_script.spec.logdir]

    def parent_run():
        ids = list(source.runs.values())
        return window.model.run(ids[0]) if ids else None

    def diverged():
        run = parent_run()
        return run is not None and run.diagnosis is not None and any(
            f.rule == "divergence" and any(r.id == "lower-lr" and r.patch for r in f.remedies)
            for f in run.findings())

    wait(app, diverged)
    parent = parent_run()
    live = parent_script.code is None  # the finding showed while the script still ran
    status_live = parent.status
    window.model.set_current(parent.id)
    app.processEvents()
    apply_lower_lr(window)
    child_script = next(s for s in scripts.scripts.values() if s is not parent_script)
    child_source = window.logs.sources[child_script.spec.logdir]
    wait(app, lambda: child_source.runs)
    child = window.model.run(next(iter(child_source.runs.values())))
    wait(app, lambda: child_script.code is not None and child.verdict is not None
         and child.verdict.resolved is not None)
    for _ in range(50):  # the last lines, read after the script's exit, settle the verdict
        app.processEvents()
        time.sleep(0.02)
    window.model.set_current(child.id)
    app.processEvents()
    shot = out / "window.png"
    window.screen().grabWindow(window.winId()).save(str(shot))
    print(json.dumps({
        "platform": app.platformName(),
        "live": live,
        "status_live": status_live,
        "parent_status": parent.status,
        "child_command": child_script.spec.command[1:],
        "child_status": child.status,
        "child_parent": child.fix.parent == parent.id if child.fix else False,
        "child_rules": sorted(child.diagnosis.rules) if child.diagnosis else None,
        "verdict": child.verdict.text(),
        "resolved": child.verdict.resolved,
        "screenshot": str(shot),
    }), flush=True)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
