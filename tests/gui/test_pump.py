"""The pump: drains sources within a time budget, emits one frame per tick, drops finished ones."""

from __future__ import annotations

import time

from traindoc.gui.pump import Pump


class FakeSource:
    def __init__(self, batches, cost=0.0):
        self.batches = list(batches)
        self.cost = cost
        self.deadlines = []

    def pump(self, deadline):
        self.deadlines.append(deadline)
        if self.cost:
            time.sleep(self.cost)
        if self.batches:
            self.batches.pop(0)
        return not self.batches


def test_tick_drains_sources_emits_a_frame_and_drops_finished(qtbot, model):
    pump = Pump(model, budget_s=0.005)
    frames = []
    model.frame.connect(lambda: frames.append(1))
    done_soon, lasting = FakeSource([1]), FakeSource([1, 2, 3])
    pump.add(done_soon)
    pump.add(lasting)
    assert pump.timer.isActive()
    before = time.perf_counter()
    pump.tick()
    assert frames == [1]
    assert pump.sources == [lasting]
    assert before < lasting.deadlines[0] <= before + 0.005 + 0.01
    pump.tick()
    pump.tick()
    assert pump.sources == [] and not pump.timer.isActive()
    assert frames == [1, 1, 1]


def test_a_failing_source_is_dropped_not_fatal(qtbot, model):
    class Broken:
        def pump(self, deadline):
            raise RuntimeError("bad source")

    pump = Pump(model)
    pump.add(Broken())
    pump.tick()
    assert pump.sources == []


def test_request_frame_runs_one_tick_without_sources(qtbot, model):
    pump = Pump(model, interval_ms=1)
    with qtbot.waitSignal(model.frame, timeout=2000):
        pump.request_frame()
    qtbot.waitUntil(lambda: not pump.timer.isActive(), timeout=2000)
