"""Role inference: foreign tag names onto SPEC §3's canonical roles."""

from __future__ import annotations

import pytest

from traindoc.engine.tb.roles import infer_roles, parse_overrides, role_candidates
from traindoc.engine.tb.tags import CANONICAL_TAGS


def test_canonical_tags_map_to_their_roles():
    assert infer_roles(CANONICAL_TAGS.values()) == CANONICAL_TAGS


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        # PyTorch SummaryWriter tutorials
        (["Loss/train", "Loss/test", "Accuracy/train", "Accuracy/test"],
         {"train_loss": "Loss/train", "val_loss": "Loss/test",
          "train_accuracy": "Accuracy/train", "val_accuracy": "Accuracy/test"}),
        # HuggingFace Trainer
        (["train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/loss",
          "eval/accuracy", "eval/runtime", "eval/samples_per_second",
          "train/train_samples_per_second"],
         {"train_loss": "train/loss", "val_loss": "eval/loss", "val_accuracy": "eval/accuracy",
          "lr": "train/learning_rate", "grad_norm": "train/grad_norm",
          "samples_per_sec": "train/train_samples_per_second"}),
        # Keras, namespaced by folder
        (["train/epoch_loss", "train/epoch_accuracy", "train/epoch_lr",
          "validation/epoch_loss", "validation/epoch_accuracy",
          "validation/evaluation_loss_vs_iterations"],
         {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss",
          "train_accuracy": "train/epoch_accuracy",
          "val_accuracy": "validation/epoch_accuracy", "lr": "train/epoch_lr"}),
        # Keras 1-style and plain names
        (["loss", "acc", "val_loss", "val_acc", "lr"],
         {"train_loss": "loss", "val_loss": "val_loss", "train_accuracy": "acc",
          "val_accuracy": "val_acc", "lr": "lr"}),
        (["training_loss", "validation_loss", "learning_rate", "gradient_norm"],
         {"train_loss": "training_loss", "val_loss": "validation_loss", "lr": "learning_rate",
          "grad_norm": "gradient_norm"}),
        (["train_loss", "test_loss", "accuracy"],
         {"train_loss": "train_loss", "val_loss": "test_loss", "train_accuracy": "accuracy"}),
        # Lightning: per-step training loss, per-epoch validation loss
        (["train_loss_step", "train_loss_epoch", "val_loss_step", "val_loss_epoch", "epoch",
          "hp_metric", "lr-Adam"],
         {"train_loss": "train_loss_step", "val_loss": "val_loss_epoch", "lr": "lr-Adam"}),
        # TF1 Estimator, eval/ folder joined
        (["loss", "global_step/sec", "eval/loss", "eval/accuracy"],
         {"train_loss": "loss", "val_loss": "eval/loss", "val_accuracy": "eval/accuracy"}),
        (["loss_1", "loss_2"], {"train_loss": "loss_1"}),
        # YOLOv5: components only, so their sum; first lr group; mAP on validation
        (["train/box_loss", "train/obj_loss", "train/cls_loss", "val/box_loss",
          "val/obj_loss", "val/cls_loss", "x/lr0", "x/lr1", "x/lr2", "metrics/mAP_0.5"],
         {"train_loss": "train/box_loss+train/cls_loss+train/obj_loss",
          "val_loss": "val/box_loss+val/cls_loss+val/obj_loss", "lr": "x/lr0",
          "val_metric": "metrics/mAP_0.5"}),
        # objective metrics, no loss
        (["_train_MAE_epoch", "_val_SMAPE", "train_kl_weight", "train_epoch_average", "mAP"],
         {"train_metric": "_train_MAE_epoch", "val_metric": "mAP"}),
        # things that are not roles
        (["train_kl_weight", "train_epoch_average", "loss/train_vs_val", "hp_metric", "epoch",
          "rollout/ep_len_mean", "time/fps"], {}),
        (["val_accuracy", "validation_accuracy", "val_loss", "test_loss"],
         {"val_accuracy": "val_accuracy", "val_loss": "val_loss"}),
    ],
)
def test_foreign_names(tags, expected):
    assert infer_roles(tags) == expected


def test_denser_per_epoch_training_loss_wins_over_sparse_per_step():
    counts = {"train_loss_step": 30, "train_loss_epoch": 50, "val_loss": 50}
    assert infer_roles(counts)["train_loss"] == "train_loss_epoch"
    counts["train_loss_step"] = 536
    assert infer_roles(counts)["train_loss"] == "train_loss_step"


def test_overrides():
    tags = ["Loss/train", "Loss/test", "Loss/holdout"]
    assert infer_roles(tags, overrides={"val_loss": "Loss/holdout"}) == {
        "train_loss": "Loss/train", "val_loss": "Loss/holdout"}
    # an override's tag is not reused for another role
    assert infer_roles(tags, overrides={"val_loss": "Loss/train"}) == {"val_loss": "Loss/train"}
    # empty unmaps; absent tag leaves the role unmapped for this run
    assert infer_roles(tags, overrides={"val_loss": ""}) == {"train_loss": "Loss/train"}
    assert infer_roles(tags, overrides={"lr": "nope"}) == {
        "train_loss": "Loss/train", "val_loss": "Loss/test"}
    with pytest.raises(ValueError, match="unknown role"):
        infer_roles(tags, overrides={"valid_loss": "Loss/test"})


def test_parse_overrides():
    assert parse_overrides(["val_loss=Loss/test", " lr = opt/lr0"]) == {
        "val_loss": "Loss/test", "lr": "opt/lr0"}
    for bad in (["val_loss"], ["loss=x"]):
        with pytest.raises(ValueError):
            parse_overrides(bad)


def test_role_candidates_best_first():
    got = role_candidates(["val/box_loss", "val/obj_loss", "Loss/test", "lr"])
    assert got["val_loss"] == ["Loss/test", "val/box_loss", "val/obj_loss"]
    assert got["lr"] == ["lr"]
    # parts without a total: their sum first
    got = role_candidates(["val/box_loss", "val/obj_loss", "val/cls_loss"])
    assert got["val_loss"] == ["val/box_loss+val/cls_loss+val/obj_loss", "val/box_loss",
                               "val/cls_loss", "val/obj_loss"]
