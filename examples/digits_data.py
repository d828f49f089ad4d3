"""An example ``data.source``: the bundled 8x8 digits as ``(X, y)`` tensors.

    traindoc train --set data.source=examples/digits_data.py:load_digits \
                   --set model.source=examples/digits_model.py:make_mlp

``load_digits()`` takes no arguments and returns ``(train, val)``, each a pair of
tensors: inputs scaled to 0..1 (shape N x 1 x 8 x 8) and integer labels.
"""

from __future__ import annotations

import torch

from traindoc.engine.data.datasets import load_dataset

VAL_FRACTION = 0.2
SEED = 0


def load_digits() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The digits, shuffled once with a fixed seed, 80 % train and 20 % validation."""
    digits = load_dataset("digits")
    x = torch.as_tensor(digits.x) / 16.0  # pixel values 0..16
    y = torch.as_tensor(digits.y)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SEED))
    x, y = x[order], y[order]
    n_val = int(len(y) * VAL_FRACTION)
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])
