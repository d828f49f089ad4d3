"""Objective-metric roles, actor-critic losses and sums of loss parts (SPEC §3) from tag names."""

from __future__ import annotations

import pytest

from traindoc.engine.tb.roles import infer_roles, parse_overrides, role_candidates

YOLOV5 = ["train/box_loss", "train/obj_loss", "train/cls_loss", "metrics/precision",
          "metrics/recall", "metrics/mAP_0.5", "metrics/mAP_0.5:0.95", "val/box_loss",
          "val/obj_loss", "val/cls_loss", "x/lr0", "x/lr1", "x/lr2"]
YOLOV8_DETECT = ["train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision(B)",
                 "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
                 "val/box_loss", "val/cls_loss", "val/dfl_loss", "lr/pg0", "lr/pg1", "lr/pg2"]
YOLOV8_SEGMENT = [*YOLOV8_DETECT, "train/seg_loss", "val/seg_loss", "metrics/precision(M)",
                  "metrics/recall(M)", "metrics/mAP50(M)", "metrics/mAP50-95(M)"]
SB3_PPO = ["rollout/ep_len_mean", "rollout/ep_rew_mean", "time/fps", "train/approx_kl",
           "train/clip_fraction", "train/clip_range", "train/entropy_loss",
           "train/explained_variance", "train/learning_rate", "train/loss",
           "train/policy_gradient_loss", "train/std", "train/value_loss"]
SB3_DQN_EVAL = ["eval/mean_ep_length", "eval/mean_reward", "rollout/ep_len_mean",
                "rollout/ep_rew_mean", "rollout/exploration_rate", "time/fps",
                "train/learning_rate", "train/loss"]
SB3_SAC = ["rollout/ep_len_mean", "rollout/ep_rew_mean", "time/fps", "train/actor_loss",
           "train/critic_loss", "train/ent_coef", "train/ent_coef_loss", "train/learning_rate"]
SB3_A2C = ["rollout/ep_len_mean", "rollout/ep_rew_mean", "time/fps", "train/entropy_loss",
           "train/explained_variance", "train/learning_rate", "train/policy_loss",
           "train/value_loss"]
TFT = ["epoch", "hp_metric", "lr-Ranger", "train_loss_epoch", "train_loss_step", "val_MAE",
       "val_MAPE", "val_RMSE", "val_SMAPE", "val_loss"]
TFT_UNDERSCORED = ["_train_MAE_epoch", "_train_MAE_step", "_train_RMSE_epoch",
                   "_train_RMSE_step", "_train_SMAPE_epoch", "_train_SMAPE_step", "_val_MAE",
                   "_val_MAPE", "_val_RMSE", "_val_SMAPE", "epoch", "hp_metric", "lr-Ranger",
                   "train_loss_epoch", "train_loss_step", "val_loss"]
VAE = ["epoch", "hp_metric", "train_kl", "train_kl_weight", "train_log_precision",
       "train_loss", "train_model_precision", "train_recon_mse", "train_recon_nll", "val_kl",
       "val_log_precision", "val_loss", "val_model_precision", "val_recon_mse",
       "val_recon_nll"]
KERAS_AUC = ["train/epoch_loss", "train/epoch_auc", "train/epoch_accuracy",
             "validation/epoch_loss", "validation/epoch_auc", "validation/epoch_accuracy",
             "validation/evaluation_loss_vs_iterations"]
TFOD = ["train/Loss/classification_loss", "train/Loss/localization_loss",
        "train/Loss/regularization_loss", "train/Loss/total_loss", "train/learning_rate",
        "eval/Loss/classification_loss", "eval/Loss/localization_loss",
        "eval/Loss/regularization_loss", "eval/Loss/total_loss",
        "eval/DetectionBoxes_Precision/mAP", "eval/DetectionBoxes_Precision/mAP@.50IOU",
        "eval/DetectionBoxes_Precision/mAP (large)", "eval/DetectionBoxes_Recall/AR@100"]
HF_SEQ2SEQ = ["train/loss", "train/learning_rate", "eval/loss", "eval/bleu", "eval/rouge1",
              "eval/gen_len", "eval/runtime", "eval/samples_per_second"]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(YOLOV5, {
            "train_loss": "train/box_loss+train/cls_loss+train/obj_loss",
            "val_loss": "val/box_loss+val/cls_loss+val/obj_loss",
            "lr": "x/lr0", "val_metric": "metrics/mAP_0.5"}, id="yolov5"),
        pytest.param(YOLOV8_DETECT, {
            "train_loss": "train/box_loss+train/cls_loss+train/dfl_loss",
            "val_loss": "val/box_loss+val/cls_loss+val/dfl_loss",
            "lr": "lr/pg0", "val_metric": "metrics/mAP50(B)"}, id="yolov8-detect"),
        pytest.param(YOLOV8_SEGMENT, {
            "train_loss": "train/box_loss+train/cls_loss+train/dfl_loss+train/seg_loss",
            "val_loss": "val/box_loss+val/cls_loss+val/dfl_loss+val/seg_loss",
            "lr": "lr/pg0", "val_metric": "metrics/mAP50(B)"}, id="yolov8-segment"),
        pytest.param(["train/loss", "val/loss", "metrics/accuracy_top1",
                      "metrics/accuracy_top5", "lr/pg0"], {
            "train_loss": "train/loss", "val_loss": "val/loss",
            "val_accuracy": "metrics/accuracy_top1", "lr": "lr/pg0"}, id="yolov8-classify"),
        pytest.param(SB3_PPO, {"train_loss": "train/loss", "lr": "train/learning_rate",
                               "train_metric": "rollout/ep_rew_mean"}, id="sb3-ppo"),
        pytest.param(SB3_DQN_EVAL, {"train_loss": "train/loss", "lr": "train/learning_rate",
                                    "train_metric": "rollout/ep_rew_mean",
                                    "val_metric": "eval/mean_reward"}, id="sb3-dqn-eval"),
        pytest.param(SB3_SAC, {"train_loss": "train/critic_loss", "lr": "train/learning_rate",
                               "train_metric": "rollout/ep_rew_mean"}, id="sb3-sac"),
        pytest.param(SB3_A2C, {"train_loss": "train/value_loss", "lr": "train/learning_rate",
                               "train_metric": "rollout/ep_rew_mean"}, id="sb3-a2c"),
        pytest.param(["eval/mean_ep_length", "eval/mean_reward", "rollout/exploration rate"],
                     {"val_metric": "eval/mean_reward"}, id="sb3-eval-only"),
        pytest.param(["Reward/train"], {"train_metric": "Reward/train"}, id="reinforce"),
        pytest.param(TFT, {"train_loss": "train_loss_step", "val_loss": "val_loss",
                           "lr": "lr-Ranger", "val_metric": "val_MAE"}, id="tft"),
        pytest.param(TFT_UNDERSCORED, {"train_loss": "train_loss_step", "val_loss": "val_loss",
                                       "lr": "lr-Ranger", "train_metric": "_train_MAE_step",
                                       "val_metric": "_val_MAE"}, id="tft-underscored"),
        pytest.param(VAE, {"train_loss": "train_loss", "val_loss": "val_loss",
                           "train_metric": "train_recon_mse", "val_metric": "val_recon_mse"},
                     id="vae"),
        pytest.param(KERAS_AUC, {"train_loss": "train/epoch_loss",
                                 "val_loss": "validation/epoch_loss",
                                 "train_accuracy": "train/epoch_accuracy",
                                 "val_accuracy": "validation/epoch_accuracy",
                                 "train_metric": "train/epoch_auc",
                                 "val_metric": "validation/epoch_auc"}, id="keras"),
        pytest.param(TFOD, {"train_loss": "train/Loss/total_loss",
                            "val_loss": "eval/Loss/total_loss", "lr": "train/learning_rate",
                            "val_metric": "eval/DetectionBoxes_Precision/mAP"}, id="tfod"),
        pytest.param([t for t in TFOD if "total" not in t], {
            "train_loss": "train/Loss/classification_loss+train/Loss/localization_loss"
                          "+train/Loss/regularization_loss",
            "val_loss": "eval/Loss/classification_loss+eval/Loss/localization_loss"
                        "+eval/Loss/regularization_loss",
            "lr": "train/learning_rate", "val_metric": "eval/DetectionBoxes_Precision/mAP"},
            id="tfod-no-total"),
        pytest.param(HF_SEQ2SEQ, {"train_loss": "train/loss", "val_loss": "eval/loss",
                                  "lr": "train/learning_rate", "val_metric": "eval/bleu"},
                     id="hf-seq2seq"),
        pytest.param(["train_loss", "val_loss", "mAP", "epoch"],
                     {"train_loss": "train_loss", "val_loss": "val_loss", "val_metric": "mAP"},
                     id="bare-map"),
        pytest.param(["loss", "metrics/perplexity", "metrics/perplexity_per_step",
                      "metrics/silence_accuracy", "global_step/sec"],
                     {"train_loss": "loss", "train_accuracy": "metrics/silence_accuracy",
                      "train_metric": "metrics/perplexity"}, id="tf1-metrics-scope"),
        pytest.param(["train_loss", "val_loss", "val_iou", "test_iou", "val_precision",
                      "val_recall", "train_iou_step", "train_iou_epoch"],
                     {"train_loss": "train_loss", "val_loss": "val_loss",
                      "train_metric": "train_iou_step", "val_metric": "val_iou"},
                     id="lightning-iou"),
        pytest.param(["loss", "hp_metric", "epoch", "train/explained_variance", "time/fps"],
                     {"train_loss": "loss"}, id="no-metric"),
    ],
)
def test_roles_of_realistic_tag_sets(tags, expected):
    assert infer_roles(tags) == expected


def test_f1_is_a_metric():
    assert infer_roles(["train/f1", "val_f1"]) == {"train_metric": "train/f1",
                                                   "val_metric": "val_f1"}


def test_dense_per_epoch_metric_wins_like_the_loss():
    counts = dict.fromkeys(TFT_UNDERSCORED, 50)
    counts.update({"_train_MAE_step": 30, "train_loss_step": 30})
    roles = infer_roles(counts)
    assert roles["train_metric"] == "_train_MAE_epoch"
    assert roles["train_loss"] == "train_loss_epoch"


def test_kinds_rank_reward_then_map_then_scores_then_errors_then_precision():
    tags = ["val_precision", "val_rmse", "val_iou", "val_mAP", "val_return"]
    ranked = []
    while tags:
        best = infer_roles(tags)["val_metric"]
        ranked.append(best)
        tags.remove(best)
    assert ranked == ["val_return", "val_mAP", "val_iou", "val_rmse", "val_precision"]


def test_parts_sum_needs_two_parts_of_one_granularity():
    # one part alone is that part
    assert infer_roles(["train/box_loss"])["train_loss"] == "train/box_loss"
    # parts per step and per epoch are not mixed
    got = infer_roles(["train_box_loss_step", "train_cls_loss_step", "train_box_loss_epoch",
                       "train_cls_loss_epoch"])
    assert got["train_loss"] == "train_box_loss_step+train_cls_loss_step"
    got = infer_roles({"train_box_loss_step": 3, "train_cls_loss_step": 3,
                       "train_box_loss_epoch": 9, "train_cls_loss_epoch": 9})
    assert got["train_loss"] == "train_box_loss_epoch+train_cls_loss_epoch"
    # GAN losses are separate objectives, never summed
    assert "+" not in infer_roles(["loss_G", "loss_D"]).get("train_loss", "")


def test_a_sum_built_by_a_reader_is_not_a_candidate_itself():
    tags = ["val/box_loss", "val/obj_loss", "val/box_loss+val/obj_loss"]
    assert infer_roles(tags) == {"val_loss": "val/box_loss+val/obj_loss"}
    assert role_candidates(tags)["val_loss"] == [
        "val/box_loss+val/obj_loss", "val/box_loss", "val/obj_loss"]


def test_metric_overrides():
    assert infer_roles(TFT, overrides={"val_metric": "val_RMSE"})["val_metric"] == "val_RMSE"
    assert "val_metric" not in infer_roles(TFT, overrides={"val_metric": ""})
    # a sum of parts named by the user
    roles = infer_roles(YOLOV5, overrides={"train_loss": "train/box_loss+train/obj_loss"})
    assert roles["train_loss"] == "train/box_loss+train/obj_loss"
    # a tag whose name gives no direction is refused, with the words understood
    for bad in ({"val_metric": "eval/mean_ep_length"}, {"train_metric": "epoch"}):
        with pytest.raises(ValueError, match=r"does not say whether higher or lower") as info:
            infer_roles(SB3_DQN_EVAL, overrides=bad)
        message = str(info.value)
        assert next(iter(bad.values())) in message and "\n" not in message
        assert "reward" in message and "rmse" in message


def test_parse_overrides_of_the_new_roles():
    assert parse_overrides(["val_metric=val_MAE", "train_metric = rollout/ep_rew_mean"]) == {
        "val_metric": "val_MAE", "train_metric": "rollout/ep_rew_mean"}
    assert parse_overrides(["val_metric="]) == {"val_metric": ""}
    with pytest.raises(ValueError, match="val_metric=eval/mean_ep_length"):
        parse_overrides(["val_metric=eval/mean_ep_length"])
