"""``traindoc run -- COMMAND``: any training script as a run (issue 13, section 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.engine.cli_helpers import ROOT, traindoc
from traindoc.engine.cli import run as cli_run
from traindoc.engine.cli.main import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SCRIPT = str(ROOT / "examples" / "train_script.py")


def _run_script(logdir, lr: str) -> subprocess.CompletedProcess:
    return traindoc("run", "--json", "--fail-on", "warning", "--logdir", str(logdir),
                    "--param", "optim.lr=--lr", "--", sys.executable, SCRIPT, "--lr", lr,
                    cwd=ROOT)


def test_a_diverging_script_gets_the_lower_lr_command_and_a_later_healthy_one_passes(tmp_path):
    bad = _run_script(tmp_path, "20")
    assert bad.returncode == 1, bad.stderr
    doc = json.loads(bad.stdout)
    assert doc["script"] == {"command": [sys.executable, SCRIPT, "--lr", "20"], "exit_code": 0}
    [run] = doc["runs"]
    assert run["status"] == "problems"
    finding = next(f for f in run["findings"] if f["rule"] in ("divergence", "nan-loss"))
    lower = next(r for r in finding["remedies"] if r["id"] == "lower-lr")
    assert lower["applicable"] is True
    assert lower["patch"] == {"optim.lr": 2.0}
    assert lower["command"] == [sys.executable, SCRIPT, "--lr", "2.0"]
    others = [r for r in finding["remedies"] if r["id"] != "lower-lr"]
    assert others and all(not r["applicable"] and "patch" not in r for r in others)
    # The same log folder again, at a healthy lr: the earlier run's file is left out.
    good = _run_script(tmp_path, "0.05")
    assert good.returncode == 0, good.stderr
    [run] = json.loads(good.stdout)["runs"]
    assert run["status"] == "healthy", run
    assert run["roles"] == {"train_loss": "train/loss", "val_loss": "val/loss",
                            "val_accuracy": "val/accuracy"}
    assert run["points"] == 470  # 450 steps + 10 epochs x 2: this run's file only


def test_text_mode_prints_the_diagnosis_and_the_fix_command(tmp_path):
    out = traindoc("run", "--logdir", str(tmp_path), "--param", "optim.lr=--lr", "--",
                   sys.executable, SCRIPT, "--lr=20", "--epochs", "3", cwd=ROOT)
    assert out.returncode == 0, out.stderr  # no --fail-on
    assert "ERROR divergence" in out.stdout or "ERROR nan-loss" in out.stdout, out.stdout
    assert f"lower-lr): {sys.executable} {SCRIPT} --lr=2.0 --epochs 3" in out.stdout


def test_a_command_not_found_is_bad_input(tmp_path):
    out = traindoc("run", "--logdir", str(tmp_path), "--", "no-such-command-4711", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == "traindoc run: no-such-command-4711: command not found\n"


def test_a_bad_param_is_bad_input(tmp_path):
    out = traindoc("run", "--param", "optim.lr=--lr", "--", sys.executable, SCRIPT,
                   cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "traindoc run: --param optim.lr=--lr: the command has no --lr VALUE argument")


def test_a_script_that_fails_at_once_exits_1_with_its_stderr(tmp_path):
    code = "import sys; print('boom: no such dataset', file=sys.stderr); sys.exit(3)"
    out = traindoc("run", "--logdir", str(tmp_path), "--", sys.executable, "-c", code,
                   cwd=tmp_path)
    assert out.returncode == 1
    assert "the script failed (exit code 3)" in out.stderr
    assert "| boom: no such dataset" in out.stderr


def test_a_script_that_writes_no_logs_gets_a_warning(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(cli_run, "NO_LOGS_SECONDS", 0.5)
    monkeypatch.setattr(cli_run, "POLL_SECONDS", 0.1)
    monkeypatch.chdir(tmp_path.parent)
    code = main(["run", "--logdir", tmp_path.name, "--", sys.executable, "-c",
                 "import os, time; print(os.environ['TRAINDOC_LOGDIR']); time.sleep(2)"])
    out, err = capfd.readouterr()
    assert code == 0
    assert out == f"{tmp_path}\n"  # exported as an absolute path
    name = tmp_path.name
    assert f"warning: no TensorBoard logs written under {name} for 0.5 s" in err
    assert f"warning: {name}: no TensorBoard logs written by the script" in err


# The script ignores SIGINT (so SIGTERM must end it) and has a child in its group.
STUBBORN = """
import os, signal, subprocess, sys, time
child = subprocess.Popen(["sleep", "60"])
signal.signal(signal.SIGINT, signal.SIG_IGN)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
while True:
    child.poll()
    time.sleep(0.05)
"""


def test_ctrl_c_stops_the_whole_process_group(tmp_path):
    pids = tmp_path / "pids"
    proc = subprocess.Popen(
        [sys.executable, "-m", "traindoc", "run", "--logdir", str(tmp_path), "--",
         sys.executable, "-c", STUBBORN, str(pids)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    script_pid, child_pid = map(int, pids.read_text().split())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "traindoc run: interrupted" in err
    with pytest.raises(ProcessLookupError):
        os.killpg(script_pid, 0)  # the script led its own group: nobody is left in it
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)


def test_the_run_command_never_imports_torch():
    code = ("import sys; from traindoc.engine.cli.main import build_parser; "
            "import traindoc.engine.cli.run, traindoc.engine.script_logs; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False", out.stderr
