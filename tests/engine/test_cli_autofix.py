"""`traindoc train --auto-fix` end to end, as a user runs it (subprocesses, real training
on the bundled digits; 5 epochs a run)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli_helpers import ROOT, traindoc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SHORT = ["--quiet", "--set", "train.epochs=5", "--device", "cpu"]


def run_dirs(logdir: Path) -> list[Path]:
    """The run folders in the order they ran: each child's name adds ``-fix-REMEDY``."""
    return sorted((p for p in logdir.iterdir() if p.is_dir()), key=lambda p: p.name.count("-fix-"))


def test_sgd_at_lr_20_is_repaired_by_lowering_the_rate_and_ends_on_the_final_run(tmp_path):
    logdir = tmp_path / "runs"
    result = traindoc("train", *SHORT, "--logdir", str(logdir), "--set", "optim.name=sgd",
                      "--set", "optim.lr=20", "--auto-fix", cwd=tmp_path, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    attempts = [line for line in lines if line.startswith("attempt ")]
    assert attempts[0].startswith("attempt 1: lower-lr (optim.lr 20 → 2): ")
    assert all(": lower-lr (optim.lr " in line for line in attempts), attempts
    assert "healthy (best val accuracy" in attempts[-1]
    assert lines[-1].startswith("final run: ")
    final = Path(lines[-1].removeprefix("final run: "))
    assert final.is_dir() and final.parent == logdir
    dirs = run_dirs(logdir)
    assert len(dirs) == 1 + len(attempts) <= 5
    # Never the same config twice (the name aside), and every child knows its parent.
    configs = {tuple(line for line in (d / "config.toml").read_text().splitlines()
                     if not line.startswith("name")) for d in dirs}
    assert len(configs) == len(dirs)
    for parent, child in itertools.pairwise(dirs):
        link = json.loads((child / "parent.json").read_text())
        assert link["parent"] == str(parent) and link["remedy"] == "lower-lr"
    assert "  optim.lr: 20 → " in result.stdout
    report = dirs[0] / "repair.md"
    assert f"report: {report}" in result.stdout
    body = report.read_text(encoding="utf-8")
    assert "| lower-lr | optim.lr 20 → 2 |" in body and f"final run: {final}" in body
    assert (dirs[0] / "repair.png").stat().st_size > 10_000, body
    status = json.loads((final / "status.json").read_text())
    assert status["val/accuracy"] >= 0.9


def test_a_healthy_config_is_left_alone_and_json_says_so(tmp_path):
    logdir = tmp_path / "runs"
    result = traindoc("train", *SHORT, "--logdir", str(logdir), "--auto-fix", "3", "--json",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (first,) = run_dirs(logdir)
    assert doc["attempts_used"] == 0 and doc["budget"] == 3 and doc["healthy"] is True
    assert doc["final_run"] == doc["first_run"] == str(first)
    assert doc["stopped"] == "healthy" and doc["config_diff"] == []
    assert doc["report"] == str(first / "repair.md") and (first / "repair.md").is_file()
    assert [a["alarms"] for a in doc["attempts"]] == [[]]


def test_ctrl_c_during_an_attempt_exits_130_with_every_run_and_the_report_kept(tmp_path):
    logdir = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "traindoc", "train", *SHORT, "--logdir", str(logdir),
         "--set", "optim.name=sgd", "--set", "optim.lr=1e-5", "--auto-fix"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
    )
    deadline = time.monotonic() + 150
    child = None
    while time.monotonic() < deadline and child is None:
        for status in logdir.glob("*-fix-*/status.json") if logdir.exists() else []:
            if json.loads(status.read_text() or "{}").get("status") == "running":
                child = status.parent
        time.sleep(0.1)
    assert child is not None, "the first attempt never started"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    lines = out.strip().splitlines()
    assert lines[-1].startswith("final run: ")
    dirs = run_dirs(logdir)
    assert len(dirs) == 2 and child in dirs
    assert json.loads((child / "status.json").read_text())["status"] in ("stopped", "finished")
    assert (dirs[0] / "repair.md").is_file()
    assert "interrupted" in (dirs[0] / "repair.md").read_text(encoding="utf-8")
