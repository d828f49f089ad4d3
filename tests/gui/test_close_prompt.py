"""Closing the window with runs training asks first; Cancel keeps everything going."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QMessageBox

from traindoc.engine.events import RUNNING
from traindoc.gui.core.close_prompt import close_question
from traindoc.gui.core.state import QUEUED


def test_question_counts_training_runs_and_names_queued_ones():
    assert close_question([], []) is None
    text = close_question(["digits-sgd-lr5", "digits-adam"], ["digits-adamw"])
    assert text.splitlines()[0] == "2 runs are training; stop them and quit?"
    assert "Queued runs that will be dropped: digits-adamw." in text
    assert close_question(["a"], []).splitlines()[0] == "1 run is training; stop it and quit?"
    only_queued = close_question([], ["a", "b"])
    assert only_queued.splitlines() == [
        "2 runs waiting in the queue; quit anyway?",
        "Queued runs that will be dropped: a, b.",
    ]


class FakeDriver:
    """Stands in for a RunDriver: records whether the window stopped it."""

    def __init__(self) -> None:
        self.stopped = False
        self.closed = False

    def stop_in_background(self, timeout: float) -> threading.Thread:
        self.stopped = True
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return thread

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def busy(window):
    """Two runs training (fake drivers, no process) and one queued."""
    drivers = {}
    for name in ("digits-sgd", "digits-adam"):
        run = window.model.add_run(name, "launched", RUNNING)
        drivers[run.id] = FakeDriver()
    queued = window.model.add_run("digits-adamw", "launched", QUEUED)
    window.runs.drivers.update(drivers)
    window.runs.pending.append(queued.id)
    return drivers


def test_cancel_keeps_the_window_and_the_runs(window, busy, monkeypatch):
    asked = []

    def answer(parent, title, text, buttons, default):
        asked.append(text)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert window.close() is False
    assert window.isVisible()
    assert asked[0].startswith("2 runs are training; stop them and quit?")
    assert "digits-adamw" in asked[0]
    assert not any(d.stopped for d in busy.values())
    assert len(window.runs.drivers) == 2 and len(window.runs.pending) == 1


def test_confirming_stops_every_run_and_closes(window, busy, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.Yes)
    assert window.close() is True
    assert all(d.stopped and d.closed for d in busy.values())
    assert not window.runs.drivers and not window.runs.pending


def test_nothing_training_closes_without_asking(window, monkeypatch):
    def fail(*args):
        raise AssertionError("asked with nothing to lose")

    monkeypatch.setattr(QMessageBox, "question", fail)
    assert window.close() is True
