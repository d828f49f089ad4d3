"""The remedy catalogue of SPEC §4: id -> advice, PyTorch snippet, config patch.

Texts restate the seed's advice (the source document is the authority on the
numbers: lr / 10, max_norm=1.0, dropout 0.3-0.5, weight_decay=0.01, warmup over the
first 5% of steps, ...). Patches use the dotted keys of SPEC §6 and stay within the
config's limits (:mod:`traindoc.diagnostics.patch_limits`); a patch is computed
only when the run's config is known, and a remedy whose patch would change nothing
(already in place) is listed after the others as already tried. With the user's
own model or data (``model.source`` / ``data.source``), a patch of a key their code
does not take (a ``model.*`` option missing from ``model.accepts``; any ``data.*``
key but the batch size) is dropped: the remedy keeps its snippet, to apply in code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from traindoc.diagnostics import snippets
from traindoc.diagnostics.patch_limits import MAX_EPOCHS, MAX_LR, MAX_WIDTH
from traindoc.diagnostics.types import Diagnosis, Remedy

Config = Mapping[str, Any]
PatchBuilder = Callable[[Config], "dict[str, Any] | None"]

#: Image datasets of SPEC §6, the only ones ``data.augment`` applies to.
IMAGE_DATASETS = ("digits", "mnist", "cifar10")


def get(config: Config | None, dotted: str, default: Any = None) -> Any:
    """``config["a"]["b"]`` for ``"a.b"``; ``default`` when any part is missing."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _number(config: Config, key: str) -> float | None:
    v = get(config, key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _scaled_lr(factor: float) -> PatchBuilder:
    def build(config: Config) -> dict[str, Any] | None:
        lr = _number(config, "optim.lr")
        if lr is None:
            return None
        # lr / 10 rather than lr * 0.1: 0.01 / 10 is exactly 0.001; and 12 significant
        # digits, so that 1e-6 x 10 is 1e-05, not 9.999999999999999e-06.
        new = lr * factor if factor >= 1 else lr / round(1 / factor)
        return {"optim.lr": float(f"{min(new, MAX_LR):.12g}")}

    return build


def _warmup(config: Config) -> dict[str, Any]:
    # Seed: "前5%步数:学习率从0慢慢升到0.001" - warm up over the first 5% of steps.
    current = _number(config, "schedule.warmup") or 0.0
    warmup = max(current, 0.05)
    patch: dict[str, Any] = {"schedule.warmup": warmup}
    if get(config, "schedule.kind") == "constant":
        patch["schedule.kind"] = "warmup-plateau-decay"
    decay = _number(config, "schedule.decay")
    if decay is not None and warmup + decay > 1.0:  # warmup and decay share the run
        patch["schedule.decay"] = round(1.0 - warmup, 6)
    return patch


def _clip(config: Config) -> dict[str, Any]:
    # Seed: clip_grad_norm_(model.parameters(), max_norm=1.0); a tighter clip stays.
    current = _number(config, "train.clip_grad_norm") or 0.0
    return {"train.clip_grad_norm": current if 0.0 < current <= 1.0 else 1.0}


def _dropout(config: Config) -> dict[str, Any] | None:
    # Seed: "加Dropout层(0.3-0.5)".
    current = _number(config, "model.dropout")
    if current is None:
        return None
    if current >= 0.5:  # never lower it: the patch changes nothing, so it counts as tried
        return {"model.dropout": current}
    return {"model.dropout": round(min(0.5, max(0.3, current + 0.1)), 6)}


def _augment(config: Config) -> dict[str, Any] | None:
    dataset = str(get(config, "data.dataset", "")).split(":", 1)[0]
    return {"data.augment": True} if dataset in IMAGE_DATASETS else None


#: The seed's weight decays: "weight_decay=0.01" (AdamW, its default optimizer) and
#: "SGD lr 0.1, momentum 0.9, wd 1e-4" (momentum is SGD); any other optimizer gets 0.01.
SEED_WEIGHT_DECAY: dict[str, float] = {"sgd": 1e-4, "momentum": 1e-4}
DEFAULT_WEIGHT_DECAY = 0.01


def seed_weight_decay(config: Config | None) -> float:
    """The seed's weight decay for the config's optimizer."""
    return SEED_WEIGHT_DECAY.get(str(get(config, "optim.name")), DEFAULT_WEIGHT_DECAY)


def _weight_decay(config: Config) -> dict[str, Any]:
    # Overfitting: add the seed's decay; a stronger decay stays.
    current = _number(config, "optim.weight_decay") or 0.0
    return {"optim.weight_decay": max(current, seed_weight_decay(config))}


def _usual_weight_decay(config: Config) -> dict[str, Any]:
    # Underfitting under a decay far above the seed's: back to the seed's value.
    return {"optim.weight_decay": seed_weight_decay(config)}


def _widths(factor: float) -> PatchBuilder:
    def build(config: Config) -> dict[str, Any] | None:
        hidden = get(config, "model.hidden")
        if not isinstance(hidden, (list, tuple)) or not hidden:
            return None
        return {"model.hidden": [min(MAX_WIDTH, max(1, round(int(h) * factor))) for h in hidden]}

    return build


def _epochs(config: Config) -> dict[str, Any] | None:
    epochs = get(config, "train.epochs")
    return {"train.epochs": min(MAX_EPOCHS, int(epochs) * 2)} if isinstance(epochs, int) else None


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue entry."""

    id: str
    text: str
    snippet: str = ""
    patch: PatchBuilder | None = None


CATALOGUE: dict[str, Entry] = {
    e.id: e
    for e in (
        Entry("lower-lr", "Lower the learning rate ten-fold (e.g. lr 0.01 -> 0.001): the most "
              "common cause of a loss that jumps around, explodes or turns NaN.",
              snippets.LOWER_LR, _scaled_lr(0.1)),
        Entry("add-warmup", "Add a learning-rate warmup: start small and ramp up to the full "
              "rate over the first 5% of steps, then hold, then decay.",
              snippets.WARMUP, _warmup),
        Entry("clip-grad", "Clip the gradient norm to 1.0 before each optimizer step, so one "
              "bad batch cannot blow the weights up.", snippets.CLIP_GRAD, _clip),
        Entry("check-data", "Check the data: divisions by zero, huge values, missing "
              "normalization, NaN or Inf in the inputs or labels.", snippets.CHECK_DATA),
        Entry("gelu", "Use a smoother, more stable activation (ReLU -> GELU).",
              snippets.GELU, lambda c: {"model.activation": "gelu"}),
        Entry("raise-lr", "Raise the learning rate: the steps are too small to get anywhere "
              "(x10 when the loss barely moves, x2 when the model underfits).",
              snippets.RAISE_LR, _scaled_lr(10.0)),
        Entry("switch-to-adam", "Switch to AdamW at lr 0.001 (usually paired with "
              "weight_decay 0.01): it converges 2-5x faster than plain SGD without fine tuning "
              "of the learning rate.",
              snippets.ADAMW, lambda c: {"optim.name": "adamw", "optim.lr": 0.001}),
        Entry("early-stopping", "Stop early: keep the weights of the best validation loss and "
              "stop when it has not improved for 5 evaluations.",
              snippets.EARLY_STOPPING, lambda c: {"train.early_stopping": True}),
        Entry("more-dropout", "Add dropout (0.3-0.5) so the model cannot memorise the "
              "training data.", snippets.DROPOUT, _dropout),
        Entry("augment", "Augment the training data (random crop, flip, small rotation, "
              "brightness) so the model sees more variety.", snippets.AUGMENT, _augment),
        Entry("weight-decay", "Add weight decay (0.01 with AdamW, 1e-4 with SGD) to keep the "
              "weights small.", snippets.WEIGHT_DECAY, _weight_decay),
        Entry("smaller-model", "Use a smaller model (fewer layers or neurons): it has less "
              "room to memorise.", snippets.MODEL_SIZE, _widths(0.5)),
        Entry("more-data", "Collect more training data: the most fundamental cure for "
              "overfitting."),
        Entry("bigger-model", "Give the model more capacity (more layers, more neurons): it "
              "is too simple to learn the task.", snippets.MODEL_SIZE, _widths(2.0)),
        Entry("train-longer", "Train longer (more epochs): the model has not finished "
              "learning.", "", _epochs),
        Entry("better-model", "Switch to a stronger architecture for the task (e.g. ResNet -> "
              "EfficientNet)."),
        Entry("check-loss", "Check the loss itself: assert it is finite and bounded below "
              "where it should be, log the objective metric next to it at every evaluation, "
              "and check the targets (dtype, scale, shape) and the loss's sign; a learned "
              "variance must not be able to run to zero. A loss that improves while the "
              "metric gets worse is optimising the wrong thing.", snippets.CHECK_LOSS),
        # Speed and memory advice (SPEC §4), shown on request; no rule attaches these.
        Entry("mixed-precision", "Train in mixed precision on CUDA: 2-3x faster and half "
              "the memory, with almost no loss of accuracy.", snippets.AMP,
              lambda c: {"train.amp": "auto"}),
        Entry("grad-accumulation", "Short of memory? Accumulate gradients: micro-batch x steps "
              "= effective batch (16 x 4 = 64), and scale the learning rate to the effective "
              "batch.", snippets.ACCUMULATION),
        Entry("larger-batch", "Use a larger batch with a linearly scaled learning rate "
              "(batch x4 -> lr x4).", ""),
        Entry("dataloader-workers", "Load data in parallel: DataLoader(num_workers=4, "
              "pin_memory=True).", snippets.DATALOADER),
    )
}

#: The order to try remedies in, per rule and inferred cause (SPEC §4's table).
ORDER: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("nan-loss", "lr-too-large"): ("lower-lr", "add-warmup", "clip-grad", "check-data", "gelu"),
    ("nan-loss", "grad-explosion"): ("clip-grad", "lower-lr", "add-warmup", "gelu", "check-data"),
    ("nan-loss", "data"): ("check-data", "lower-lr", "clip-grad", "add-warmup", "gelu"),
    ("nan-loss", None): ("lower-lr", "check-data", "clip-grad", "gelu", "add-warmup"),
    ("divergence", None): ("lower-lr", "add-warmup", "clip-grad"),
    # A loss pulled back up by a weight decay far above the seed's: lower the decay.
    ("divergence", "heavy-weight-decay"): ("weight-decay", "lower-lr", "add-warmup",
                                           "clip-grad"),
    ("oscillation", None): ("lower-lr", "add-warmup", "clip-grad"),
    ("slow-descent", None): ("raise-lr", "switch-to-adam"),
    ("slow-descent", "lr-too-small"): ("raise-lr", "switch-to-adam"),
    ("overfitting", None): ("early-stopping", "more-dropout", "augment", "weight-decay",
                            "smaller-model", "more-data"),
    ("underfitting", None): ("bigger-model", "train-longer", "raise-lr", "better-model"),
    # A flat loss whose tiny change is a steady straight descent: steps too small.
    ("underfitting", "lr-too-small"): ("raise-lr", "switch-to-adam", "bigger-model",
                                       "train-longer", "better-model"),
    # A weight decay far above the seed's keeps any model from fitting: lower it first.
    ("underfitting", "heavy-weight-decay"): ("weight-decay", "bigger-model", "train-longer",
                                             "raise-lr", "better-model"),
    ("grad-explosion", None): ("clip-grad", "lower-lr"),
    # The loss improves while the objective metric worsens, or the loss degenerates.
    ("metric-mismatch", None): ("check-loss", "lower-lr"),
}

#: Per-rule (and cause) overrides of a patch: underfitting raises the LR x2, not x10
#: (seed: "提高学习率 lr × 2"), unless the steps are too small (seed: "乘以10").
_OVERRIDES: dict[tuple[str, str | None, str], PatchBuilder] = {
    ("underfitting", None, "raise-lr"): _scaled_lr(2.0),
    ("underfitting", "heavy-weight-decay", "raise-lr"): _scaled_lr(2.0),
    ("underfitting", "heavy-weight-decay", "weight-decay"): _usual_weight_decay,
    ("divergence", "heavy-weight-decay", "weight-decay"): _usual_weight_decay,
}
# The snippet that goes with an overridden patch (foreign logs get only the snippet).
_SNIPPET_OVERRIDES: dict[tuple[str, str | None, str], str] = {
    ("underfitting", None, "raise-lr"): snippets.RAISE_LR_UNDERFITTING,
    ("underfitting", "heavy-weight-decay", "raise-lr"): snippets.RAISE_LR_UNDERFITTING,
}
#: The advice that goes with an overridden patch.
_LOWER_DECAY = (
    "Lower the weight decay to the usual value (0.01 with AdamW, 1e-4 with SGD): a decay "
    "far above it keeps the weights, and so what the model can express, near zero.")
_TEXT_OVERRIDES: dict[tuple[str, str | None, str], str] = {
    ("underfitting", "heavy-weight-decay", "weight-decay"): _LOWER_DECAY,
    ("divergence", "heavy-weight-decay", "weight-decay"): _LOWER_DECAY,
}


def remedy(
    remedy_id: str, config: Config | None = None, *, rule: str = "", cause: str | None = None,
) -> Remedy:
    """One remedy, with its patch when ``config`` is known."""
    entry = CATALOGUE[remedy_id]
    build = _OVERRIDES.get((rule, cause, remedy_id), entry.patch)
    patch = None
    tried = False
    if config is not None and build is not None:
        full = build(config)
        if full is not None:
            patch = {k: v for k, v in full.items() if get(config, k, _MISSING) != v}
            tried = not patch
            patch = patch or full
            if not applies_to_user_code(config, patch):
                patch, tried = None, False
    snippet = _SNIPPET_OVERRIDES.get((rule, cause, remedy_id), entry.snippet)
    text = _TEXT_OVERRIDES.get((rule, cause, remedy_id), entry.text)
    return Remedy(entry.id, text, snippet=snippet, patch=patch, already_tried=tried)


_MISSING = object()
#: The ``data.*`` keys that still act on the user's own data (``data.source``).
USER_DATA_KEYS = ("data.batch_size",)


def applies_to_user_code(config: Config, patch: Mapping[str, Any]) -> bool:
    """Whether every key of ``patch`` reaches the user's model and data functions."""
    for key in patch:
        section, _, option = key.partition(".")
        accepts = get(config, "model.accepts") or ()
        if section == "model" and get(config, "model.source") and option not in accepts:
            return False
        if section == "data" and get(config, "data.source") and key not in USER_DATA_KEYS:
            return False
    return True


def remedies_for(
    rule: str, cause: str | None = None, config: Config | None = None,
) -> tuple[Remedy, ...]:
    """The remedies for a finding, in the order to try them.

    Remedies already in place in ``config`` come last, marked ``already_tried``;
    the first remaining one is "the next remedy".
    """
    order = ORDER.get((rule, cause)) or ORDER.get((rule, None), ())
    made = [remedy(rid, config, rule=rule, cause=cause) for rid in order]
    return tuple([r for r in made if not r.already_tried] + [r for r in made if r.already_tried])


def mark_tried(diagnosis: Diagnosis | None, tried: Mapping[str, set[str]]) -> Diagnosis | None:
    """Remedies applied along a run's fix lineage (``tried[rule]``: fixes of its
    ancestors that did not resolve the finding) become already-tried, listed last.

    The diagnosis only knows the config, where ``lower-lr`` applied once still has
    room to apply again; lineage says it was tried, so the next remedy is offered.
    """
    if diagnosis is None or not any(tried.values()):
        return diagnosis
    findings = []
    for finding in diagnosis.findings:
        done = tried.get(finding.rule, set())
        if not done:
            findings.append(finding)
            continue
        marked = [
            dataclasses.replace(r, already_tried=True) if r.id in done else r
            for r in finding.remedies
        ]
        ordered = [r for r in marked if not r.already_tried]
        ordered += [r for r in marked if r.already_tried]
        findings.append(dataclasses.replace(finding, remedies=tuple(ordered)))
    return dataclasses.replace(diagnosis, findings=tuple(findings))
