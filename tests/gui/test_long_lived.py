"""The window leaves what startup made out of the collector's full passes, once per process
(issue 15: a full pass over ~80,000 startup objects was a 40-55 ms UI stall while a big
tree loaded)."""

from __future__ import annotations

import gc

from traindoc.gui.main_window import MainWindow


def test_building_the_window_freezes_the_startup_objects_once(qtbot, tmp_path, settings,
                                                              monkeypatch):
    frozen = []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
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
