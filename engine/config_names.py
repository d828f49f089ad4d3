"""Default run names that say what differs: ``digits-sgd-lr5``, ``csv-mydata-adamw``,
``py-digits_data-adamw`` for a ``data.source``.

A run's name is its dataset, its optimizer, and its learning rate when that is not
the optimizer's usual one (AdamW/Adam 0.001, SGD/Momentum 0.1). A name of this
automatic form follows the config: :func:`traindoc.engine.config.apply_patch`
renames a run called ``digits-adamw`` to ``digits-sgd-lr5`` when its optimizer and
learning rate change, while a name the user chose (``baseline``, a fix's
``...-fix-lower-lr``) is kept. The run folder adds the time
(:func:`traindoc.engine.rundir.make_run_dir`), so folders stay unique.
"""

from __future__ import annotations

import math
import re
from pathlib import PurePath
from typing import Any

from traindoc.engine.config_limits import MAX_NAME_LENGTH

#: The learning rate each optimizer usually starts from (the same guide as the
#: diagnostics' ``learning_rate.REFERENCE_LR``): a name mentions the lr only when it differs.
USUAL_LR: dict[str, float] = {"sgd": 0.1, "momentum": 0.1, "adam": 0.001, "adamw": 0.001}

#: At most this many characters of a data file's name go into a run name.
MAX_FILE_PART = 40

_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")
#: Dataset parts an automatic name may start with (a data file's name without '-';
#: the current data file's part, dashes and all, is added by :func:`is_automatic`).
_DATASET = r"digits|spirals|blobs|mnist|cifar10|(?:csv|npz|py)(?:-[A-Za-z0-9_.]+)?"
#: The rest: the optimizer, then the learning rate as ``f"{lr:g}"`` writes it.
_REST = r"-(?:sgd|momentum|adam|adamw)(?:-lr(?:[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?|inf|nan))?"


def _safe(text: str) -> str:
    """Letters, digits, '_' and '.', runs of anything else as one '-'."""
    return _UNSAFE.sub("-", text).strip("-._")


def dataset_part(spec: str) -> str:
    """``digits``; ``mnist`` for ``mnist:/data``; ``csv-mydata`` for ``csv:/d/mydata.csv``."""
    kind, sep, path = spec.partition(":")
    kind = _safe(kind) or "data"
    if not sep or kind not in ("csv", "npz", "py"):
        return kind
    stem = _safe(PurePath(path.strip().rstrip("/\\")).stem)[:MAX_FILE_PART].strip("-._")
    return f"{kind}-{stem}" if stem else kind


def lr_part(optimizer: str, lr: Any) -> str:
    """``-lr5`` when the lr is not the optimizer's usual one, else ``""``."""
    usual = USUAL_LR.get(optimizer)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        return ""
    if usual is not None and math.isclose(lr, usual, rel_tol=1e-9):
        return ""
    return "-lr" + _safe(f"{lr:g}").lower()


def data_spec(config: Any) -> str:
    """What names a config's data: ``py:FILE`` for a ``data.source``, else the dataset."""
    source = str(getattr(config.data, "source", ""))
    return f"py:{source.rpartition(':')[0]}" if source else str(config.data.dataset)


def default_name(config: Any) -> str:
    """The automatic name of a config: dataset, optimizer, and the lr when it differs."""
    optimizer = _safe(str(config.optim.name)) or "optim"
    name = f"{dataset_part(data_spec(config))}-{optimizer}"
    return name + lr_part(str(config.optim.name), config.optim.lr)


def is_automatic(name: str, dataset: str = "") -> bool:
    """Whether ``name`` has the automatic form, so it follows the config's changes.

    ``dataset`` is the config's data spec: its own part may hold dashes
    (``csv-my-data-adamw``); a fix's name (``...-fix-switch-to-adam``) never matches.
    """
    current = re.escape(dataset_part(dataset)) if dataset else _DATASET
    return re.fullmatch(f"(?:{_DATASET}|{current}){_REST}", name) is not None


def fix_name(name: str, remedy: str) -> str:
    """A fix's run name records the fix: ``digits-adamw`` with ``lower-lr`` →
    ``digits-adamw-fix-lower-lr`` (its tail, within the name limit). The GUI's one-click
    fix and the repair loop both name their children so."""
    return f"{name}-fix-{remedy}"[-MAX_NAME_LENGTH:].lstrip("-_.")
