"""Every fix the diagnostics offer for one of our runs passes the engine's validation."""

from __future__ import annotations

import pytest

from traindoc.diagnostics.remedies import ORDER, remedies_for
from traindoc.engine import config as cfg

EDGE_CONFIGS = {
    "default": {},
    "sgd-constant": {"optim.name": "sgd", "optim.lr": 0.1, "schedule.kind": "constant"},
    "widest": {"model.hidden": [65536], "train.epochs": 100000},
    "all-decay": {"schedule.warmup": 0.0, "schedule.decay": 1.0, "schedule.kind": "constant"},
    "heavy-dropout": {"model.dropout": 0.9, "train.clip_grad_norm": 0.5},
    "images": {"data.dataset": "mnist:/data", "model.arch": "cnn", "model.hidden": [1]},
}


@pytest.mark.parametrize("name", sorted(EDGE_CONFIGS))
def test_offered_patches_apply(name):
    config = cfg.apply_patch(cfg.RunConfig(), EDGE_CONFIGS[name])
    nested = cfg.to_dict(config)
    checked = 0
    assert ("metric-mismatch", None) in ORDER  # every rule's fixes are covered
    for rule, cause in ORDER:
        for remedy in remedies_for(rule, cause, nested):
            if remedy.patch and not remedy.already_tried:
                patched = cfg.apply_patch(config, remedy.patch)  # raises if invalid
                assert patched != config, (rule, cause, remedy.id)
                checked += 1
    assert checked > 10
