"""The repair loop over a training script: ``traindoc run --auto-fix --param ...``."""

from __future__ import annotations

import itertools
import json
import sys

import pytest

from tests.engine.cli_helpers import ROOT, traindoc
from traindoc.engine.repair.script_runs import ScriptConfig, ScriptRuns, script_name
from traindoc.engine.script_params import parse_params

SCRIPT = str(ROOT / "examples" / "train_script.py")


def _config(*args: str) -> ScriptConfig:
    command = (sys.executable, SCRIPT, *args)
    return ScriptConfig(command, parse_params(["optim.lr=--lr"]), None, script_name(list(command)))


def test_a_scripts_config_is_its_mapped_options_and_a_patch_changes_them():
    runs = ScriptRuns()
    config = _config("--lr", "20", "--epochs", "4")
    assert config.name == "train_script"
    assert runs.flat(config) == {"optim.lr": 20.0}
    child = runs.child(config, "lower-lr", {"optim.lr": 2.0})
    assert child.command[-4:] == ("--lr", "2.0", "--epochs", "4")
    assert child.name == "train_script-fix-lower-lr" and runs.flat(child) == {"optim.lr": 2.0}
    with pytest.raises(ValueError, match=r"no option for schedule\.warmup"):
        runs.child(config, "add-warmup", {"schedule.warmup": 0.05})


def test_the_name_comes_from_the_script_file():
    assert script_name(["python", "-u", "src/train.py", "--lr", "1"]) == "train"
    assert script_name(["./run-training", "--lr", "1"]) == "run-training"


@pytest.mark.slow
@pytest.mark.timeout(280)
def test_a_diverging_script_is_repaired_by_its_lr_option(tmp_path):
    out = traindoc("run", "--auto-fix", "--json", "--logdir", str(tmp_path), "--param",
                   "optim.lr=--lr", "--", sys.executable, SCRIPT, "--lr", "20", "--epochs", "4",
                   cwd=ROOT, timeout=270)
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout)  # the script's own prints went to stderr
    assert doc["healthy"] and doc["stopped"] == "healthy"
    attempts = doc["attempts"]
    assert [a["remedy"] for a in attempts] == [None, "lower-lr", "lower-lr"]
    assert [a["patch"] for a in attempts[1:]] == [{"optim.lr": 2.0}, {"optim.lr": 0.2}]
    assert [a["status"] for a in attempts] == ["finished"] * 3
    assert doc["config_diff"] == [{"key": "optim.lr", "first": 20.0, "final": 0.2}]
    for parent, child in itertools.pairwise(attempts):
        link = json.loads((tmp_path / child["run"] / "parent.json").read_text())
        assert link["parent"] == parent["run"] and link["remedy"] == "lower-lr"
    assert doc["report"] and (tmp_path / doc["report"]).is_file()


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_a_script_with_no_mapped_option_has_nothing_to_apply(tmp_path):
    out = traindoc("run", "--auto-fix", "2", "--logdir", str(tmp_path), "--",
                   sys.executable, SCRIPT, "--lr", "20", "--epochs", "2", cwd=ROOT)
    assert out.returncode == 1, out.stderr[-3000:]
    lines = [ln for ln in out.stdout.splitlines() if not ln.startswith("epoch ")]  # script's
    assert lines[0].startswith("first run train_script-") and "divergence" in lines[0]
    assert any(line.startswith("repair: not healthy — no remedy left") for line in lines), lines
    assert lines[-1].startswith("final run: ") and len(list(tmp_path.iterdir())) == 1
