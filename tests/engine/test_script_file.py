"""A training script described by a ``[script]`` table (``traindoc run --config FILE``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.engine.cli_helpers import ROOT, traindoc
from traindoc.engine.errors import UserError
from traindoc.engine.script_file import load_script

SCRIPT = str(ROOT / "examples" / "train_script.py")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_table_gives_command_mapping_and_folders_relative_to_the_file(tmp_path):
    path = _write(tmp_path, """
[script]
command = ["python", "train.py", "--lr", "0.1", "--batch-size", "32"]
params = { "optim.lr" = "--lr", "data.batch_size" = "--batch-size" }
logdir = "runs/script"
cwd = "."
""")
    table = load_script(path)
    assert table.command == ["python", "train.py", "--lr", "0.1", "--batch-size", "32"]
    assert table.params.flags == {"optim.lr": "--lr", "data.batch_size": "--batch-size"}
    assert table.params.current(table.command) == {"optim.lr": 0.1, "data.batch_size": 32}
    assert table.logdir == tmp_path.resolve() / "runs" / "script"
    assert table.cwd == tmp_path.resolve()


def test_a_command_string_is_split_like_a_shell_and_the_rest_is_optional(tmp_path):
    table = load_script(_write(tmp_path, '[script]\ncommand = "python \'my train.py\' --lr 1"\n'))
    assert table.command == ["python", "my train.py", "--lr", "1"]
    assert (table.params.flags, table.logdir, table.cwd) == ({}, None, None)


@pytest.mark.parametrize(("text", "message"), [
    ("", "no [script] table"),
    ("[script]\n", "command must be a non-empty list of strings"),
    ("[script]\ncommand = []\n", "command must be a non-empty list of strings"),
    ("[script]\ncommand = [\"python\", 3]\n", "command must be a non-empty list of strings"),
    ("[script]\ncommand = \"python 'open\"\n", "command: cannot split it"),
    ("[script]\ncommand = [\"x\"]\nparams = { \"optim.lrr\" = \"--lr\" }\n",
     "params: --param optim.lrr=--lr: unknown config key 'optim.lrr'"),
    ("[script]\ncommand = [\"x\"]\nparams = { \"optim.lr\" = \"lr\" }\n",
     "'lr' is not an option"),
    ("[script]\ncommand = [\"x\"]\nparams = [\"optim.lr\"]\n", "params must map config keys"),
    ("[script]\ncommand = [\"x\"]\nlogdir = 3\n", "logdir must be a folder path"),
    ("[script]\ncommand = [\"x\"]\nlog_dir = \"runs\"\n",
     "unknown key(s) log_dir; known: command, params, logdir, cwd"),
    ("[script\n", "not valid TOML"),
])
def test_each_problem_names_the_file_and_the_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as err:
        load_script(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_script(tmp_path / "absent.toml")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_traindoc_run_takes_the_table_and_the_command_line_overrides_it(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    path = work / "script.toml"
    path.write_text(
        "[script]\n"
        f"command = {json.dumps([sys.executable, SCRIPT, '--lr', '20', '--epochs', '2'])}\n"
        'params = { "optim.lr" = "--lr", "data.batch_size" = "--no-such-flag" }\n'
        'logdir = "logs"\n', encoding="utf-8")
    # The file maps a flag the command lacks: bad input, as --param would be.
    bad = traindoc("run", "--config", str(path), cwd=tmp_path)
    assert bad.returncode == 2
    assert "the command has no --no-such-flag VALUE argument" in bad.stderr
    path.write_text(path.read_text().replace(', "data.batch_size" = "--no-such-flag"', ""))
    out = traindoc("run", "--config", str(path), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["script"]["command"] == [sys.executable, SCRIPT, "--lr", "20", "--epochs", "2"]
    assert list((work / "logs").iterdir())  # the file's logdir, relative to the file
    [run] = doc["runs"]
    lower = next(r for f in run["findings"] for r in f["remedies"] if r["id"] == "lower-lr")
    assert lower["patch"] == {"optim.lr": 2.0}
    assert lower["command"] == [sys.executable, SCRIPT, "--lr", "2.0", "--epochs", "2"]
    # A command after -- replaces the file's; --logdir replaces its logdir.
    other = traindoc("run", "--config", str(path), "--json", "--logdir", str(tmp_path / "b"),
                     "--", sys.executable, SCRIPT, "--lr", "0.05", "--epochs", "2", cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    doc = json.loads(other.stdout)
    assert doc["script"]["command"][-3:] == ["0.05", "--epochs", "2"]
    assert list((tmp_path / "b").iterdir())
