"""`traindoc diagnose --watch`: incremental reading and diagnosis of growing logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from traindoc.engine.run_diagnosis import diagnose_log
from traindoc.engine.tb.reader import load_path
from traindoc.engine.tb.writer import ScalarWriter
from traindoc.engine.watch import Watcher

from .tb.helpers import poll_watcher

ROOT = Path(__file__).resolve().parents[2]


def losses(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 2.3 * np.exp(-np.arange(n) / 60) + 0.1 + rng.normal(0, 0.02, n)


def test_watcher_matches_batch_diagnosis_as_the_log_grows(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    watcher = Watcher([str(tmp_path)], {})
    values = losses(300)
    values[250:] = np.nan
    with ScalarWriter(run, flush_secs=0) as writer:
        for start in range(0, 300, 50):
            for i in range(start, start + 50):
                writer.add_scalar("Loss/train", float(values[i]), i + 1)
            writer.flush()
            watcher.followers[0][1]._next_rescan = 0  # rescan now (the test's clock)
            changed, warnings = poll_watcher(watcher)
            assert changed == ["run"] and not warnings
            state = watcher.runs["run"]
            assert state.points == start + 50
            batch = diagnose_log(load_path(run)[0])
            live = state.diagnosis()
            assert live.status == batch.status
            assert [(f.rule, f.step_start) for f in live.findings] == [
                (f.rule, f.step_start) for f in batch.findings
            ]
    assert watcher.runs["run"].diagnosis().findings[0].rule == "nan-loss"


@pytest.mark.slow
def test_cli_watch_prints_changes_and_exits_on_ctrl_c(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with ScalarWriter(run) as writer:
        for i, v in enumerate(losses(200)):
            writer.add_scalar("loss", float(v), i + 1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "traindoc",
            "diagnose",
            str(tmp_path),
            "--watch",
            "--json",
            "--fail-on",
            "error",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    first = json.loads(proc.stdout.readline())
    assert first["run"] == "run" and first["status"] == "healthy" and first["points"] == 200
    with ScalarWriter(run) as writer:  # a restarted writer appends a second file
        for i in range(200, 260):
            writer.add_scalar("loss", float("nan"), i + 1)
    second = json.loads(proc.stdout.readline())
    assert second["status"] == "problems" and second["findings"][0]["rule"] == "nan-loss"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 1  # --fail-on error, and the last diagnosis has an error
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize(("fail_on", "code"), [([], 130), (["--fail-on", "warning"], 130)])
def test_cli_watch_ctrl_c_exits_130_with_one_line(tmp_path, fail_on, code):
    run = tmp_path / "run"
    with ScalarWriter(run) as writer:
        for i, v in enumerate(losses(200)):
            writer.add_scalar("loss", float(v), i + 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "traindoc", "diagnose", str(run), "--watch", *fail_on],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    first = proc.stdout.readline()
    assert "] run: healthy (200 points)" in first, first  # named by its folder
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == code  # healthy: nothing for --fail-on, so interrupted
    assert err.strip().splitlines() == ["traindoc diagnose: interrupted"]


def _poll(watcher: Watcher) -> list:
    watcher.followers[0][1]._next_rescan = 0  # rescan now (the test's clock)
    return list(watcher.changes())


def test_a_role_appearing_later_joins_without_reading_the_run_again(tmp_path):
    run = tmp_path / "run"
    watcher = Watcher([str(run)], {})
    with ScalarWriter(run, flush_secs=0) as writer:
        for i, v in enumerate(losses(100)):
            writer.add_scalar("train/loss", float(v), i)
        writer.flush()
        (first,) = _poll(watcher)
        assert first.new and first.roles == {"train_loss": "train/loss"}
        assert len(first.points["train/loss"]) == 100 and first.diagnosis is not None
        for i, v in enumerate(losses(100, seed=1)[:50]):
            writer.add_scalar("val/loss", float(v) + 0.3, 2 * i)
        writer.flush()
        (second,) = _poll(watcher)
    assert not second.reset and list(second.points) == ["val/loss"]
    assert second.roles == {"train_loss": "train/loss", "val_loss": "val/loss"}
    state = watcher.runs["."]
    assert state.live.points("train_loss") == 100 and state.live.points("val_loss") == 50
    batch = diagnose_log(load_path(run)[0])
    assert second.diagnosis.status == batch.status
    assert [f.rule for f in second.diagnosis.findings] == [f.rule for f in batch.findings]


def test_overrides_read_the_run_again_and_keep_it_without_raw_points(tmp_path):
    run = tmp_path / "run"
    with ScalarWriter(run) as writer:
        for i, v in enumerate(losses(200)):
            writer.add_scalar("loss", float(v), i)
            writer.add_scalar("aux_loss", 1.0 + i / 50, i)
    watcher = Watcher([str(run)], {})
    (first,) = _poll(watcher)
    assert first.roles["train_loss"] == "loss"
    change = watcher.set_overrides(".", {"train_loss": "aux_loss"})
    assert change.reset and change.roles["train_loss"] == "aux_loss"
    assert len(change.points["aux_loss"]) == 200  # the whole run again
    batch = diagnose_log(load_path(run, overrides={"train_loss": "aux_loss"})[0])
    assert [f.rule for f in change.diagnosis.findings] == [f.rule for f in batch.findings]
    assert change.diagnosis.findings  # a rising loss
    assert watcher.set_overrides("elsewhere", {}) is None
    assert not hasattr(watcher.runs["."], "chunks")  # the points stay in the files
