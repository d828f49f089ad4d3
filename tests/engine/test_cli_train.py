"""`traindoc train` end to end, as a user runs it (subprocesses, real training)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli_helpers import traindoc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def only_run_dir(logdir: Path) -> Path:
    runs = [p for p in logdir.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_default_config_reaches_95_percent_on_digits(tmp_path):
    result = traindoc("train", "--quiet", "--logdir", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "status: finished" in result.stdout
    run = only_run_dir(tmp_path / "runs")
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "finished"
    assert status["val/accuracy"] >= 0.95
    assert (run / "config.toml").read_text().startswith('name = "digits-adamw"')
    assert "Traceback" not in result.stderr


def test_negative_lr_exits_2_with_one_line_naming_the_key(tmp_path):
    result = traindoc("train", "--set", "optim.lr=-1", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "optim.lr" in lines[0] and "-1" in lines[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.toml"], ["missing.toml", "cannot read"]),
        (["--set", "optim"], ["KEY=VALUE"]),
        (["--set", "data.dataset=npz:/no/such.npz", "--quiet"], ["/no/such.npz"]),
        (["--device", "tpu"], ["train.device", "tpu"]),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, args, words):
    result = traindoc("train", *args, "--logdir", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "run.toml").write_text(
        'name = "blobs-sgd"\n[data]\ndataset = "blobs"\n[optim]\nname = "sgd"\nlr = 0.1\n'
        "[train]\nepochs = 2\n"
    )
    result = traindoc(
        "train", "run.toml", "--set", "train.epochs=1", "--quiet", "--logdir", "out", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    run = only_run_dir(tmp_path / "out")
    assert run.name.startswith("blobs-sgd-")
    assert "epochs = 1" in (run / "config.toml").read_text()


def test_lr_50_never_gives_a_traceback(tmp_path):
    result = traindoc(
        "train", "--set", "optim.lr=50", "--set", "train.epochs=3", "--quiet", cwd=tmp_path
    )
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1)
    text = (only_run_dir(tmp_path / "runs") / "status.json").read_text()
    status = json.loads(text, parse_constant=pytest.fail)  # strict JSON: no NaN, no Infinity
    assert status["status"] in ("finished", "diverged")
    if status["status"] == "diverged":
        assert result.returncode == 1


def test_ctrl_c_stops_cleanly_and_leaves_no_orphan(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "traindoc", "train", "--set", "train.epochs=100000", "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    deadline = time.monotonic() + 60
    status_file = None
    while time.monotonic() < deadline:
        runs = (
            list((tmp_path / "runs").glob("*/status.json")) if (tmp_path / "runs").exists() else []
        )
        if runs and json.loads(runs[0].read_text() or "{}").get("status") == "running":
            status_file = runs[0]
            break
        time.sleep(0.1)
    assert status_file is not None, "training never started"
    child_pid = json.loads(status_file.read_text()).get("pid")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=15)
    assert time.monotonic() - t0 < 5.0
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert json.loads(status_file.read_text())["status"] == "stopped"
    assert list(status_file.parent.glob("events.out.tfevents.*"))
    if child_pid:
        with pytest.raises(ProcessLookupError):
            os.kill(child_pid, 0)


def test_a_diverged_run_exits_1_and_its_status_json_is_strict(tmp_path):
    # lr 1e10: the loss blows up at once; no validation loss was ever finite.
    result = traindoc(
        "train", "--set", "optim.lr=1e10", "--set", "train.epochs=3", "--quiet", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    text = (only_run_dir(tmp_path / "runs") / "status.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    status = json.loads(text, parse_constant=pytest.fail)
    assert status["status"] == "diverged"
    assert status["best_val_loss"] is None
