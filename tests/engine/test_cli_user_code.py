"""``traindoc train`` / ``lr-find`` on the user's own model and data (issue 13 §1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli_helpers import ROOT, traindoc

pytestmark = pytest.mark.slow

SOURCES = ("--set", "model.source=examples/digits_model.py:make_mlp",
           "--set", "data.source=examples/digits_data.py:load_digits")


def test_train_on_the_example_model_and_data_reaches_95_percent(tmp_path):
    logdir = tmp_path / "runs"
    result = traindoc("train", *SOURCES, "--device", "cpu", "--logdir", str(logdir), "--quiet",
                      cwd=ROOT)
    assert result.returncode == 0, result.stderr
    (run_dir,) = logdir.iterdir()
    assert run_dir.name.startswith("py-digits_data-adamw-")
    config = (run_dir / "config.toml").read_text()
    assert f'source = "{ROOT / "examples" / "digits_model.py"}:make_mlp"' in config
    accuracy = float(result.stdout.split("val accuracy ")[1].split(",")[0])
    assert accuracy >= 0.95, result.stdout


def test_lr_find_on_the_example_model_and_data_suggests_a_rate(tmp_path):
    result = traindoc("lr-find", *SOURCES, "--device", "cpu", "--steps", "60", "--json",
                      "--logdir", str(tmp_path / "finders"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    suggestion = json.loads(result.stdout)["suggestion"]
    assert 1e-5 < suggestion["lr"] < 1.0


BAD_MODELS = {
    "missing function": ("def other(shape, classes): pass\n",
                         "net.py has no function 'make'"),
    "factory raises": ("def make(shape, classes):\n    raise ValueError('too deep')\n",
                       "make() raised ValueError: too deep"),
    "wrong return type": ("def make(shape, classes):\n    return [1, 2]\n",
                          "make() returned a list of 2; expected a torch.nn.Module"),
    "shape mismatch": ("import torch\nfrom torch import nn\ndef make(shape, classes):\n"
                       "    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))\n",
                       "maps a batch of shape (2, 1, 8, 8) to (2, 3); expected (2, 10)"),
}


def assert_refused(result, words: str, logdir: Path) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not logdir.exists() or not any(logdir.iterdir())  # no run folder left behind


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_bad_model_code_exits_2_with_one_line_and_no_run_folder(tmp_path, case):
    text, words = BAD_MODELS[case]
    (tmp_path / "net.py").write_text(text, encoding="utf-8")
    logdir = tmp_path / "runs"
    result = traindoc("train", "--set", "model.source=net.py:make",
                      "--set", f"data.source={ROOT / 'examples' / 'digits_data.py'}:load_digits",
                      "--device", "cpu", "--logdir", str(logdir), "--quiet", cwd=tmp_path)
    assert_refused(result, words, logdir)


def test_a_missing_file_exits_2_before_any_run_starts(tmp_path):
    logdir = tmp_path / "runs"
    result = traindoc("train", "--set", "data.source=nowhere.py:load", "--logdir", str(logdir),
                      cwd=tmp_path)
    assert_refused(result, f"data.source = '{tmp_path / 'nowhere.py'}:load': file not found",
                   logdir)


def test_batch_find_on_the_example_model_and_data_tries_batches(tmp_path):
    result = traindoc("batch-find", *SOURCES, "--device", "cpu", "--target", "64",
                      "--memory-limit", "1.39", "--logdir", str(tmp_path / "finders"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "batch      8: fits" in result.stdout


REGRESSION = '''
import torch

def load():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    return (x[:500], y[:500]), (x[500:], y[500:])

def linear(input_shape, num_classes):
    return torch.nn.Linear(input_shape[0], 1)
'''


def test_a_regression_trains_from_the_command_line_without_accuracy(tmp_path):
    (tmp_path / "reg.py").write_text(REGRESSION, encoding="utf-8")
    result = traindoc("train", "--set", "data.source=reg.py:load",
                      "--set", "model.source=reg.py:linear", "--set", "train.epochs=3",
                      "--set", "optim.lr=0.05", "--device", "cpu", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr  # 1: a finding, never bad input
    assert "status: finished" in result.stdout and "val loss" in result.stdout
    assert "accuracy" not in result.stdout and "Traceback" not in result.stderr
