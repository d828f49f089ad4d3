"""What a metric's name says about it: which way is better, and whether it is a reward.

SPEC §3: higher is better for accuracy, precision, recall, F1, AUC, mAP, IoU, Dice,
BLEU, ROUGE, reward, return, score; lower is better for error, MAE, MSE, RMSE, MAPE,
SMAPE, perplexity, WER, CER, distance. The tag reader uses this to fill the
``train_metric`` / ``val_metric`` roles, and the rules to read them the right way up.
"""

from __future__ import annotations

import functools
import re

HIGHER_WORDS = frozenset({
    "accuracy", "acc", "top1", "top5", "precision", "recall", "f1", "fscore", "auc", "auroc",
    "map", "ap", "iou", "miou", "dice", "bleu", "rouge", "reward", "rew", "return", "score",
    "r2", "psnr", "ssim", "fitness", "success",
})
LOWER_WORDS = frozenset({
    "error", "err", "mae", "mse", "rmse", "mape", "smape", "perplexity", "ppl", "wer", "cer",
    "distance", "dist", "nll", "fid",
})
REWARD_WORDS = frozenset({"reward", "rew", "return"})

_SPLIT = re.compile(r"[a-z]+|[0-9]+")
_ALNUM = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")


def words(tag: str) -> set[str]:
    """Lower-case words of a tag, with and without camel-case splitting
    (``metrics/mAP50(B)`` -> map, 50, map50, b, m, ap; ``val_f1`` -> val, f, 1, f1)."""
    low = tag.lower()
    out = set(_SPLIT.findall(low))
    out.update(_ALNUM.findall(low))  # f1, r2, top1: a name with its digit
    out.update(_SPLIT.findall(_CAMEL.sub(r"\1_\2", tag).lower()))
    return out


@functools.lru_cache(maxsize=4096)
def higher_is_better(tag: str) -> bool | None:
    """True / False from the tag's words; None when it names no known metric (or both).
    Worked out once per name: every rule asks it of the run's tags, every run of a tree
    has the same ones."""
    w = words(tag)
    # "loss" wins: a part of the objective, never a score ("ap_loss" is still a loss).
    if "loss" in w:
        return False
    up, down = bool(w & HIGHER_WORDS), bool(w & LOWER_WORDS)
    if up == down:
        return None
    return up


@functools.lru_cache(maxsize=4096)
def is_reward(tag: str) -> bool:
    """A reinforcement-learning reward or return: the objective itself, while the RL
    losses are not what the agent optimises (SPEC §3)."""
    w = words(tag)
    return bool(w & REWARD_WORDS) and "loss" not in w
