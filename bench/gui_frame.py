"""SPEC §8 chart bars: one redraw of 4 curves × 1,000,000 points, and the frame rate
while 1,000 points/s stream in.

Both parts compare our ChartPanel (curves that clip to the view and keep min/max per
pixel bucket themselves, with running bounds) against the same panel whose curves
hand pyqtgraph the full arrays and let it do peak down-sampling + clip-to-view (the
SPEC's anchor, ~7 ms per 1e6-point curve, and what these curves did before).
Part 1 times a full redraw (a new point in each series → ``setData`` → synchronous
repaint of the chart panel), the two panels interleaved, ``--reps`` times; goal ≤ 33 ms.
Part 2 runs the real pump (QTimer at ~31 Hz) with a source that appends 1,000 points
per second to four series already holding ``--preload`` points each, and counts the
chart panel's paints per second, the two panels taking turns for ``--rounds`` rounds;
goal ≥ 30 fps.

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
import pyqtgraph as pg
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
    from traindoc.gui.model import AppModel
    from traindoc.gui.widgets.charts import ChartPanel

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
            use_pyqtgraph_reduction(curve)
    model.frame.emit()
    QApplication.processEvents()
    return model, run, panel


def use_pyqtgraph_reduction(curve) -> None:
    """The baseline: full arrays to pyqtgraph, its peak down-sampling and clip-to-view on."""
    for item in (curve.raw, curve.smooth):
        item.full_bounds = None  # pyqtgraph measures the data itself
        item.opts["autoDownsampleFactor"] = 2.0  # as many samples per pixel as ours
        pg.PlotDataItem.setDownsampling(item, auto=True, method="peak")
        pg.PlotDataItem.setClipToView(item, True)

    def refresh(weight: float) -> bool:  # smoothing is 0 here: one curve per series
        series = curve.series
        if series.version == curve._drawn_version:
            return False
        curve.raw.setData(series.steps, series.values)
        curve._drawn_version = series.version
        return True

    curve.refresh = refresh


def redraw_ms(model, run, panel, step: int) -> float:
    t = time.perf_counter()
    for tag in ROLES.values():
        model.append_points(run.id, tag, [step], [0.5])
    model.frame.emit()  # setData once per dirty curve
    panel.graphics.viewport().repaint()  # synchronous paint
    return (time.perf_counter() - t) * 1000


def part1(points: int, reps: int) -> tuple[float, float]:
    ours, base = make_panel(points, fast=True), make_panel(points, fast=False)
    times: dict[str, list[float]] = {"ours": [], "base": []}
    for i in range(reps):
        for name, (model, run, panel) in (("ours", ours), ("base", base)):
            times[name].append(redraw_ms(model, run, panel, points + i))
    a, b = statistics.median(times["ours"]), statistics.median(times["base"])
    _check_same_picture(ours[2], base[2])
    for _, _, panel in (ours, base):
        panel.hide()
    print(f"redraw 4 curves x {points:,} points: ours {a:.1f} ms, "
          f"pyqtgraph peak down-sampling + clip-to-view {b:.1f} ms (median of {reps})")
    return a, b


def _check_same_picture(ours, base) -> None:
    """Both sides drew the same extremes (peak reduction keeps every spike); ours also
    reaches the last point (pyqtgraph's peak mode drops the final partial bucket)."""
    for key, curve in ours.curves.items():
        y, by = curve.displayed()[1], base.curves[key].displayed()[1]
        extremes, base_extremes = (np.nanmin(y), np.nanmax(y)), (np.nanmin(by), np.nanmax(by))
        last = curve.series.steps[-1]
        if extremes != base_extremes or curve.displayed()[0][-1] != last:
            print(f"warning: {key}: ours y {extremes} to step {curve.displayed()[0][-1]}, "
                  f"pyqtgraph y {base_extremes}; last step {last}")


def stream_fps(side, preload: int, seconds: float, rate: int) -> tuple[float, ...]:
    """(fps, pump ticks/s, paints/s, CPU load) while ``rate`` points/s stream into a panel."""
    from traindoc.gui.pump import Pump

    model, run, panel, state = side
    panel.show()
    counter = PaintCounter()
    panel.graphics.viewport().installEventFilter(counter)
    pump = Pump(model)

    class Stream:
        def __init__(self) -> None:
            self.t0 = time.perf_counter()
            self.sent = 0

        def pump(self, deadline: float) -> bool:
            due = int((time.perf_counter() - self.t0) * rate) - self.sent
            if due > 0:
                steps = np.arange(state["step"], state["step"] + due)
                for tag in ROLES.values():
                    model.append_points(run.id, tag, steps, np.random.rand(due))
                state["step"] += due
                self.sent += due
            return False

    pump.add(Stream())
    start_count, start_ticks, t0 = counter.count, pump.ticks, time.perf_counter()
    cpu0 = time.process_time()
    while time.perf_counter() - t0 < seconds:
        QApplication.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    load = (time.process_time() - cpu0) / elapsed  # includes the 1 ms sleeps' wake-ups
    paints = (counter.count - start_count) / elapsed
    ticks = (pump.ticks - start_ticks) / elapsed
    pump.stop()
    panel.graphics.viewport().removeEventFilter(counter)
    panel.hide()
    QApplication.processEvents()
    return min(paints, ticks), ticks, paints, load  # a frame = a tick whose points were painted


def part2(preload: int, seconds: float, rounds: int, rate: int) -> tuple[float, float]:
    sides = {name: (*make_panel(preload, fast=name == "ours"), {"step": preload})
             for name in ("ours", "base")}
    for _, _, panel, _ in sides.values():
        panel.hide()
    got: dict[str, list[tuple[float, float, float, float]]] = {"ours": [], "base": []}
    for _ in range(rounds):
        for name, side in sides.items():
            got[name].append(stream_fps(side, preload, seconds, rate))
    medians = {name: [statistics.median(r[i] for r in runs) for i in range(4)]
               for name, runs in got.items()}
    for name, label in (("ours", "ours"), ("base", "pyqtgraph peak + clip")):
        fps, ticks, paints, load = medians[name]
        print(f"streaming {rate} points/s into 4 curves of {preload:,} points, {label}: "
              f"{fps:.1f} fps ({ticks:.1f} pump ticks/s, {paints:.1f} paints/s, CPU {load:.0%}; "
              f"median of {rounds} x {seconds:.0f} s)")
    return medians["ours"][0], medians["base"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--preload", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=2.5, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    ours, base = part1(args.points, args.reps)
    fps, base_fps = part2(args.preload, args.seconds, args.rounds, 1000)
    print(f"goal: redraw <= 33 ms (ours {ours:.1f} ms), streaming >= 30 fps ({fps:.1f} fps)")
    print(f"ratio: redraw pyqtgraph/ours {base / ours:.1f}x, fps ours/pyqtgraph "
          f"{fps / base_fps:.2f}x; redraw {ours / 33:.2f} of budget; fps {fps / 30:.2f} of goal")
    os._exit(0)  # skip Qt teardown of the big scenes


if __name__ == "__main__":
    main()
