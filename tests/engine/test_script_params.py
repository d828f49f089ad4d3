"""``traindoc run``'s pieces that start no process: --param, the script's logs, remedies."""

from __future__ import annotations

import math

import pytest

from traindoc.diagnostics.remedies import remedies_for
from traindoc.diagnostics.types import Diagnosis, Finding, Severity, Status
from traindoc.engine.cli.run import fix_lines, script_run_json
from traindoc.engine.errors import UserError
from traindoc.engine.script_logs import ScriptLogs, snapshot
from traindoc.engine.script_params import (
    check_flags,
    format_value,
    option_value,
    parse_params,
    scripted,
    set_option,
)
from traindoc.engine.tb.writer import ScalarWriter

SCRIPT = ["python", "train.py", "--lr", "20", "--epochs=3"]


def test_param_maps_known_keys_to_options():
    params = parse_params(["optim.lr=--lr", "train.epochs=--epochs"])
    assert params.flags == {"optim.lr": "--lr", "train.epochs": "--epochs"}
    assert params.current(SCRIPT) == {"optim.lr": 20.0, "train.epochs": 3}
    assert params.config(SCRIPT) == {"optim": {"lr": 20.0}, "train": {"epochs": 3}}


@pytest.mark.parametrize("text", ["optim.lr", "=--lr", "optim.lr=", "optim.rate=--lr",
                                  "optim.lr=lr", "optim.lr=-"])
def test_a_bad_param_is_bad_input(text):
    with pytest.raises(UserError, match="--param"):
        parse_params([text])


def test_a_param_whose_option_the_command_lacks_is_bad_input():
    with pytest.raises(UserError, match="no --momentum VALUE"):
        check_flags(parse_params(["optim.momentum=--momentum"]), SCRIPT)


def test_a_value_the_key_cannot_take_is_bad_input():
    with pytest.raises(UserError, match="--lr fast"):
        parse_params(["optim.lr=--lr"]).current(["x", "--lr", "fast"])


def test_options_are_read_and_set_in_both_forms():
    assert option_value(SCRIPT, "--lr") == "20"
    assert option_value(SCRIPT, "--epochs") == "3"
    assert option_value(SCRIPT, "--batch-size") is None
    assert set_option(SCRIPT, "--lr", "2.0") == ["python", "train.py", "--lr", "2.0", "--epochs=3"]
    assert set_option(SCRIPT, "--epochs", "6")[-1] == "--epochs=6"
    assert set_option(["x"], "--lr", "1")[-2:] == ["--lr", "1"]
    assert format_value(True) == "true"
    assert format_value([64, 32]) == "64,32"


def test_only_a_patch_of_mapped_keys_applies():
    params = parse_params(["optim.lr=--lr"])
    assert params.applicable({"optim.lr": 2.0})
    assert not params.applicable({"optim.lr": 2.0, "schedule.warmup": 0.05})
    assert not params.applicable(None)
    assert params.apply(SCRIPT, {"optim.lr": 2.0})[2:4] == ["--lr", "2.0"]


def _diverged(config):
    remedies = remedies_for("divergence", None, config)
    finding = Finding("divergence", Severity.ERROR, "Loss diverged", 0, 2, "exploded",
                      remedies=remedies)
    return Diagnosis(Status.PROBLEMS, (finding,), points=10)


def test_remedies_of_a_script_carry_the_changed_command(tmp_path):
    params = parse_params(["optim.lr=--lr"])
    diagnosis = scripted(_diverged(params.config(SCRIPT)), params, SCRIPT)
    lower, warmup = diagnosis.findings[0].remedies[:2]
    assert lower.patch == {"optim.lr": 2.0}
    assert warmup.patch is None  # schedule.warmup has no option in the script
    run = type("R", (), {"name": ".", "log": type("L", (), {"roles": {}, "points": 10})()})()
    obj = script_run_json(run, diagnosis, params, SCRIPT)
    lower_json, warmup_json = obj["findings"][0]["remedies"][:2]
    assert lower_json["applicable"] and lower_json["patch"] == {"optim.lr": 2.0}
    assert lower_json["command"] == ["python", "train.py", "--lr", "2.0", "--epochs=3"]
    assert not warmup_json["applicable"] and "patch" not in warmup_json
    assert "command" not in warmup_json and warmup_json["snippet"]
    assert fix_lines(diagnosis, params, SCRIPT) == (
        "\n  fix (divergence, lower-lr): python train.py --lr 2.0 --epochs=3")


def _write(folder, n, start=0):
    with ScalarWriter(folder) as w:
        for step in range(start, start + n):
            w.add_scalar("train/loss", 1.0 / (step + 1), step)


def test_the_script_logs_leave_out_old_unchanged_files(tmp_path):
    _write(tmp_path / "old", 50)
    _write(tmp_path, 40)  # an earlier run in the log folder itself
    before = snapshot(tmp_path)
    logs = ScriptLogs(tmp_path, before)
    assert logs.fresh() == {}
    assert logs.update() == []
    _write(tmp_path, 30, start=0)  # the script's file, next to the old one
    changed = logs.update()
    assert [r.name for r in changed] == ["."]
    assert changed[0].log.points == 30  # the old file's 40 points are not read
    assert logs.update() == []  # nothing grew since
    assert set(logs.runs) == {"."}
    assert not math.isnan(changed[0].log.scalars["train/loss"].values[-1])


def test_a_missing_log_folder_has_no_files(tmp_path):
    assert snapshot(tmp_path / "none") == {}
    assert ScriptLogs(tmp_path / "none", {}).update() == []


def test_hidden_and_package_folders_are_not_searched(tmp_path):
    _write(tmp_path / ".venv" / "run", 5)
    _write(tmp_path / "__pycache__", 5)
    _write(tmp_path / "runs" / "a", 5)
    assert [p.parent.name for p in snapshot(tmp_path)] == ["a"]
