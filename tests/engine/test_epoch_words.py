"""A run's reason counts epochs in proper English: "completed 1 epoch", "for 1 epoch"
(issue 12, item 12)."""

from __future__ import annotations

import pytest

from traindoc.engine import config as cfg
from traindoc.engine.train.evaluation import EarlyStopping
from traindoc.engine.train.loop import run_training

from .cli_helpers import traindoc


def test_one_epoch_run_says_one_epoch(tmp_path):
    config = cfg.apply_patch(cfg.RunConfig(), {
        "name": "t", "data.dataset": "digits", "model.hidden": [16], "train.epochs": 1,
        "train.device": "cpu"})
    result = run_training(config, tmp_path, emit=lambda _e: None, should_stop=lambda: False)
    assert result.reason == "completed 1 epoch"


def test_early_stopping_after_one_epoch_says_one_epoch():
    stopper = EarlyStopping(patience=1)
    assert stopper.update(1.0, 0) == (False, "")
    stop, reason = stopper.update(1.5, 1)
    assert stop and reason.startswith("early stopping: val/loss has not improved for 1 epoch (")
    stopper = EarlyStopping(patience=2)
    stopper.update(1.0, 0)
    stopper.update(1.5, 1)
    assert "not improved for 2 epochs (" in stopper.update(1.5, 2)[1]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_train_summary_says_one_epoch(tmp_path):
    result = traindoc("train", "--set", "data.dataset=blobs", "--set", "train.epochs=1",
                      "--set", "train.device=cpu", "--quiet", "--logdir", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "— completed 1 epoch\n" in result.stdout
    summary = next(line for line in result.stdout.splitlines() if line.startswith("summary: "))
    assert ", 1 epoch, " in summary and "epochs" not in summary
    run = next((tmp_path / "out").iterdir())
    assert run.name.startswith("blobs-adamw-")  # the default name says the dataset
