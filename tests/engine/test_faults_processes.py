"""Process faults (issue 10): an orphaned worker, Ctrl-C anywhere, SIGTERM to the worker.

Each test runs ``traindoc`` as a user does, in its own session (so every process of
the run can be found by its session id in /proc, without psutil), and kills or
interrupts it at a chosen moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.cli_helpers import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")

FAULTS_DIR = Path(__file__).with_name("faults_site")  # sitecustomize for injected faults


def launch_long_run(logdir: Path, cwd: Path) -> subprocess.Popen:
    """``traindoc train`` of 1,000 epochs (far longer than any test waits) into ``logdir``."""
    return launch("train", "--set", "train.epochs=1000", "--quiet", "--logdir", str(logdir),
                  cwd=cwd)


def launch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    paths = [str(ROOT)]
    if env and env.get("TRAINDOC_TEST_FAULT"):
        paths.insert(0, str(FAULTS_DIR))
    return subprocess.Popen(
        [sys.executable, "-m", "traindoc", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths)},
        start_new_session=True,  # its own process group and session, like a terminal job
    )


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def run_status(logdir: Path) -> tuple[Path | None, dict]:
    files = list(logdir.glob("*/status.json")) if logdir.exists() else []
    if not files:
        return None, {}
    try:
        return files[0], json.loads(files[0].read_text() or "{}")
    except ValueError:
        return files[0], {}


def wait_for_running(proc: subprocess.Popen, logdir: Path, timeout: float = 60) -> dict:
    found: dict = {}

    def running() -> bool:
        nonlocal found
        _, found = run_status(logdir)
        return found.get("status") == "running" or proc.poll() is not None

    assert wait_until(running, timeout), "training never started"
    assert proc.poll() is None, proc.communicate()
    return found


# ------------------------------------------------------------------ orphaned worker


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.2, 1.0, 3.0])
def test_worker_stops_within_two_seconds_of_its_parents_death(tmp_path, delay):
    logdir = tmp_path / "L"
    proc = launch_long_run(logdir, tmp_path)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    killed_at = time.monotonic()
    gone = wait_until(lambda: not session_pids(proc.pid), 3.0)
    assert gone, f"orphans left 3 s after the parent died: {session_pids(proc.pid)}"
    assert time.monotonic() - killed_at <= 2.5
    path, status = run_status(logdir)
    if path is not None and status.get("status") != "starting":
        # The worker got far enough to write one: it says why it stopped.
        assert status.get("status") == "stopped", status
        assert status.get("reason") == "parent process exited", status


@pytest.mark.slow
def test_sigterm_to_the_worker_alone_is_stopped_sigterm(tmp_path):
    logdir = tmp_path / "L"
    proc = launch_long_run(logdir, tmp_path)
    try:
        status = wait_for_running(proc, logdir)
        os.kill(status["pid"], signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in err
    assert "status: stopped — stopped (SIGTERM)" in out, out
    _, status = run_status(logdir)
    assert (status["status"], status["reason"]) == ("stopped", "stopped (SIGTERM)")


# ------------------------------------------------------------------ Ctrl-C anywhere


def assert_interrupted(proc: subprocess.Popen, timeout: float = 15) -> tuple[str, str]:
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - t0 < 6.0
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err, err
    return out, err


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.15, 0.5, 1.2])
def test_ctrl_c_during_start_up_is_130_and_one_line(tmp_path, delay):
    logdir = tmp_path / "L"
    proc = launch_long_run(logdir, tmp_path)
    time.sleep(delay)
    _, status = run_status(logdir)
    if status.get("status") == "running":
        pytest.skip("the run had already started: not a start-up interrupt on this machine")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = assert_interrupted(proc)
    lines = err.strip().splitlines()
    if any(line.startswith("run ") for line in lines):  # it started meanwhile: a stop
        assert "status: stopped" in out
        return
    assert len(lines) == 1, err
    assert "interrupted" in lines[0]
    assert not list(logdir.glob("*")) if logdir.exists() else True  # nothing kept
    assert wait_until(lambda: not session_pids(proc.pid), 3.0)


@pytest.mark.slow
def test_second_ctrl_c_while_stopping_is_still_130_without_traceback(tmp_path):
    logdir = tmp_path / "L"
    proc = launch(
        "train", "--set", "train.epochs=100000", "--quiet", "--logdir", str(logdir), cwd=tmp_path
    )
    wait_for_running(proc, logdir)
    os.killpg(proc.pid, signal.SIGINT)
    for _ in range(3):
        time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
    out, _ = assert_interrupted(proc)
    assert "status: stopped — stopped by user" in out
    _, status = run_status(logdir)
    assert status["status"] == "stopped"
    assert wait_until(lambda: not session_pids(proc.pid), 3.0)


@pytest.mark.slow
def test_ctrl_c_during_the_final_summary_is_130_and_one_line(tmp_path):
    marker = tmp_path / "summary-started"
    proc = launch(
        "train",
        "--set",
        "train.epochs=1",
        "--quiet",
        "--logdir",
        str(tmp_path / "L"),
        cwd=tmp_path,
        env={"TRAINDOC_TEST_FAULT": "slow-summary", "TRAINDOC_TEST_MARKER": str(marker)},
    )
    assert wait_until(marker.exists, 60), proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = assert_interrupted(proc)
    assert err.strip().splitlines()[-1] == "traindoc train: interrupted"
    assert "interrupted" not in "".join(err.strip().splitlines()[:-1])


def big_event_file(path: Path, records: int) -> None:
    """An event file of ``records`` scalars, written fast: one block repeated."""
    from traindoc.engine.tb.writer import ScalarWriter

    with ScalarWriter(path.parent) as writer:
        for step in range(10_000):
            writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    src = next(path.parent.glob("events.out.tfevents.*"))
    data = src.read_bytes()
    header_end = 8 + 4 + int.from_bytes(data[:8], "little") + 4  # the file_version record
    block = data[header_end:]
    with open(src, "ab") as f:
        for _ in range(records // 10_000 - 1):
            f.write(block)


@pytest.mark.slow
def test_ctrl_c_during_diagnose_of_a_large_file_is_130_and_one_line(tmp_path):
    run = tmp_path / "big"
    run.mkdir()
    big_event_file(run / "x", 3_000_000)
    proc = launch("diagnose", str(run), cwd=tmp_path)
    time.sleep(0.8)
    assert proc.poll() is None, "diagnose finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = assert_interrupted(proc)
    assert err.strip().splitlines() == ["traindoc diagnose: interrupted"]
