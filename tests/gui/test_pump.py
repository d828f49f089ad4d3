"""The pump: drains sources within a time budget, emits one frame per tick, drops finished ones."""

from __future__ import annotations

import time

from traindoc.gui.pump import DriverSource, Pump


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


def test_a_run_driver_is_a_source_and_a_pump_without_model_only_drains(qtbot):
    class FakeDriver:  # RunDriver.step's contract: deliver until the deadline; True once ended
        def __init__(self):
            self.deadlines = []

        def step(self, deadline):
            self.deadlines.append(deadline)
            return len(self.deadlines) == 2

    driver = FakeDriver()
    pump = Pump(None, budget_s=0.005)  # a finder dialog's own, outside a window
    pump.add(DriverSource(driver))
    before = time.perf_counter()
    pump.tick()
    assert len(pump.sources) == 1 and before < driver.deadlines[0] <= before + 0.015
    pump.tick()
    assert pump.sources == [] and not pump.timer.isActive() and len(driver.deadlines) == 2
