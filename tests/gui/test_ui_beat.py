"""The UI thread's heartbeat: a log follower waits while the UI thread is in a long frame,
and only while a tree's first pass is read (issue 15: no UI stall over 100 ms)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from tests.gui.test_logs import open_and_wait, write_run
from traindoc.gui import ui_beat


def _asking(beat: ui_beat.UiBeat) -> threading.Thread:
    thread = threading.Thread(target=beat.give_way, daemon=True)
    thread.start()
    return thread


def test_a_follower_waits_for_a_late_ui_thread_until_it_beats(qapp):
    beat = ui_beat.UiBeat()
    beat.start()
    _asking(beat).join(1.0)  # just beaten: no wait
    beat.last = time.perf_counter() - 10 * ui_beat.BUSY_S  # the UI thread in a long frame
    waiting = _asking(beat)
    waiting.join(0.1)
    assert waiting.is_alive()  # gives way...
    beat.beat()  # ...until the UI thread's next beat
    waiting.join(1.0)
    assert not waiting.is_alive()
    beat.last = time.perf_counter() - 10 * ui_beat.BUSY_S
    waiting = _asking(beat)
    beat.stop()  # stopped while one waits: it goes on
    waiting.join(1.0)
    assert not waiting.is_alive()


def test_a_stopped_beat_never_holds_a_follower(qapp):
    beat = ui_beat.UiBeat()
    beat.last = time.perf_counter() - 10.0
    thread = _asking(beat)
    thread.join(1.0)
    assert not thread.is_alive()


def test_the_beat_runs_while_a_tree_is_first_read(qtbot, window, tmp_path):
    for name in ("a", "b"):
        write_run(tmp_path / "logs" / name, {"loss": np.linspace(2, 1, 50)})
    beat = window.logs.beat
    assert not beat.active
    window.open_logs(tmp_path / "logs")
    assert beat.active and beat.timer.isActive()
    assert window.logs.sources[Path(tmp_path / "logs").resolve()].thread.beat is beat
    source = open_and_wait(qtbot, window, tmp_path / "logs", runs=2)
    assert source.scans >= 1
    assert not beat.active and not beat.timer.isActive()  # followed on, without the beat
