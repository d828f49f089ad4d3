"""The repair's chart as a PNG, drawn in a subprocess: the caller loads neither Qt nor torch.

:func:`render_attempts` runs ``python -m traindoc.gui.repair_plot DOC.json PNG``
offscreen, as :mod:`traindoc.engine.find.plot` draws lr-find's plot: the engine names
the GUI module only as a command-line argument and never imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from traindoc.engine.repair.events import RepairResult

PLOT_MODULE = "traindoc.gui.repair_plot"
RENDER_TIMEOUT_S = 60.0


def render_attempts(result: RepairResult, path: str | Path) -> str | None:
    """Draw every attempt's curves to ``path``; None on success, else why not."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "repair_chart.json"
        dump_chart_document(result, doc)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6"}
        try:
            done = subprocess.run(
                [sys.executable, "-m", PLOT_MODULE, str(doc), str(path)],
                capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, env=env, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"plot not written ({exc})"
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"plot not written ({tail})"
    return None


def chart_document(result: RepairResult) -> dict:
    """What :mod:`traindoc.gui.repair_plot` draws: each attempt's label and curves."""
    runs = []
    for attempt, record in zip(result.attempts, result.records, strict=True):
        label = "first run" if attempt.parent is None else f"{attempt.index}: {attempt.remedy}"
        runs.append({"label": label, "final": attempt.index == result.final,
                     "curves": {role: [steps, values]
                                for role, (steps, values) in record.curves.items()}})
    return {"title": f"repair of {result.first_dir.name}", "runs": runs}


def dump_chart_document(result: RepairResult, path: Path) -> None:
    path.write_text(json.dumps(chart_document(result)), encoding="utf-8")


__all__ = ["chart_document", "render_attempts"]
