"""SPEC §8 chart bars: one redraw of 4 curves × 1,000,000 points, and the frame rate
while 1,000 points/s stream in.

Part 1 times a full redraw (new point → ``setData`` → synchronous repaint of the chart
panel) of our ChartPanel (peak down-sampling + clip-to-view) against the same panel
with both turned off, interleaved and repeated; goal ≤ 33 ms.
Part 2 runs the real pump (QTimer at ~30 Hz) with a source that appends 1,000 points
per second to four series already holding ``--preload`` points each, and counts the
chart panel's paints per second; goal ≥ 30 fps.

Run: ``QT_QPA_PLATFORM=offscreen python bench/gui_frame.py``. The last line is the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

ROLES = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "opt/lr",
         "grad_norm": "opt/grad_norm"}


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def make_panel(points: int, *, fast: bool):
    from gui.model import AppModel
    from gui.widgets.charts import ChartPanel

    model = AppModel()
    run = model.add_run("bench", "launched", "running", roles=dict(ROLES))
    steps = np.arange(points, dtype=np.int64)
    rng = np.random.default_rng(0)
    for tag in ROLES.values():
        values = np.exp(-steps / points) + 0.1 * rng.standard_normal(points)
        model.append_points(run.id, tag, steps, values)
    model.set_smoothing(0.0)  # one curve per series: 4 curves in all
    panel = ChartPanel(model)
    panel.resize(1200, 800)
    panel.show()
    if not fast:
        for curve in panel.curves.values():
            for item in (curve.raw, curve.smooth):
                item.setDownsampling(auto=False, ds=1)
                item.setClipToView(False)
    model.frame.emit()
    QApplication.processEvents()
    return model, run, panel


def redraw_ms(model, run, panel, step: int) -> float:
    t = time.perf_counter()
    for tag in ROLES.values():
        model.append_points(run.id, tag, [step], [0.5])
    model.frame.emit()  # setData once per dirty curve
    panel.graphics.viewport().repaint()  # synchronous paint
    return (time.perf_counter() - t) * 1000


def part1(points: int, reps: int) -> tuple[float, float]:
    ours, plain = make_panel(points, fast=True), make_panel(points, fast=False)
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    for i in range(reps):
        for name, (model, run, panel) in (("ours", ours), ("plain", plain)):
            times[name].append(redraw_ms(model, run, panel, points + i))
    for _, _, panel in (ours, plain):
        panel.hide()
    a, b = statistics.median(times["ours"]), statistics.median(times["plain"])
    print(f"redraw 4 curves x {points:,} points: ours {a:.1f} ms, "
          f"without down-sampling/clip {b:.1f} ms (median of {reps})")
    return a, b


def part2(preload: int, seconds: float, rate: int) -> float:
    from gui.pump import Pump

    model, run, panel = make_panel(preload, fast=True)
    counter = PaintCounter()
    panel.graphics.viewport().installEventFilter(counter)
    pump = Pump(model)

    class Stream:
        def __init__(self) -> None:
            self.t0 = time.perf_counter()
            self.sent = 0
            self.step = preload

        def pump(self, deadline: float) -> bool:
            due = int((time.perf_counter() - self.t0) * rate) - self.sent
            if due > 0:
                steps = np.arange(self.step, self.step + due)
                for tag in ROLES.values():
                    model.append_points(run.id, tag, steps, np.random.rand(due))
                self.step += due
                self.sent += due
            return False

    stream = Stream()
    pump.add(stream)
    start_count, start_ticks, t0 = counter.count, pump.ticks, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        QApplication.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    paints = (counter.count - start_count) / elapsed
    ticks = (pump.ticks - start_ticks) / elapsed
    pump.stop()
    fps = min(paints, ticks)  # a frame = a pump tick whose new points were painted
    print(f"streaming {rate} points/s into 4 curves of {preload:,} points: {fps:.1f} fps "
          f"({ticks:.1f} pump ticks/s, {paints:.1f} paints/s; {stream.sent} points each "
          f"in {seconds:.0f} s)")
    return fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--preload", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    ours, plain = part1(args.points, args.reps)
    fps = part2(args.preload, args.seconds, 1000)
    print(f"goal: redraw <= 33 ms (ours {ours:.1f} ms), streaming >= 30 fps ({fps:.1f} fps)")
    print(f"ratio: redraw without/with down-sampling {plain / ours:.1f}x; "
          f"redraw {ours / 33:.2f} of budget; fps {fps / 30:.2f} of goal")
    os._exit(0)  # skip Qt teardown of the big scenes


if __name__ == "__main__":
    main()
