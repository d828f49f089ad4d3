"""Issue 11 "no freeze on open": the longest UI-thread stall while the window opens 20 runs of
two 1,000,000-point series each.

One run (``train/loss`` and ``val/loss``, ``--points`` each) is written with
:class:`traindoc.engine.tb.writer.ScalarWriter` into a temp folder and copied to ``--runs``
run folders (distinct files, identical points). The real window opens the folder; a
QTimer on the UI thread ticks every ``TICK_MS`` and records when it ran, until every run
is in the model with its diagnosis. The longest gap between two ticks, less the
interval, is the longest stall: goal <= 50 ms. For scale, the line before the last gives
what one run's first-load diagnosis costs (the work that used to run on the UI thread in
one tick), and the peak memory of the process.

Run: ``QT_QPA_PLATFORM=offscreen python bench/gui_open.py``. The last line is the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

GOAL_MS = 50.0
TICK_MS = 5


def write_runs(root: Path, runs: int, points: int) -> Path:
    from traindoc.engine.tb.writer import ScalarWriter

    logs = root / "logs"
    first = logs / "run00"
    steps = np.arange(points)
    rng = np.random.default_rng(0)
    train = 2.0 * np.exp(-steps / (points / 5)) + 0.1 + rng.normal(0, 0.01, points)
    with ScalarWriter(first, flush_secs=1e9) as writer:
        for tag, values in (("train/loss", train), ("val/loss", train + 0.05)):
            for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                writer.add_scalar(tag, value, step)
    (event_file,) = first.iterdir()
    for i in range(1, runs):
        folder = logs / f"run{i:02d}"
        folder.mkdir()
        shutil.copyfile(event_file, folder / event_file.name)
    return logs


def diagnosis_ms(logs: Path) -> float:
    """One run's first-load diagnosis, as it ran on the UI thread before (a fed
    LiveDiagnoser asked once)."""
    from traindoc.diagnostics.live import LiveDiagnoser
    from traindoc.engine.tb.reader import load_path

    (run_log,) = load_path(logs / "run00")
    t0 = time.perf_counter()
    live = LiveDiagnoser(name=run_log.name, tags=run_log.roles)
    for role, tag in run_log.roles.items():
        live.feed(role, run_log.scalars[tag].steps, run_log.scalars[tag].values)
    live.diagnosis()
    return (time.perf_counter() - t0) * 1000


def ticking_window(settings_dir: Path):
    """(window, ticks, timer): the real window, shown and settled, with a QTimer on the UI
    thread appending the time of each tick (every ``TICK_MS``) to ``ticks``."""
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
    return window, ticks, timer


def close_after_frames(window, timer, seconds: float = 1.0) -> None:
    """Run the frames that follow the last run for ``seconds``, then stop and close."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.001)
    timer.stop()
    window.shutdown()


def stalls(ticks: list[float], goal_ms: float) -> tuple[float, str, str]:
    """(longest stall in ms, the stalls line, the ratio line) from the tick times: a
    stall is the gap between two ticks less the interval."""
    gaps = np.diff(ticks) * 1000 - TICK_MS
    worst = float(gaps.max())
    line = (f"UI-thread stalls over {len(gaps)} ticks of {TICK_MS} ms: longest {worst:.1f} ms, "
            f"99th percentile {np.percentile(gaps, 99):.1f} ms, median {np.median(gaps):.1f} ms; "
            f"{int((gaps > goal_ms).sum())} over {goal_ms:.0f} ms")
    verdict = "meets" if worst <= goal_ms else "misses"
    ratio = (f"ratio: longest stall {worst:.1f} ms / goal {goal_ms:.0f} ms = "
             f"{worst / goal_ms:.2f} ({verdict} the goal)")
    return worst, line, ratio


def open_and_time(logs: Path, runs: int, settings_dir: Path) -> tuple[list[float], float]:
    """Tick times (s) while the window opens ``logs``, and seconds until all is loaded."""
    window, ticks, timer = ticking_window(settings_dir)
    t0 = time.perf_counter()
    window.open_logs(logs)
    source = window.logs.sources[logs.resolve()]

    def loaded() -> bool:
        return source.scans >= 1 and len(source.runs) == runs and all(
            window.model.run(r).diagnosis is not None for r in source.runs.values())

    while not loaded():
        QApplication.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > 600:
            raise SystemExit("not loaded after 600 s")
    elapsed = time.perf_counter() - t0
    close_after_frames(window, timer)
    return ticks, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--points", type=int, default=1_000_000, help="per series")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        logs = write_runs(root, args.runs, args.points)
        print(f"wrote {args.runs} runs x 2 series x {args.points:,} points "
              f"in {time.perf_counter() - t:.1f} s")
        one = diagnosis_ms(logs)
        ticks, elapsed = open_and_time(logs, args.runs, root)
    _worst, line, ratio = stalls(ticks, GOAL_MS)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"opened {args.runs} runs in {elapsed:.1f} s; {line}")
    print(f"for scale: one run's first-load diagnosis (formerly one UI tick) {one:.0f} ms, "
          f"x {args.runs} runs = {one * args.runs / 1000:.1f} s; peak memory {peak_mib:.0f} MiB")
    print(ratio)
    os._exit(0)  # skip Qt teardown of the big scenes


if __name__ == "__main__":
    main()
