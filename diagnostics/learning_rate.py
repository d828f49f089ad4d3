"""What a run's learning rate says about a loss that does not move, or that exploded
(SPEC §4, the seed).

Only runs whose config is known (our engine's runs) carry an optimizer name, and
only for them is "this learning rate is far too low" a fact rather than a guess:
foreign logs may log an lr, but not the optimizer it belongs to, and a fine-tuning
run at 2e-5 with AdamW is normal practice. So the config decides, never the curve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traindoc.diagnostics.remedies import get
from traindoc.diagnostics.wording import times

#: The seed's usual initial learning rates: "常用初始学习率: 0.001(Adam优化器) 或
#: 0.1(SGD优化器)", and "SGD ... lr=0.1, 通常比Adam大100倍" (momentum is SGD).
REFERENCE_LR: dict[str, float] = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.1, "momentum": 0.1}

#: "Far too low": at least this many times below the reference. The seed's
#: too-small example is lr 0.000001 (1000x below Adam's 0.001, 100,000x below SGD's
#: 0.1) and its remedy is x10; a rate 100x below the reference still needs two such
#: steps, while the lr finders' suggestions for healthy runs sit within ~30x of it.
FAR_TOO_LOW = 100.0


def configured_lr(config: Mapping[str, Any] | None) -> tuple[str, float] | None:
    """(optimizer name, lr) from a known config, or None."""
    if config is None:
        return None
    name, lr = get(config, "optim.name"), get(config, "optim.lr")
    if name not in REFERENCE_LR or isinstance(lr, bool) or not isinstance(lr, (int, float)):
        return None
    return str(name), float(lr)


def lr_far_too_low(config: Mapping[str, Any] | None) -> str | None:
    """Evidence that the configured lr is far below the usual one for its optimizer, or None."""
    known = _lr_and_usual(config)
    if known is None or known[1] <= 0 or known[1] * FAR_TOO_LOW > known[2]:
        return None
    name, lr, ref = known
    return (f"the learning rate {lr:.4g} is {times(ref / lr)} below the usual {ref:g} "
            f"for {name}")


#: "Far too high": at least this many times above the reference. Alone it proves
#: nothing (a small model may train well at 10x); it turns a loss explosion the run
#: recovered from into a warning: the step that threw the loss 10x up was too large,
#: and the seed's first remedy for an explosion is a lower rate.
FAR_TOO_HIGH = 10.0


def lr_far_too_high(config: Mapping[str, Any] | None) -> str | None:
    """Evidence that the configured lr is far above the usual one for its optimizer, or None."""
    known = _lr_and_usual(config)
    if known is None or known[1] < known[2] * FAR_TOO_HIGH:
        return None
    name, lr, ref = known
    return f"the learning rate {lr:.4g} is {times(lr / ref)} the usual {ref:g} for {name}"


def _lr_and_usual(config: Mapping[str, Any] | None) -> tuple[str, float, float] | None:
    """(optimizer name, configured lr, the usual lr for that optimizer), or None."""
    known = configured_lr(config)
    return None if known is None else (*known, REFERENCE_LR[known[0]])
