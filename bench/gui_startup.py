"""SPEC §8: the GUI window is shown within 1 s of process start.

Starts fresh interpreters, interleaved and repeated: ``traindoc.gui.app.main`` (with the
startup probe, which prints seconds from process start to the window's first
paint, then to the charts being ready) against a bare PySide6 window (the floor:
interpreter + Qt + one paint). The last line is the ratio to the 1 s goal.

Run: ``QT_QPA_PLATFORM=offscreen python bench/gui_startup.py [--reps N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 1.0

APP = "import sys; from traindoc.gui.app import main; sys.exit(main([]))"
BARE = r"""
import os, time
def t0():
    with open(f"/proc/{os.getpid()}/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    return time.perf_counter() - (up - ticks / os.sysconf("SC_CLK_TCK"))
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow(); w.resize(1440, 900); w.show(); app.processEvents()
print(f"shown {time.perf_counter() - t0():.4f}")
"""


def run(code: str) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "TRAINDOC_STARTUP_PROBE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    words = out.stdout.split()
    return {words[i]: float(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    shown, ready, bare = [], [], []
    for _ in range(args.reps):
        app = run(APP)
        shown.append(app["shown"])
        ready.append(app["ready"])
        bare.append(run(BARE)["shown"])
    s, r, b = (statistics.median(x) for x in (shown, ready, bare))
    print(f"traindoc window shown {s:.3f} s, charts ready {r:.3f} s; bare PySide6 window "
          f"{b:.3f} s (medians of {args.reps}, interleaved)")
    print(f"ratio: shown / 1 s goal = {s / GOAL_S:.2f}; shown / bare Qt window = {s / b:.2f}")


if __name__ == "__main__":
    main()
