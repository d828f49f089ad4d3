"""The lr-find plot as a PNG, drawn in a subprocess: the caller loads neither Qt nor torch.

:func:`render_png` runs ``python -m traindoc.gui.lr_plot SWEEP.json PNG`` offscreen;
the drawing there is :func:`traindoc.gui.lr_plot.draw_sweep`, the same as the GUI's
LR-finder dialog. The engine names that module only as a command-line argument:
it never imports the GUI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PLOT_MODULE = "traindoc.gui.lr_plot"
RENDER_TIMEOUT_S = 60.0


def render_png(sweep: Mapping[str, Any], path: str | Path) -> str | None:
    """Draw an lr-find document (``LrFindResult.as_dict()``) to ``path``; None on
    success, else why the plot was not written."""
    path = Path(path)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
        json.dump(dict(sweep), tmp)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYQTGRAPH_QT_LIB": "PySide6"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", PLOT_MODULE, tmp.name, str(path)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"plot not written ({exc})"
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    if result.returncode != 0 or not path.is_file():
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"plot not written ({tail})"
    return None


__all__ = ["render_png"]
