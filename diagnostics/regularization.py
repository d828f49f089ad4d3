"""What a run's weight decay says about a model that cannot fit (SPEC §4, the seed).

The seed's cure for overfitting is regularization ("过拟合 → 正则化": weight_decay=0.01
with AdamW, 1e-4 with SGD); its underfitting is a model that cannot learn enough.
A weight decay far above those values is the one setting that, on its own, keeps a
model from fitting: every step pulls each weight toward zero by lr x decay, so the
weights stay small, the logits flat and the loss near chance however big the model.
Only a known config carries the optimizer a decay belongs to (0.1 is ordinary for
AdamW and extreme for SGD), so the config decides, never the curve, as for the
learning rate (:mod:`traindoc.diagnostics.learning_rate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traindoc.diagnostics.remedies import get, seed_weight_decay
from traindoc.diagnostics.wording import times

#: "Far too high": at least this many times the seed's decay. Common practice stays
#: well inside it: 5e-4 with SGD on CIFAR ResNets (5x), 0.1 with AdamW for language
#: models (10x); at 100x (0.01 with SGD, 1.0 with AdamW) each step shrinks every
#: weight 100 times as much as the seed's settings do.
FAR_TOO_HIGH = 100.0

#: The cause of a finding explained by a weight decay far too high.
HEAVY_DECAY = "heavy-weight-decay"

#: The optimizers whose decay is known to mean what the seed's does.
KNOWN_OPTIMIZERS = ("adam", "adamw", "sgd", "momentum")


def weight_decay_far_too_high(config: Mapping[str, Any] | None) -> str | None:
    """Evidence that the configured weight decay is far above the usual one for its
    optimizer, or None (unknown config or optimizer, or a decay within ``FAR_TOO_HIGH``
    of the usual one)."""
    name, decay = get(config, "optim.name"), get(config, "optim.weight_decay")
    if name not in KNOWN_OPTIMIZERS or isinstance(decay, bool) or not isinstance(
            decay, (int, float)):
        return None
    ref = seed_weight_decay(config)
    if decay < ref * FAR_TOO_HIGH:
        return None
    return (f"the weight decay {float(decay):.4g} is {times(decay / ref)} the usual {ref:g} "
            f"for {name}: it pulls the weights toward zero faster than they learn")
