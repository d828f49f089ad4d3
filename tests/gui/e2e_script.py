"""Driven by test_e2e_xvfb.py on a real X server: the fix loop, clicked through the UI.

Start the app, fill the form (SGD, learning rate far too high), press Start, wait
for the divergence finding, click it, click "Apply fix" on the learning-rate remedy,
wait for the child run, save a screenshot, print one JSON line with what happened.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.gui.e2e_helpers import click, click_finding, open_window, report, settle, type_into, wait


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app, window = open_window(out)
    window.build_heavy()
    editors = window.form.editors
    editors["optim.name"].setCurrentText("sgd")
    editors["schedule.kind"].setCurrentText("constant")
    type_into(editors["optim.lr"], "5")
    type_into(editors["train.epochs"], "2")
    click(window.start_button)
    parent_id = window.model.state.current
    wait(app, lambda: parent_id not in window.runs.drivers, timeout=120)
    parent = window.model.run(parent_id)
    rules = sorted(parent.diagnosis.rules) if parent.diagnosis else []
    click_finding(window, "divergence")
    highlight = window.model.state.highlight
    click(window.findings.fix_button("lower-lr"))
    child_id = window.model.state.current
    wait(app, lambda: child_id != parent_id and child_id not in window.runs.drivers,
         timeout=120)
    settle(app)
    child = window.model.run(child_id)
    return report(app, window, out, {
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
    })


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
