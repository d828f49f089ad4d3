"""The status bar shows the training run's epoch/step, throughput and ETA; "stopping…"
clears once the run has stopped."""

from __future__ import annotations

from traindoc.engine.events import RUNNING, STOPPED
from traindoc.gui.core.progress import StepRate, format_duration, progress_line

INFO = {"epochs": 10, "total_steps": 1000, "steps_per_epoch": 100, "effective_batch": 32}


def test_rate_is_steps_per_second_over_recent_samples():
    rate = StepRate(window_s=10.0)
    assert rate.per_second() is None
    rate.add(0.0, 0)
    rate.add(2.0, 200)
    rate.add(2.5, 200)  # no new step: ignored
    assert rate.per_second() == 100.0
    for t in range(3, 30):
        rate.add(float(t), 200 + (t - 2) * 10)  # slows to 10 steps/s
    assert abs(rate.per_second() - 10.0) < 1e-9


def test_progress_line_words():
    info = dict(INFO, epoch=2)
    assert progress_line("digits-adamw", 300, info, 100.0) == (
        "digits-adamw: epoch 3/10 · step 300/1,000 · 100 steps/s (3,200 samples/s) · ETA 0:07"
    )
    assert progress_line("r", 5, {}, None) == "r: step 5"
    assert format_duration(3723) == "1:02:03" and format_duration(59.6) == "1:00"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_status_bar_follows_the_training_run(qtbot, model):
    from PySide6.QtWidgets import QMainWindow

    from traindoc.gui.progress_status import ProgressStatus

    window = QMainWindow()
    qtbot.addWidget(window)
    stopping: set[str] = set()
    clock = Clock()
    label = ProgressStatus(model, window.statusBar(), stopping=lambda: stopping, clock=clock)
    run = model.add_run("digits-sgd-lr5", "launched", RUNNING, info=dict(INFO, epoch=0))
    model.frame.emit()
    assert label.text() == "digits-sgd-lr5: epoch 1/10 · step 0/1,000"
    clock.now, run.progress_step, run.info["epoch"] = 4.0, 400, 3
    model.frame.emit()
    assert label.text() == ("digits-sgd-lr5: epoch 4/10 · step 400/1,000 · "
                            "100 steps/s (3,200 samples/s) · ETA 0:06")
    stopping.add(run.id)
    model.frame.emit()
    assert label.text() == "stopping digits-sgd-lr5…"
    stopping.discard(run.id)
    model.update_run(run.id, status=STOPPED)
    assert label.text() == ""
    assert label in window.statusBar().findChildren(ProgressStatus)


def test_stopping_message_clears_when_the_run_has_stopped(window):
    """The controller's side: "stopping…" while the process ends, then its end status."""

    class Driver:
        def stop(self, timeout):
            pass

        def close(self):
            pass

    run = window.model.add_run("digits-adam", "launched", RUNNING, info=dict(INFO))
    driver = Driver()
    window.runs.drivers[run.id] = driver
    window.runs.stop(run.id)
    window.model.frame.emit()
    assert window.statusBar().currentMessage() == "stopping digits-adam…"
    assert window.progress.text() == "stopping digits-adam…"
    window.model.update_run(run.id, status=STOPPED)
    window.runs.run_ended(run.id, driver)
    window.model.frame.emit()
    assert "stopping" not in window.statusBar().currentMessage()
    assert window.statusBar().currentMessage() == "digits-adam: stopped"
    assert window.progress.text() == ""
