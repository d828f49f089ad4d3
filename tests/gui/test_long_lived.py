"""Long-lived objects leave the collector's full passes (issue 15: a full pass over startup's
~78,000 objects and a big tree's runs was a 40-60 ms UI stall, growing with the tree)."""

from __future__ import annotations

import gc

import numpy as np

from tests.gui.test_logs import open_and_wait, write_run
from traindoc.gui import logs
from traindoc.gui.main_window import MainWindow


def _counted(monkeypatch) -> list[int]:
    frozen: list[int] = []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    return frozen


def test_building_the_window_freezes_the_startup_objects_once(qtbot, tmp_path, settings,
                                                              monkeypatch):
    frozen = _counted(monkeypatch)
    window = MainWindow(logdir=tmp_path / "runs", settings=settings, lazy=True)
    qtbot.addWidget(window)
    assert frozen == []  # the charts and controllers are not built yet
    window.build_heavy()
    assert frozen == [1]
    second = MainWindow(logdir=tmp_path / "runs", settings=settings)
    qtbot.addWidget(second)
    assert frozen == [1]  # once per process
    window.shutdown()
    second.shutdown()


def test_a_first_pass_freezes_what_it_took_in_every_few_runs(qtbot, window, tmp_path,
                                                             monkeypatch):
    for i in range(5):
        write_run(tmp_path / "logs" / f"r{i}", {"loss": np.linspace(2, 1, 30)})
    monkeypatch.setattr(logs, "FREEZE_RUNS", 2)
    frozen = _counted(monkeypatch)
    source = open_and_wait(qtbot, window, tmp_path / "logs", runs=5)
    assert source.taken == 5
    assert len(frozen) == 2  # after the 2nd and the 4th run
