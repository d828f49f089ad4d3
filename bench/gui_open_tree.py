"""Issue 15 "a tree of 10,000 runs in the GUI": the longest UI-thread stall while the window
opens a tree of ``--runs`` runs of ``--points`` points (default 10,000 x 1,000), how soon
the run list shows them, and how soon every run is read and diagnosed.

The tree is ``bench/many_runs.py``'s (``ScalarWriter``, deterministic: healthy runs, one in
seven diverging, one in eleven with a NaN). The real window opens it; a QTimer on the UI
thread ticks every 5 ms and records when it ran (``gui_open.ticking_window``). Printed:
when the first row and all the rows were in the run list, when every run had its
diagnosis, the longest gap between two ticks less the interval (goal <= 100 ms), and the
peak memory of the process.

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

from gui_open import close_after_frames, stalls, ticking_window
from PySide6.QtWidgets import QApplication

GOAL_MS = 100.0
LIMIT_S = 1800


def open_and_time(tree: Path, runs: int, settings_dir: Path) -> tuple[list[float], dict]:
    """Tick times (s) while the window opens ``tree``, and when (s after the open) the
    first row, all rows and all diagnoses were there."""
    window, ticks, timer = ticking_window(settings_dir)
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
    close_after_frames(window, timer)
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
    _worst, line, ratio = stalls(ticks, GOAL_MS)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"run list: first row after {when['first row']:.2f} s, all {args.runs:,} rows after "
          f"{when['all rows']:.1f} s; every run diagnosed after {when['diagnosed']:.1f} s; "
          f"peak memory {peak_mib:.0f} MiB")
    print(line)
    print(ratio)
    os._exit(0)  # skip Qt teardown


if __name__ == "__main__":
    main()
