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
has more points (Lightning logs ``_step`` only every 50 steps, so on small
data the per-epoch series is the denser one); for validation a plain name,
then per-epoch, then per-step; the lowest index (``x/lr0``, ``loss_1``).
For loss components without a total (YOLOv5 logs box, obj and cls losses
only) the objectness loss is chosen: it is the one present in every YOLO model
(``cls`` is zero on one-class data) and the one that shows over-fitting first.
Users override any choice (``--role val_loss=Loss/test``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from diagnostics.types import ROLES  # the role vocabulary is the diagnostics' contract

log = logging.getLogger(__name__)

CANONICAL_TAGS = {
    "train_loss": "train/loss",
    "val_loss": "val/loss",
    "train_accuracy": "train/accuracy",
    "val_accuracy": "val/accuracy",
    "lr": "opt/lr",
    "grad_norm": "opt/grad_norm",
    "samples_per_sec": "perf/samples_per_sec",
    "device_mem_mb": "perf/device_mem_mb",
}
_CANONICAL_ROLE = {tag: role for role, tag in CANONICAL_TAGS.items()}

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
#: YOLO-style loss components when no total is logged (see the module docstring).
_COMPONENT_RANK = {"obj": 0, "box": 1, "cls": 2}
_METRIC_WORDS = {
    "loss", "acc", "accuracy", "lr", "learning", "rate", "grad", "gradient", "norm",
    "samples", "sample", "sec", "second", "s", "throughput", "mem", "memory",
}

_WORDS = re.compile(r"[a-z]+|[0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")


def tokens(tag: str) -> list[str]:
    return _WORDS.findall(_CAMEL.sub(r"\1_\2", tag).lower())


def _classify(tag: str):
    """``(role, sort key)`` for a tag that can fill a role, else None."""
    words = tokens(tag)
    if not words:
        return None
    present = set(words)
    train = [w for w in words if w in _TRAIN]
    val = [w for w in words if w in _VAL]
    if train and val:
        return None  # e.g. "loss/train_vs_val": ambiguous
    split = "val" if val else "train"
    gran = [_GRANULARITY[w] for w in words if w in _GRANULARITY]
    numbers = [int(w) for w in words if w.isdigit()]
    extras = [
        w for w in words
        if w not in _TRAIN and w not in _VAL and w not in _GRANULARITY
        and w not in _NEUTRAL and w not in _METRIC_WORDS and not w.isdigit()
    ]
    if "loss" in present:
        if present & {"acc", "accuracy", "lr"}:
            return None
        role = f"{split}_loss"
    elif present & {"acc", "accuracy"}:
        role = f"{split}_accuracy"
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
        return None
    if role in ("lr", "grad_norm", "samples_per_sec", "device_mem_mb") and val:
        return None  # evaluation throughput etc. are not the training series
    component = min((_COMPONENT_RANK.get(w, 3) for w in extras), default=0)
    g = gran[-1] if gran else None
    if role.startswith("val"):
        gran_rank = {None: 0, "epoch": 1, "step": 2}[g]
    else:
        gran_rank = {None: 0, "step": 1, "epoch": 2}[g]
    split_rank = max((_VAL[w] for w in val), default=0)
    key = (
        0 if _CANONICAL_ROLE.get(tag) == role else 1,
        len(extras),
        component,
        split_rank,
        gran_rank,
        min(numbers, default=0),
        len(tag),
        tag,
    )
    return role, key, g


def role_candidates(tags: Iterable[str]) -> dict[str, list[str]]:
    """Every tag that could fill each role, best first (for the GUI's override menus)."""
    found: dict[str, list[tuple]] = {}
    for tag in tags:
        got = _classify(tag)
        if got is not None:
            role, key, _ = got
            found.setdefault(role, []).append(key)
    return {role: [k[-1] for k in sorted(keys)] for role, keys in found.items()}


def infer_roles(
    tags: Iterable[str] | Mapping[str, int], *, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map canonical roles to the tags that fill them.

    ``tags``: tag names, or a mapping tag -> number of points (lets a denser
    per-epoch training series win over a sparse per-step one). ``overrides``:
    role -> tag, applied first; an empty tag unmaps the role; an override
    naming a tag the run lacks is ignored for that run. Unknown roles raise
    ``ValueError``.
    """
    counts = dict(tags) if isinstance(tags, Mapping) else dict.fromkeys(tags, 0)
    overrides = dict(overrides or {})
    for role in overrides:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for role, tag in overrides.items():
        if tag and tag in counts:
            chosen[role] = tag
            used.add(tag)
        elif tag:
            log.info("role override %s=%s: no such tag in this run", role, tag)
    found: dict[str, list[tuple]] = {}
    for tag in counts:
        if tag in used:
            continue
        got = _classify(tag)
        if got is not None:
            found.setdefault(got[0], []).append((got[1], got[2]))
    for role in ROLES:
        if role in overrides or role not in found:
            continue
        ranked = sorted(found[role])
        best_key, best_gran = ranked[0]
        if best_gran == "step" and not role.startswith("val"):
            # A sparser per-step series loses to the per-epoch one of the same metric.
            for key, gran in ranked[1:]:
                if gran == "epoch" and key[:4] == best_key[:4]:
                    if counts[key[-1]] > counts[best_key[-1]]:
                        best_key = key
                    break
        chosen[role] = best_key[-1]
    return {role: chosen[role] for role in ROLES if role in chosen}


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["val_loss=Loss/test", ...]`` -> ``{"val_loss": "Loss/test"}``; ValueError if malformed."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, tag = item.partition("=")
        role = role.strip()
        if not sep or role not in ROLES:
            raise ValueError(
                f"bad role override {item!r}: expected ROLE=TAG with ROLE one of {', '.join(ROLES)}"
            )
        out[role] = tag.strip()
    return out
