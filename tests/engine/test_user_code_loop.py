"""The training loop on the user's own model and data (in-process): everything else
unchanged — accumulation, clipping, early stopping, checkpoints — and regressions
(float targets: MSE, no accuracy)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from traindoc.engine import config as cfg
from traindoc.engine import rundir
from traindoc.engine.events import Evaluated
from traindoc.engine.train.loop import run_training
from traindoc.engine.train.models import ModelError
from traindoc.engine.train.setup import build_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = f"{EXAMPLES / 'digits_data.py'}:load_digits"
MODEL = f"{EXAMPLES / 'digits_model.py'}:make_mlp"

REGRESSION = '''
import torch

def load():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.01 * torch.randn(600, generator=g)
    return (x[:500], y[:500]), (x[500:], y[500:])

def linear(input_shape, num_classes):
    assert num_classes is None
    return torch.nn.Linear(input_shape[0], 1)
'''


def train(config: cfg.RunConfig, run_dir: Path):
    events: list = []
    run_dir.mkdir(parents=True, exist_ok=True)
    result = run_training(config, run_dir, emit=events.append, should_stop=lambda: False)
    return result, [e for e in events if isinstance(e, Evaluated)]


def test_user_code_keeps_accumulation_clipping_early_stopping_and_checkpoints(tmp_path):
    config = cfg.apply_patch(cfg.RunConfig(), {
        "data.source": DATA, "model.source": MODEL, "train.device": "cpu",
        "model.hidden": [64], "data.batch_size": 32, "train.grad_accum": 2,
        "train.clip_grad_norm": 1.0, "train.early_stopping": True, "train.patience": 2,
        "train.epochs": 4,
    })
    result, evals = train(config, tmp_path / "run")
    assert result.status == "finished" and result.epochs_done == len(evals) >= 2
    assert result.steps == result.epochs_done * math.ceil(1438 / 64)  # 64 samples a step
    assert evals[-1].metrics["val/accuracy"] > 0.8
    checkpoint = torch.load(tmp_path / "run" / rundir.CHECKPOINT_FILE, weights_only=True)
    assert cfg.loads(checkpoint["config"]) == config
    model = build_run(config).model
    model.load_state_dict(checkpoint["model"])  # the user's model, as trained


def test_float_targets_train_a_regression_with_mse_and_no_accuracy(tmp_path):
    (tmp_path / "reg.py").write_text(REGRESSION, encoding="utf-8")
    source = tmp_path / "reg.py"
    config = cfg.apply_patch(cfg.RunConfig(), {
        "data.source": f"{source}:load", "model.source": f"{source}:linear",
        "train.device": "cpu", "train.epochs": 30, "optim.lr": 0.05, "data.batch_size": 50,
    })
    result, evals = train(config, tmp_path / "run")
    assert result.status == "finished"
    assert set(evals[-1].metrics) == {"val/loss"}  # MSE only: no accuracy is logged
    assert evals[-1].metrics["val/loss"] < 0.01 < evals[0].metrics["val/loss"]
    status = json.loads((tmp_path / "run" / rundir.STATUS_FILE).read_text())
    assert status["status"] == "finished"


def test_a_regression_with_a_built_in_model_is_a_clear_model_error(tmp_path):
    (tmp_path / "reg.py").write_text(REGRESSION, encoding="utf-8")
    config = cfg.apply_patch(cfg.RunConfig(), {
        "data.source": f"{tmp_path / 'reg.py'}:load", "train.device": "cpu"})
    with pytest.raises(ModelError, match=r"float targets \(a regression\): the built-in models"):
        build_run(config)


def test_a_regression_model_with_the_wrong_output_names_both_shapes(tmp_path):
    (tmp_path / "reg.py").write_text(
        REGRESSION + "\ndef wide(shape, classes):\n    return torch.nn.Linear(shape[0], 3)\n",
        encoding="utf-8")
    source = tmp_path / "reg.py"
    config = cfg.apply_patch(cfg.RunConfig(), {
        "data.source": f"{source}:load", "model.source": f"{source}:wide",
        "train.device": "cpu"})
    with pytest.raises(ModelError, match=r"maps a batch of shape \(2, 4\) to \(2, 3\); "
                       r"expected \(2,\) \(one value per sample\)"):
        build_run(config)
