"""Driven by test_e2e_xvfb.py on a real X server: a training script's fix, clicked through.

Start the app, choose Run → "Run a script…", type the example script's command at a
learning rate that diverges (``--lr 2``, 200 epochs: its writer flushes every 2 s, so a
run of a few seconds would only be read once it ended) and the mapping
``optim.lr=--lr``, press Start, wait for the divergence finding while the script still
runs, click it, click "Apply fix" on ``lower-lr``, wait for the child script to finish and
its verdict, save a screenshot, print one JSON line with what happened.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.gui.e2e_helpers import click, click_finding, open_window, report, settle, type_into, wait

ROOT = Path(__file__).resolve().parents[2]


def start_script(app, window) -> None:
    """Run → "Run a script…", the fields typed in, Start clicked."""
    window.run_script_action.trigger()
    wait(app, lambda: any(type(w).__name__ == "RunScriptDialog" and w.isVisible()
                          for w in app.topLevelWidgets()))
    dialog = next(w for w in app.topLevelWidgets() if type(w).__name__ == "RunScriptDialog")
    type_into(dialog.command, f"{sys.executable} examples/train_script.py --lr 2 --epochs 200")
    type_into(dialog.cwd, str(ROOT))
    type_into(dialog.params, "optim.lr=--lr")
    click(dialog.start_button)


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app, window = open_window(out)
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
    click_finding(window, "divergence")
    click(window.findings.fix_button("lower-lr"))
    child_script = next(s for s in scripts.scripts.values() if s is not parent_script)
    child_source = window.logs.sources[child_script.spec.logdir]
    wait(app, lambda: child_source.runs)
    child = window.model.run(next(iter(child_source.runs.values())))
    wait(app, lambda: child_script.code is not None and child.verdict is not None
         and child.verdict.resolved is not None)
    settle(app, 50)  # the last lines, read after the script's exit, settle the verdict
    window.model.set_current(child.id)
    app.processEvents()
    return report(app, window, out, {
        "live": live,
        "status_live": status_live,
        "parent_status": parent.status,
        "child_command": child_script.spec.command[1:],
        "child_status": child.status,
        "child_parent": child.fix.parent == parent.id if child.fix else False,
        "child_rules": sorted(child.diagnosis.rules) if child.diagnosis else None,
        "verdict": child.verdict.text(),
        "resolved": child.verdict.resolved,
    })


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
