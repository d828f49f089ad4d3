"""Every run of ../shared/realruns (third-party logs, read in place; skipped when absent)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from traindoc.engine.tb.discovery import find_runs
from traindoc.engine.tb.reader import EventFileReader, load_run

from .helpers import REALRUNS, independent_points

pytestmark = pytest.mark.skipif(not REALRUNS.is_dir(), reason="../shared/realruns is absent")

def _yolo(parts: str, lr: str, metric: str) -> dict[str, str]:
    """A YOLO run: no total loss, so each split's loss is the sum of its parts."""
    names = sorted(parts.split())
    return {"train_loss": "+".join(f"train/{p}_loss" for p in names),
            "val_loss": "+".join(f"val/{p}_loss" for p in names),
            "lr": lr, "val_metric": metric}


def _sb3(*, loss: str | None = "train/loss", rollout: bool = True,
         evaluation: bool = False) -> dict[str, str]:
    """Stable-Baselines3: the reward is the objective (rollout/ on training, eval/ held out)."""
    roles = {"train_loss": loss, "lr": "train/learning_rate"} if loss else {}
    if rollout:
        roles["train_metric"] = "rollout/ep_rew_mean"
    if evaluation:
        roles["val_metric"] = "eval/mean_reward"
    return roles


_LIGHTNING = {"train_loss": "train_loss", "val_loss": "val_loss"}
_DLGN = {**_LIGHTNING, "train_accuracy": "train_acc", "val_accuracy": "val_acc"}
_PERCEIVER = {**_LIGHTNING, "val_accuracy": "val_acc"}
_KERAS = {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss"}
_SIGNLANG = {**_KERAS, "train_accuracy": "train/epoch_accuracy",
             "val_accuracy": "validation/epoch_accuracy"}
_YOLOV5 = _yolo("box obj cls", "x/lr0", "metrics/mAP_0.5")
_YOLOV8 = _yolo("box cls dfl", "lr/pg0", "metrics/mAP50(B)")
_TFT = {"train_loss": "train_loss_epoch", "val_loss": "val_loss", "lr": "lr-Ranger",
        "val_metric": "val_MAE"}
_DRUGSYN = {"train_loss": "train_loss", "val_loss": "valid_loss",
            "train_metric": "train_mean_squared_error",
            "val_metric": "valid_mean_squared_error"}

EXPECTED_ROLES = {
    "abdul_lstm_v0": _LIGHTNING,
    "acrobot_ppo_2_2": _sb3(),
    "acrobot_ppo_2_4": _sb3(evaluation=True),
    "acrobot_reinforce_17679": {"train_metric": "Reward/train"},
    "anchors_yolov5_exp12": _YOLOV5,
    "atari_dqn1": _sb3(evaluation=True),
    # YOLOv8-cls computes top-1 accuracy on the validation set
    "bbthesis_yolov8cls_train5": {"train_loss": "train/loss", "val_loss": "val/loss",
                                  "val_accuracy": "metrics/accuracy_top1"},
    "carracing_dqn1": _sb3(evaluation=True),
    "cifar_tf1_estimator": {"train_loss": "loss", "val_loss": "eval/loss",
                            "val_accuracy": "eval/accuracy"},
    "daphnia_yolov8_det": _YOLOV8,
    "daphnia_yolov8_seg": _yolo("box cls dfl seg", "lr/pg0", "metrics/mAP50(B)"),
    **dict.fromkeys(("dlgn_v0", "dlgn_v11", "dlgn_v39", "dlgn_v54", "dlgn_v58", "dlgn_v61",
                     "dlgn_v9"), _DLGN),
    "drugsyn_v14": _DRUGSYN,
    "drugsyn_v15": _DRUGSYN,
    "facial_v1_short": {"val_loss": "val_loss", "val_accuracy": "val_acc"},
    "ghi_optuna_120190": {"train_loss": "train_loss_step", "val_loss": "val_loss",
                          "lr": "lr-Adam", "val_metric": "val_MAE"},
    "glucose_tft_v0": {"train_loss": "train_loss_step", "val_loss": "val_loss",
                       "lr": "lr-Ranger21", "val_metric": "val_MAE"},
    "gymhandson_dqn1": _sb3(),
    # SAC: the critic's loss, not the actor's (minus a Q-value) nor a sum of both
    "gymhandson_sac3": _sb3(loss="train/critic_loss"),
    "helmet_yolov5_exp2": _YOLOV5,
    "irdsi_lightning_v3": {"train_loss": "train_loss_epoch", "val_loss": "val_loss",
                           "train_accuracy": "train_accuracy", "val_accuracy": "val_accuracy"},
    "irdsi_tblogs_v0": {"train_loss": "train_loss_step",
                        "train_accuracy": "train_accuracy_step"},
    "lander_pertopt_22312": _sb3(evaluation=True),
    "lander_perturbed_8132": _sb3(evaluation=True),
    "lander_ppo_9060": _sb3(evaluation=True),
    "lstm_tf1_estimator": {"train_loss": "loss_1"},
    **dict.fromkeys(("lstmdef_keras_002", "lstmdef_keras_003", "lstmdef_keras_037"), _KERAS),
    "mario_ppo_smallbatch6": _sb3(),
    "mario_ppo_trial4": _sb3(),
    "pallet_yolov5_exp24": _YOLOV5,
    "pallet_yolov5_exp7": _YOLOV5,
    **dict.fromkeys(("perceiver_v0", "perceiver_v13", "perceiver_v15", "perceiver_v9"),
                    _PERCEIVER),
    "riverreading_yolov5_exp2": _YOLOV5,
    "signlang_16412": {**_SIGNLANG, "lr": "train/epoch_lr"},
    "signlang_17064": _SIGNLANG,
    "signlang_7152": _SIGNLANG,
    # a bare mAP is computed on held-out data
    "sketchvlm_1765986614": {**_LIGHTNING, "val_metric": "mAP"},
    "sketchvlm_1768886380": {**_LIGHTNING, "val_metric": "mAP"},
    # TF1 training summaries under metrics/ (not YOLO's validation namespace)
    "tempo_tf1_112302": {"train_loss": "loss", "train_accuracy": "metrics/silence_accuracy",
                         "train_metric": "metrics/perplexity"},
    "tetris_dqn2": _sb3(loss=None, rollout=False, evaluation=True),
    # a logged total beats the sum of the parts
    "tfod_ssd_mobnet": {"train_loss": "train/Loss/total_loss",
                        "val_loss": "eval/Loss/total_loss", "lr": "train/learning_rate",
                        "val_metric": "eval/DetectionBoxes_Precision/mAP"},
    **dict.fromkeys(("tft_optuna_v0", "tft_optuna_v1", "tft_optuna_v2"), _TFT),
    "tsd_yolov5_expl": _YOLOV5,
    "ufedge_yolov8_det": _YOLOV8,
    "vae_klbeta05": {**_LIGHTNING, "train_metric": "train_recon_mse",
                     "val_metric": "val_recon_mse"},
    "warcraft_optuna_v1": {"train_loss": "train_loss_epoch", "val_loss": "val_loss",
                           "lr": "lr-Ranger", "train_metric": "_train_MAE_epoch",
                           "val_metric": "_val_MAE"},
}


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
    helmet = runs["helmet_yolov5_exp2"]
    obj = helmet.scalars["val/obj_loss"]
    i = int(obj.values.argmin())
    assert obj.steps[i] == 65 and math.isclose(obj.values[i], 0.00897, rel_tol=2e-3)
    # ... and its validation loss is the sum of its three parts at every epoch
    total = helmet.scalars[helmet.roles["val_loss"]]
    parts = [helmet.scalars[f"val/{p}_loss"] for p in ("box", "cls", "obj")]
    assert len(total) == len(obj) == 150
    np.testing.assert_array_equal(total.steps, obj.steps)
    np.testing.assert_allclose(total.values, sum(p.values for p in parts), rtol=1e-12)
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
