"""traindoc.engine.launcher and .drive: background runs, their failure modes, no lost events."""

from __future__ import annotations

import os
import signal
import time

import pytest

from traindoc.engine import config as cfg
from traindoc.engine import rundir
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import Failed, Finished, Metrics, Started
from traindoc.engine.launcher import RunHandle

from . import launcher_targets as targets

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def quick_config(**patch) -> cfg.RunConfig:
    base = {"name": "t", "data.dataset": "digits", "train.epochs": 2, "train.device": "cpu"}
    return cfg.apply_patch(cfg.RunConfig(), {**base, **patch})


def drive(handle: RunHandle, timeout: float) -> list:
    """Every event until the run ends (or ``timeout``), through the one driver."""
    events: list = []
    RunDriver(handle, on_events=events.extend).run(timeout=timeout)
    return events


def wait_for(handle: RunHandle, predicate, timeout: float = 60.0):
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = handle.poll()
        events.extend(new)
        if any(predicate(e) for e in new) or handle.final is not None:
            return events
        time.sleep(0.02)
    raise AssertionError("timed out waiting for an event")


def test_child_that_raises_is_reported_with_traceback(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.raises)
    run_dir = handle.start()
    events = drive(handle, 60)
    handle.close()
    assert isinstance(handle.final, Failed)
    assert handle.final.reason == "ValueError: boom in step 5"
    assert "boom in step 5" in handle.final.traceback and "Traceback" in handle.final.traceback
    assert sum(isinstance(e, Metrics) for e in events) == 5
    assert rundir.read_status(run_dir)["status"] == "failed"
    assert handle.sequence.missing == []


def test_any_user_error_subclass_is_reported_as_bad_input_without_traceback(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.raises_a_user_error)
    handle.start()
    drive(handle, 60)
    handle.close()
    assert isinstance(handle.final, Failed)
    assert handle.final.user_error  # the command line prints its reason as one line, exit 2
    assert handle.final.reason == "data.dataset = csv:x.csv: 3 rows, expected at least 10"


def test_a_run_the_device_cannot_hold_fails_with_one_clear_line(tmp_path):
    # Issue 10 item 4: what the device can hold is found by trying; the answer is a
    # line that says what to change, not a CUDA traceback.
    handle = RunHandle(quick_config(), tmp_path, target=targets.runs_out_of_memory)
    run_dir = handle.start()
    drive(handle, 60)
    handle.close()
    assert isinstance(handle.final, Failed)
    assert handle.final.reason.startswith("out of memory:")
    assert "data.batch_size" in handle.final.reason and "batch-find" in handle.final.reason
    assert handle.final.traceback == ""
    assert rundir.read_status(run_dir)["reason"] == handle.final.reason


def test_child_that_exits_abruptly_is_reported(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.exits_abruptly)
    run_dir = handle.start()
    events = drive(handle, 60)
    handle.close()
    assert isinstance(handle.final, Failed)
    assert "exited with code 3" in handle.final.reason
    assert sum(isinstance(e, Metrics) for e in events) == 3
    assert rundir.read_status(run_dir)["status"] == "failed"


def test_child_killed_by_sigkill_is_reported(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.hangs)
    handle.start()
    wait_for(handle, lambda e: isinstance(e, Metrics))
    os.kill(handle.pid, signal.SIGKILL)
    drive(handle, 30)
    handle.close()
    assert isinstance(handle.final, Failed)
    assert "SIGKILL" in handle.final.reason


def test_stop_escalates_on_a_stubborn_child_within_timeout(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.hangs)
    handle.start()
    wait_for(handle, lambda e: isinstance(e, Metrics))
    t0 = time.monotonic()
    handle.stop(timeout=2.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 3.5
    drive(handle, 5)
    handle.close()
    assert isinstance(handle.final, Failed) and "SIGKILL" in handle.final.reason


def test_no_event_lost_under_a_flood(tmp_path):
    handle = RunHandle(quick_config(), tmp_path, target=targets.floods)
    handle.start()
    events = drive(handle, 90)
    handle.close()
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert len(metrics) == targets.FLOOD_EVENTS
    assert [m.step for m in metrics] == list(range(targets.FLOOD_EVENTS))
    assert handle.sequence.missing == []
    assert handle.sequence.received == targets.FLOOD_EVENTS + 1
    assert isinstance(handle.final, Finished)


def test_real_run_stops_within_five_seconds(tmp_path):
    handle = RunHandle(quick_config(**{"train.epochs": 10_000}), tmp_path)
    run_dir = handle.start()
    wait_for(handle, lambda e: isinstance(e, Metrics))
    events, ends = [], []
    driver = RunDriver(handle, on_events=events.extend, on_end=ends.append)
    t0 = time.monotonic()
    driver.stop_in_background(5.0)  # as the GUI's Stop does: polling goes on meanwhile
    assert driver.run(timeout=5.0)
    assert time.monotonic() - t0 < 5.0
    driver.close()
    assert isinstance(handle.final, Finished), handle.final
    assert handle.final.status == "stopped"
    assert ends == [handle.final] and events[-1] is handle.final and driver.lost == 0
    assert rundir.read_status(run_dir)["status"] == "stopped"
    assert not handle._process.is_alive()


def test_bad_dataset_is_a_user_error(tmp_path):
    handle = RunHandle(quick_config(**{"data.dataset": f"npz:{tmp_path}/none.npz"}), tmp_path)
    handle.start()
    events = drive(handle, 60)
    handle.close()
    assert not any(isinstance(e, Started) for e in events)
    assert isinstance(handle.final, Failed) and handle.final.user_error
    assert "none.npz" in handle.final.reason


def test_stop_drains_a_full_queue_and_loses_nothing(tmp_path):
    # The parent does not poll while the child fills the pipe: stop() must read the
    # queue while it waits, or the child blocks on exit and its last events are lost.
    handle = RunHandle(quick_config(), tmp_path, target=targets.fills_the_pipe)
    run_dir = handle.start()
    time.sleep(3.0)
    events: list = []
    driver = RunDriver(handle, on_events=events.extend)
    t0 = time.monotonic()
    driver.stop()
    assert time.monotonic() - t0 < 4.0
    assert driver.run(timeout=10)
    driver.close()
    assert isinstance(handle.final, Finished) and handle.final.status == "stopped"
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert len(metrics) == handle.final.steps > 0
    assert handle.sequence.missing == []
    assert rundir.read_status(run_dir)["status"] != "failed"
