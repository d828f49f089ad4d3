"""The largest config values a remedy's patch may set: defined here, once.

A patch never leaves the range engine's validation accepts, so every offered fix
can be applied. The values belong to the config (SPEC §6), but the remedies
(:mod:`traindoc.diagnostics.remedies`) may not import engine, so the three
ceilings a patch can reach live at this lower layer and
:mod:`traindoc.engine.config_limits` takes them from here.
"""

from __future__ import annotations

MAX_WIDTH = 65536  # model.hidden: each width (bigger-model doubles them)
MAX_EPOCHS = 100_000  # train.epochs (train-longer doubles it)
MAX_LR = 1e15  # optim.lr: absurd rates still run and are diagnosed (tests train at 1e12)
