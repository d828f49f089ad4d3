"""Issue 15 "a tree of 10,000 runs in the GUI": the longest UI-thread stall while the window
opens a tree of ``--runs`` runs of ``--points`` points (default 10,000 x 1,000), how soon
the run list shows them, and how soon every run is read and diagnosed.

The tree is ``bench/many_runs.py``'s (``ScalarWriter``, deterministic: healthy runs, one in
seven diverging, one in eleven with a NaN). The real window opens it; a QTimer on the UI
thread ticks every ``TICK_MS`` and records when it ran. Printed: when the first row and
all the rows were in the run list, when every run had its diagnosis, the longest gap
between two ticks less the interval (goal <= 100 ms), and the peak memory of the process.

Run: ``QT_QPA_PLATFORM=offscreen python bench/gui_open_tree.py [--runs 1000]``. The last
line is the ratio of the longest stall to the goal (<= 1.0 meets it).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

GOAL_MS = 100.0
TICK_MS = 5
LIMIT_S = 1800


def open_and_time(tree: Path, runs: int, settings_dir: Path) -> tuple[list[float], dict]:
    """Tick times (s) while the window opens ``tree``, and when (s after the open) the
    first row, all rows and all diagnoses were there."""
    from traindoc.gui.main_window import MainWindow

    settings = QSettings(str(settings_dir / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(logdir=settings_dir / "runs", settings=settings)
    window.resize(1400, 900)
    window.show()
    for _ in range(20):
        QApplication.processEvents()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    window.open_logs(tree)
    rows = window.run_list.items
    source = window.logs.sources[tree.resolve()]
    when: dict[str, float] = {}
    while "diagnosed" not in when:
        QApplication.processEvents()
        time.sleep(0.001)
        now = time.perf_counter() - t0
        if rows and "first row" not in when:
            when["first row"] = now
        if len(rows) >= runs and "all rows" not in when:
            when["all rows"] = now
        if len(source.runs) == runs and all(
                window.model.run(r).diagnosis is not None for r in source.runs.values()):
            when["diagnosed"] = now
        if now > LIMIT_S:
            raise SystemExit(f"not loaded after {LIMIT_S} s")
    end = time.perf_counter() + 1.0  # the frames that follow the last run
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.001)
    timer.stop()
    window.shutdown()
    return ticks, when


def main() -> None:
    from many_runs import write_tree

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        tree = write_tree(root, args.runs, args.points)
        print(f"wrote {args.runs:,} runs x {args.points:,} points in "
              f"{time.perf_counter() - t:.1f} s")
        ticks, when = open_and_time(tree, args.runs, root)
    gaps = np.diff(ticks) * 1000 - TICK_MS
    worst = float(gaps.max())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"run list: first row after {when['first row']:.2f} s, all {args.runs:,} rows after "
          f"{when['all rows']:.1f} s; every run diagnosed after {when['diagnosed']:.1f} s; "
          f"peak memory {peak_mib:.0f} MiB")
    print(f"UI-thread stalls over {len(gaps)} ticks of {TICK_MS} ms: longest {worst:.1f} ms, "
          f"99th percentile {np.percentile(gaps, 99):.1f} ms, median {np.median(gaps):.1f} ms; "
          f"{int((gaps > GOAL_MS).sum())} over {GOAL_MS:.0f} ms")
    verdict = "meets" if worst <= GOAL_MS else "misses"
    print(f"ratio: longest stall {worst:.1f} ms / goal {GOAL_MS:.0f} ms = {worst / GOAL_MS:.2f} "
          f"({verdict} the goal)")
    os._exit(0)  # skip Qt teardown


if __name__ == "__main__":
    main()
