"""Every run of ../shared/realruns (third-party logs, read in place; skipped when absent)."""

from __future__ import annotations

import math

import pytest

from engine.tb.discovery import find_runs
from engine.tb.reader import EventFileReader, load_run

from .helpers import REALRUNS, independent_points

pytestmark = pytest.mark.skipif(not REALRUNS.is_dir(), reason="../shared/realruns is absent")

EXPECTED_ROLES = {
    "abdul_lstm_v0": {"train_loss": "train_loss", "val_loss": "val_loss"},
    "cifar_tf1_estimator": {"train_loss": "loss", "val_loss": "eval/loss",
                            "val_accuracy": "eval/accuracy"},
    "facial_v1_short": {"val_loss": "val_loss", "val_accuracy": "val_acc"},
    "helmet_yolov5_exp2": {"train_loss": "train/obj_loss", "val_loss": "val/obj_loss",
                           "lr": "x/lr0"},
    "irdsi_lightning_v3": {"train_loss": "train_loss_epoch", "val_loss": "val_loss",
                           "train_accuracy": "train_accuracy", "val_accuracy": "val_accuracy"},
    "irdsi_tblogs_v0": {"train_loss": "train_loss_step",
                        "train_accuracy": "train_accuracy_step"},
    "lstm_tf1_estimator": {"train_loss": "loss_1"},
    "riverreading_yolov5_exp2": {"train_loss": "train/obj_loss", "val_loss": "val/obj_loss",
                                 "lr": "x/lr0"},
    "signlang_16412": {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss",
                       "train_accuracy": "train/epoch_accuracy",
                       "val_accuracy": "validation/epoch_accuracy", "lr": "train/epoch_lr"},
    "sketchvlm_1765986614": {"train_loss": "train_loss", "val_loss": "val_loss"},
    "sketchvlm_1768886380": {"train_loss": "train_loss", "val_loss": "val_loss"},
    "vae_klbeta05": {"train_loss": "train_loss", "val_loss": "val_loss"},
}
for _name in ("signlang_17064", "signlang_7152"):
    EXPECTED_ROLES[_name] = {k: v for k, v in EXPECTED_ROLES["signlang_16412"].items()
                             if k != "lr"}
for _name in ("tft_optuna_v0", "tft_optuna_v1", "tft_optuna_v2", "warcraft_optuna_v1"):
    EXPECTED_ROLES[_name] = {"train_loss": "train_loss_epoch", "val_loss": "val_loss",
                             "lr": "lr-Ranger"}


@pytest.fixture(scope="module")
def runs():
    return {src.name: load_run(src) for src in find_runs(REALRUNS)}


def test_every_run_found(runs):
    assert sorted(runs) == sorted(EXPECTED_ROLES)


@pytest.mark.parametrize("name", sorted(EXPECTED_ROLES))
def test_points_equal_an_independent_decode(runs, name):
    run = runs[name]
    want_total = 0
    for path in run.source.files:
        want = independent_points(path)
        chunk = EventFileReader(path).read(final=True)
        assert {t: len(s) for t, s in chunk.scalars.items()} == want
        want_total += sum(want.values())
    assert run.points == want_total
    assert not run.warnings


@pytest.mark.parametrize("name", sorted(EXPECTED_ROLES))
def test_roles(runs, name):
    assert runs[name].roles == EXPECTED_ROLES[name]


def test_numbers_match_the_labels_evidence(runs):
    # signlang_7152: "val acc exactly 0.03448 (1/29) every epoch"
    acc = runs["signlang_7152"].scalars["validation/epoch_accuracy"].values
    assert len(acc) == 59 and all(math.isclose(v, 1 / 29, rel_tol=1e-3) for v in acc)
    # helmet_yolov5_exp2: "val/obj_loss min 0.00897@65"
    obj = runs["helmet_yolov5_exp2"].scalars["val/obj_loss"]
    i = int(obj.values.argmin())
    assert obj.steps[i] == 65 and math.isclose(obj.values[i], 0.00897, rel_tol=2e-3)
    # irdsi_lightning_v3: "val_loss min 1.955@~1823 then rises to 2.003@14399"
    val = runs["irdsi_lightning_v3"].scalars["val_loss"]
    assert val.steps[-1] == 14399 and math.isclose(val.values[-1], 2.003, rel_tol=1e-3)
    # cifar: "eval accuracy 0.359->0.70"
    ev = runs["cifar_tf1_estimator"].scalars["eval/accuracy"].values
    assert math.isclose(ev[0], 0.359, abs_tol=1e-3) and math.isclose(ev[-1], 0.70, abs_tol=0.01)
    # steps are sorted in every series
    for run in runs.values():
        for s in run.scalars.values():
            assert (s.steps[1:] >= s.steps[:-1]).all()
