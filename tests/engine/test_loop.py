"""engine.train.loop: accumulation, clipping, early stopping, non-finite losses, run folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from traindoc.engine import config as cfg
from traindoc.engine import rundir
from traindoc.engine.events import Evaluated, Finished, Metrics, Started
from traindoc.engine.train.evaluation import EarlyStopping
from traindoc.engine.train.loop import run_training
from traindoc.engine.train.models import build_model
from traindoc.engine.train.step import clip_gradients, forward_backward


def small_config(**patch) -> cfg.RunConfig:
    base = {
        "name": "t",
        "data.dataset": "digits",
        "model.hidden": [64],
        "train.epochs": 3,
        "train.device": "cpu",
    }
    return cfg.apply_patch(cfg.RunConfig(), {**base, **patch})


def train(config: cfg.RunConfig, run_dir: Path) -> tuple[Finished, list]:
    events: list = []
    run_dir.mkdir(parents=True, exist_ok=True)
    result = run_training(config, run_dir, emit=events.append, should_stop=lambda: False)
    return result, events


def points(events: list, tag: str) -> tuple[np.ndarray, np.ndarray]:
    chunks = [e.points[tag] for e in events if isinstance(e, Metrics) and tag in e.points]
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def test_accumulation_4x16_matches_one_batch_of_64():
    torch.manual_seed(0)
    model_cfg = cfg.RunConfig().model
    a = build_model(model_cfg, (1, 8, 8), 10)
    b = build_model(model_cfg, (1, 8, 8), 10)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()  # no dropout randomness
    x = torch.randn(64, 1, 8, 8)
    y = torch.randint(0, 10, (64,))
    idx = torch.randperm(64)
    out = torch.full((64,), -1, dtype=torch.int64)
    loss_a, classes_a = forward_backward(a, x, y, idx, 16, predictions=out)
    loss_b, classes_b = forward_backward(b, x, y, idx, 64)
    assert torch.allclose(loss_a, loss_b, atol=1e-6)
    assert classes_a is out  # written in place, in the order of idx
    assert torch.equal(classes_a, classes_b)
    with torch.no_grad():
        assert torch.equal(classes_a, a(x[idx]).argmax(1))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6)


def test_uneven_last_micro_batch_still_matches():
    torch.manual_seed(1)
    model_cfg = cfg.RunConfig().model
    a = build_model(model_cfg, (1, 8, 8), 10)
    b = build_model(model_cfg, (1, 8, 8), 10)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x, y = torch.randn(50, 1, 8, 8), torch.randint(0, 10, (50,))
    idx = torch.arange(50)
    forward_backward(a, x, y, idx, 16)  # 16 + 16 + 16 + 2
    forward_backward(b, x, y, idx, 50)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6)


def test_clip_gradients_returns_norm_before_clipping():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])  # norm 5
    q = torch.nn.Parameter(torch.zeros(1))
    q.grad = torch.tensor([12.0])  # global norm sqrt(25 + 144) = 13
    norm = clip_gradients([p, q], 1.0)
    assert float(norm) == pytest.approx(13.0)
    after = math.sqrt(float(p.grad.square().sum() + q.grad.square().sum()))
    assert after == pytest.approx(1.0, rel=1e-4)
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])
    assert float(clip_gradients([p], 0.0)) == pytest.approx(5.0)
    assert torch.equal(p.grad, torch.tensor([3.0, 4.0, 0.0, 0.0]))  # 0 = off


def test_early_stopping_decision():
    stopper = EarlyStopping(patience=2)
    assert stopper.update(1.0, 0) == (False, "")
    assert stopper.update(0.8, 1) == (False, "")
    assert stopper.update(0.9, 2)[0] is False
    stop, reason = stopper.update(float("nan"), 3)
    assert stop and "not improved for 2 epochs" in reason and "epoch 2" in reason
    assert stopper.best_epoch == 1 and stopper.best_loss == 0.8


def test_run_writes_metrics_folder_and_checkpoint(tmp_path):
    config = small_config(**{"train.grad_accum": 2, "data.batch_size": 32})
    result, events = train(config, tmp_path / "run")
    started = events[0]
    assert isinstance(started, Started) and started.effective_batch == 64
    assert result.status == "finished" and result.epochs_done == 3
    assert result.steps == started.total_steps == 3 * started.steps_per_epoch
    steps, losses = points(events, "train/loss")
    assert steps.tolist() == list(range(1, result.steps + 1))  # every step, none lost
    assert np.isfinite(losses).all() and losses[-10:].mean() < losses[:10].mean()
    _, lrs = points(events, "opt/lr")
    assert lrs.max() == pytest.approx(config.optim.lr, rel=1e-6)  # warmup reaches the peak
    assert lrs[-1] == pytest.approx(config.optim.lr * 0.1, rel=0.05)  # decays to 0.1x
    evals = [e for e in events if isinstance(e, Evaluated)]
    assert [e.epoch for e in evals] == [0, 1, 2]
    assert 0.0 <= evals[-1].metrics["val/accuracy"] <= 1.0
    run = tmp_path / "run"
    status = json.loads((run / rundir.STATUS_FILE).read_text())
    assert status["status"] == "finished"
    assert list(run.glob("events.out.tfevents.*"))
    checkpoint = torch.load(run / rundir.CHECKPOINT_FILE, weights_only=True)
    assert checkpoint["step"] == result.steps
    assert cfg.loads(checkpoint["config"]) == config
    model = build_model(config.model, (1, 8, 8), 10)
    model.load_state_dict(checkpoint["model"])


def test_event_file_is_read_back_by_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = small_config(**{"train.epochs": 2})
    result, events = train(config, tmp_path / "run")
    acc = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/accuracy", "opt/lr", "opt/grad_norm"} <= tags
    assert len(acc.Scalars("train/loss")) == result.steps
    assert len(acc.Scalars("val/loss")) == 2
    _, losses = points(events, "train/loss")
    read = np.array([e.value for e in acc.Scalars("train/loss")])
    assert np.allclose(read, losses, rtol=1e-6)


def test_early_stopping_restores_best_weights(tmp_path):
    config = small_config(
        **{
            "data.dataset": "blobs",
            "model.hidden": [256, 256],
            "optim.lr": 0.05,
            "schedule.kind": "constant",
            "train.epochs": 40,
            "train.early_stopping": True,
            "train.patience": 2,
        }
    )
    result, events = train(config, tmp_path / "run")
    evals = [e for e in events if isinstance(e, Evaluated)]
    assert result.epochs_done < 40, "expected early stopping on a high-lr run"
    assert "early stopping" in result.reason and "restored the best weights" in result.reason
    losses = [e.metrics["val/loss"] for e in evals]
    best = int(np.nanargmin(losses))
    assert result.summary["best_epoch"] == best + 1
    assert len(evals) - 1 - best == 2  # stopped after `patience` bad epochs
    checkpoint = torch.load(tmp_path / "run" / rundir.CHECKPOINT_FILE, weights_only=True)
    assert checkpoint["best_val_loss"] == pytest.approx(losses[best])


@pytest.mark.parametrize("lr", [1e6, 1e12])
def test_lr_far_too_high_ends_diverged_with_logs(tmp_path, lr):
    # 1e6 turns the loss into NaN; 1e12 keeps it finite but ~1e33: both are lost runs.
    patch = {"optim.lr": lr, "optim.name": "sgd", "schedule.kind": "constant"}
    config = small_config(**{**patch, "train.epochs": 20})
    result, events = train(config, tmp_path / "run")
    assert result.status == "diverged"
    assert "consecutive steps" in result.reason
    assert result.epochs_done == 0  # stopped within the first epoch, not after 20
    _, losses = points(events, "train/loss")
    assert (~np.isfinite(losses[-10:]) | (losses[-10:] > 1e3 * losses[0])).all()
    assert json.loads((tmp_path / "run" / rundir.STATUS_FILE).read_text())["status"] == "diverged"


def test_isolated_nan_batches_are_logged_and_skipped(tmp_path):
    from traindoc.engine.data.datasets import load_dataset

    digits = load_dataset("digits")
    x = digits.x.reshape(len(digits.y), -1).copy()
    x[::97] = np.nan  # a few poisoned samples
    np.savez(tmp_path / "poisoned.npz", x=x, y=digits.y)
    config = small_config(
        **{"data.dataset": f"npz:{tmp_path / 'poisoned.npz'}", "data.normalize": False}
    )
    result, events = train(config, tmp_path / "run")
    _, losses = points(events, "train/loss")
    nan_steps = int((~np.isfinite(losses)).sum())
    assert 0 < nan_steps < len(losses)  # isolated NaN steps, not all of them
    assert result.status == "finished"
    assert np.isfinite(losses[np.isfinite(losses)]).all() and np.nanmin(losses) < 1.0
