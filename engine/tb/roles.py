"""Mapping foreign tag names onto the canonical roles of SPEC §3.

A tag is split into lower-case word tokens (``Loss/train`` -> loss, train;
``_train_MAE_epoch`` -> train, mae, epoch; ``x/lr0`` -> x, lr, 0). Tokens say

* the metric: ``loss``; ``acc``/``accuracy``; ``lr``/``learning rate``;
  ``grad``+``norm``; ``samples``+``sec``; ``mem``/``memory``;
* the split: ``train``/``training`` or ``val``/``valid``/``validation``/``eval``/
  ``test`` (Keras ``validation/`` and TF1 ``eval/`` folders arrive here as tag
  prefixes, see ``discovery.py``); no split means training;
* the granularity: ``step`` or ``epoch`` (Lightning's ``_step``/``_epoch``,
  Keras's ``epoch_``);
* anything else is an extra word (``box`` in YOLOv5's ``train/box_loss``,
  ``ranger`` in Lightning's ``lr-Ranger``) that makes a tag a weaker match.

Among the candidates of a role the best is chosen by: the canonical tag
first; fewest extra words; validation words before ``test``; for a training
metric a plain name, then per-step, then per-epoch - unless the per-epoch series
of the same name has more points (Lightning logs ``_step`` only every 50 steps, so
on small data the per-epoch series is the denser one); for validation a plain name,
then per-epoch, then per-step; the lowest index (``x/lr0``, ``loss_1``).

**Losses in parts.** When a split logs no total loss but two or more parts of the
same granularity (YOLOv5's ``train/box_loss``, ``train/obj_loss``, ``train/cls_loss``;
YOLOv8's ``dfl_loss`` and ``seg_loss``), the role is their sum (SPEC §3): the
composite tag ``train/box_loss+train/cls_loss+train/obj_loss`` (parts joined by
``+`` in sorted order), whose series the reader builds from the steps all parts
share (``scalars.sum_parts``, ``scalars.PartSum`` when following). A logged total
(``Loss/total_loss`` of the TF2 Object Detection API, ``train/loss``) always wins.
Losses of separate objectives are never summed: an actor-critic logs
``actor_loss`` (minus a Q-value, which need not fall), ``critic_loss`` and
``ent_coef_loss``; its training loss is the critic's (the value loss for A2C).

**Objective metrics** (``train_metric``, ``val_metric``): a tag that is no loss,
accuracy, learning rate, gradient norm, throughput or memory and whose name gives
a direction (``traindoc.diagnostics.metrics.higher_is_better``). Its split: validation words
as above; training words or Stable-Baselines3's ``rollout/`` namespace mean
training; an mAP (``mAP``, ``metrics/mAP_0.5``) and YOLO's ``metrics/`` precision,
recall and top-k accuracy are computed on the validation set; anything else is
training. Candidates rank by kind - reward/return, mAP, other scores (F1, AUC, IoU,
BLEU, ...), error metrics (RMSE, MAE, perplexity, ...), precision/recall last - then
by the shortest name (``metrics/mAP_0.5`` before ``metrics/mAP_0.5:0.95``).
Lightning's ``hp_metric`` placeholder and ``epoch`` never qualify.

Users override any choice (``--role val_loss=Loss/test``, ``--role
val_metric=val_RMSE``, ``--role train_loss=train/box_loss+train/obj_loss``); a metric
override whose name gives no direction is refused.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping

from traindoc.diagnostics.metrics import (
    HIGHER_WORDS,
    LOWER_WORDS,
    higher_is_better,
    is_reward,
    words,
)
from traindoc.diagnostics.types import (  # the role vocabulary is the diagnostics'
    METRIC_ROLES,
    ROLES,
)
from traindoc.engine.tb.tags import TAG_ROLES

log = logging.getLogger(__name__)

LOSS_ROLES = ("train_loss", "val_loss")
SUM_SEP = "+"  # joins the parts of a composite (summed) tag

_TRAIN = {"train": 0, "training": 0, "trn": 0}
_VAL = {
    "val": 0, "valid": 0, "validation": 0, "eval": 0, "evaluation": 0,
    "test": 1, "dev": 1, "holdout": 1,
}
_GRANULARITY = {"step": "step", "steps": "step", "batch": "step", "epoch": "epoch"}
#: Words that say nothing about the series (namespaces, statistics of a metric).
_NEUTRAL = {
    "x", "opt", "optim", "optimizer", "perf", "metric", "metrics", "scalar", "scalars",
    "total", "overall", "mean", "avg", "per", "mb", "device", "gpu", "cuda", "peak",
    "allocated", "lightning", "logs",
}
#: Losses of separate objectives (RL actor/critic/policy/value/entropy, GAN generator and
#: discriminator): never summed; the critic's or value loss is the one that should fall.
_SEPARATE_OBJECTIVES = {
    "actor", "critic", "policy", "value", "entropy", "ent", "coef", "q", "qf", "alpha",
    "generator", "discriminator", "gen", "disc", "g", "d", "adversarial", "adv",
}
_COMPONENT_RANK = {"critic": 0, "value": 0, "qf": 0, "q": 0,
                   "actor": 2, "policy": 2, "entropy": 2, "ent": 2, "coef": 2}
_METRIC_WORDS = {
    "loss", "acc", "accuracy", "lr", "learning", "rate", "grad", "gradient", "norm",
    "samples", "sample", "sec", "second", "s", "throughput", "mem", "memory",
}
#: Objective-metric kinds, best first (see the module docstring).
_REWARD, _MAP, _SCORE, _ERROR, _PRECISION_RECALL = range(5)
#: YOLO's ``metrics/`` namespace holds validation results (mAP, precision, recall, top-k).
_YOLO_VAL_WORDS = {"map", "ap", "precision", "recall", "fitness", "top"}
_NEVER_METRICS = {"hp_metric", "epoch"}

_WORDS = re.compile(r"[a-z]+|[0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")


def tokens(tag: str) -> list[str]:
    return _WORDS.findall(_CAMEL.sub(r"\1_\2", tag).lower())


def sum_parts_of(tag: str, tags: Iterable[str] | Mapping[str, object]) -> tuple[str, ...] | None:
    """The parts of a composite tag (``a+b``) when every part is among ``tags``, else None."""
    if SUM_SEP not in tag:
        return None
    parts = tuple(tag.split(SUM_SEP))
    if len(parts) < 2 or any(not p for p in parts):
        return None
    have = tags if isinstance(tags, (Mapping, set, frozenset)) else set(tags)
    return parts if all(p in have for p in parts) else None


def composite_tag(parts: Iterable[str]) -> str:
    """The name of the sum of ``parts``: joined by ``+`` in sorted order."""
    return SUM_SEP.join(sorted(parts))


def _split(words_: list[str]):
    """``("train"|"val", split rank, a training word named)``, or None when the tag names
    both splits."""
    train = [w for w in words_ if w in _TRAIN]
    val = [w for w in words_ if w in _VAL]
    if train and val:
        return None  # e.g. "loss/train_vs_val": ambiguous
    return ("val" if val else "train"), max((_VAL[w] for w in val), default=0), bool(train)


@functools.lru_cache(maxsize=4096)
def _classify(tag: str):
    """``(role, sort key, granularity, stem, extra words)`` for a tag that can fill a
    role, else None.

    ``stem``: the tag's tokens without granularity words (``train_loss_step`` and
    ``train_loss_epoch`` share one); the extra words of a loss name its part (``box``).
    A function of the name alone, worked out once per name (the runs of a tree share
    their tags); the tuple is immutable.
    """
    words_ = tokens(tag)
    if not words_:
        return None
    present = set(words_)
    split = _split(words_)
    if split is None:
        return None
    split_name, split_rank, named_train = split
    val = split_name == "val"
    gran = [_GRANULARITY[w] for w in words_ if w in _GRANULARITY]
    g = gran[-1] if gran else None
    stem = tuple(w for w in words_ if w not in _GRANULARITY)
    numbers = [int(w) for w in words_ if w.isdigit()]
    extras = [
        w for w in words_
        if w not in _TRAIN and w not in _VAL and w not in _GRANULARITY
        and w not in _NEUTRAL and w not in _METRIC_WORDS and not w.isdigit()
    ]
    if "loss" in present:
        if present & {"acc", "accuracy", "lr"}:
            return None
        role = f"{split_name}_loss"
    elif present & {"acc", "accuracy"}:
        if not val and not named_train and _yolo_validation(words_):
            val, split_name = True, "val"  # YOLOv8-cls ``metrics/accuracy_top1``
        role = f"{split_name}_accuracy"
    elif "lr" in present or {"learning", "rate"} <= present:
        role = "lr"
    elif present & {"grad", "gradient"} and "norm" in present:
        role = "grad_norm"
    elif (present & {"samples", "sample"} and present & {"sec", "second", "s"}) or (
        "throughput" in present
    ):
        role = "samples_per_sec"
    elif present & {"mem", "memory"}:
        role = "device_mem_mb"
    else:
        return _classify_metric(tag, words_, split_name, split_rank, named_train, g, stem,
                                numbers)
    if role in ("lr", "grad_norm", "samples_per_sec", "device_mem_mb") and val:
        return None  # evaluation throughput etc. are not the training series
    component = min((_COMPONENT_RANK.get(w, 1) for w in extras), default=0)
    key = (
        0 if TAG_ROLES.get(tag) == role else 1,
        len(extras),
        component,
        split_rank,
        _gran_rank(role, g),
        min(numbers, default=0),
        len(tag),
        tag,
    )
    return role, key, g, stem, tuple(extras)


def _gran_rank(role: str, g: str | None) -> int:
    if role.startswith("val"):
        return {None: 0, "epoch": 1, "step": 2}[g]
    return {None: 0, "step": 1, "epoch": 2}[g]


def _yolo_validation(words_: list[str]) -> bool:
    """YOLO's ``metrics/...``: computed on the validation set."""
    return words_[0] == "metrics" and bool(set(words_) & _YOLO_VAL_WORDS)


def _metric_kind(tag: str) -> int:
    w = words(tag)
    if is_reward(tag):
        return _REWARD
    if w & {"map", "ap"}:
        return _MAP
    if higher_is_better(tag) is False:
        return _ERROR
    if w & (HIGHER_WORDS - {"precision", "recall"}):
        return _SCORE
    return _PRECISION_RECALL


def _classify_metric(tag, words_, split_name, split_rank, named_train, g, stem, numbers):
    if tag.rsplit("/", 1)[-1].lower() in _NEVER_METRICS or higher_is_better(tag) is None:
        return None
    # No split word: an mAP, and YOLO's metrics/ namespace, are validation results.
    unsplit = split_name == "train" and not named_train and words_[0] != "rollout"
    if unsplit and ("map" in words(tag) or _yolo_validation(words_)):
        split_name = "val"
    role = f"{split_name}_metric"
    key = (
        1,
        _metric_kind(tag),
        split_rank,
        sum(len(w) for w in stem),  # the plain/shortest name of its kind
        _gran_rank(role, g),
        min(numbers, default=0),
        len(tag),
        tag,
    )
    return role, key, g, stem, ()


def _ranked(tags: Iterable[str], have: Mapping[str, int] | set[str]) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    for tag in tags:
        if sum_parts_of(tag, have) is not None:
            continue  # a sum we built ourselves: its parts are the candidates
        got = _classify(tag)
        if got is not None:
            found.setdefault(got[0], []).append(got[1:])
    for role in found:
        found[role].sort()
    return found


def _parts_sum(ranked: list[tuple], counts: Mapping[str, int], role: str) -> str | None:
    """The composite tag of a loss logged only in parts (see the module docstring), or None."""
    if not ranked or not ranked[0][3]:  # a total (no extra word) is logged
        return None
    if any(set(extras) & _SEPARATE_OBJECTIVES for *_, extras in ranked):
        return None
    groups: dict[tuple, list[str]] = {}
    for key, gran, _stem, _extras in ranked:
        groups.setdefault((key[3], _gran_rank(role, gran), gran), []).append(key[-1])
    options = [(k, tags) for k, tags in sorted(groups.items()) if len(tags) >= 2]
    if not options:
        return None
    (_, _, gran), parts = options[0]
    if gran == "step" and role == "train_loss":
        # A sparse per-step logging loses to the denser per-epoch one (as for a total).
        for (_, _, other), others in options[1:]:
            if other == "epoch":
                if min(counts.get(t, 0) for t in others) > min(counts.get(t, 0) for t in parts):
                    parts = others
                break
    return composite_tag(parts)


def _best(role: str, ranked: list[tuple], counts: Mapping[str, int]) -> str:
    if role in LOSS_ROLES:
        summed = _parts_sum(ranked, counts, role)
        if summed is not None:
            return summed
    best_key, best_gran, best_stem, _ = ranked[0]
    if best_gran == "step" and not role.startswith("val"):
        # A sparser per-step series loses to the per-epoch one of the same metric.
        for key, gran, stem, _ in ranked[1:]:
            if gran == "epoch" and stem == best_stem:
                if counts.get(key[-1], 0) > counts.get(best_key[-1], 0):
                    best_key = key
                break
    return best_key[-1]


def role_candidates(tags: Iterable[str]) -> dict[str, list[str]]:
    """Every tag that could fill each role, best first (for the GUI's override menus).

    A loss logged only in parts offers the sum of its parts first.
    """
    tags = list(tags)
    have = set(tags)
    out: dict[str, list[str]] = {}
    for role, ranked in _ranked(tags, have).items():
        names = [entry[0][-1] for entry in ranked]
        if role in LOSS_ROLES:
            summed = _parts_sum(ranked, {}, role)
            if summed is not None:
                names.insert(0, summed)
        out[role] = names
    return out


def check_metric_override(role: str, tag: str) -> None:
    """ValueError when ``tag`` cannot be an objective metric: its name gives no direction."""
    if role in METRIC_ROLES and tag and higher_is_better(tag) is None:
        raise ValueError(
            f"role override {role}={tag}: the name does not say whether higher or lower is "
            f"better; higher-is-better words: {', '.join(sorted(HIGHER_WORDS))}; "
            f"lower-is-better words: {', '.join(sorted(LOWER_WORDS))}"
        )


def infer_roles(
    tags: Iterable[str] | Mapping[str, int], *, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map canonical roles to the tags that fill them.

    ``tags``: tag names, or a mapping tag -> number of points (lets a denser
    per-epoch training series win over a sparse per-step one). ``overrides``:
    role -> tag, applied first; an empty tag unmaps the role; an override
    naming a tag the run lacks is ignored for that run; a composite override
    (``a+b``) is the sum of tags the run has. Unknown roles, and metric overrides
    whose name gives no direction, raise ``ValueError``. Composite tags in ``tags``
    whose parts are all there (sums built by a reader) are not candidates themselves.
    """
    counts = dict(tags) if isinstance(tags, Mapping) else dict.fromkeys(tags, 0)
    overrides = dict(overrides or {})
    for role, tag in overrides.items():
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
        check_metric_override(role, tag)
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for role, tag in overrides.items():
        if tag and (tag in counts or sum_parts_of(tag, counts) is not None):
            chosen[role] = tag
            used.add(tag)
        elif tag:
            log.info("role override %s=%s: no such tag in this run", role, tag)
    found = _ranked((t for t in counts if t not in used), counts)
    for role in ROLES:
        if role in overrides or role not in found:
            continue
        chosen[role] = _best(role, found[role], counts)
    return {role: chosen[role] for role in ROLES if role in chosen}


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["val_loss=Loss/test", ...]`` -> ``{"val_loss": "Loss/test"}``; ValueError if malformed
    (or a metric override whose name gives no direction)."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, tag = item.partition("=")
        role = role.strip()
        if not sep or role not in ROLES:
            raise ValueError(
                f"bad role override {item!r}: expected ROLE=TAG with ROLE one of {', '.join(ROLES)}"
            )
        tag = tag.strip()
        check_metric_override(role, tag)
        out[role] = tag
    return out
