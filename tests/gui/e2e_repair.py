"""Driven by test_e2e_xvfb.py on a real X server: "Fix until healthy", clicked through.

Start the app, fill the form (SGD, learning rate 20, constant schedule), press Start,
wait for the run to end with its findings, choose Run → "Fix until healthy…", wait for
the repair to end, save a screenshot of the window (the run list's tree, the attempts'
charts) and of the progress window, print one JSON line with what happened.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from tests.gui.e2e_helpers import click, open_window, report, settle, type_into, wait


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app, window = open_window(out)
    window.build_heavy()
    form = window.form.editors
    form["optim.name"].setCurrentText("sgd")
    form["schedule.kind"].setCurrentText("constant")
    type_into(form["optim.lr"], "20")
    type_into(form["train.epochs"], "4")
    click(window.start_button)
    first = window.model.state.current
    wait(app, lambda: first not in window.runs.drivers
         and window.model.run(first).diagnosis is not None, timeout=200)
    first_rules = sorted(window.model.run(first).diagnosis.rules)
    enabled = window.repair_action.isEnabled()
    window.repair_action.trigger()
    repairs = window.repairs
    wait(app, lambda: not repairs.running, timeout=400)
    dialog = next(w for w in app.topLevelWidgets() if type(w).__name__ == "RepairDialog")
    settle(app)
    ids = repairs.repair.attempt_ids
    runs = [window.model.run(r) for r in ids]
    items = window.run_list.items
    dialog.grab().save(str(out / "repair.png"))
    return report(app, window, out, {
        "enabled": enabled,
        "first_rules": first_rules,
        "healthy": repairs.repair.ended.result.healthy,
        "lrs": [r.config.optim.lr for r in runs],
        "remedies": [r.fix.remedy if r.fix else None for r in runs],
        "nested": [items[a].indexOfChild(items[b]) for a, b in itertools.pairwise(ids)],
        "final_alarms": [f.rule for f in runs[-1].findings() if f.alarm],
        "verdicts": [r.verdict.text() if r.verdict else None for r in runs[1:]],
        "lines": repairs.repair.lines,
        "bar_done": dialog.bar.value() == dialog.bar.maximum(),
    })


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
