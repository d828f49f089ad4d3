"""A run's folder: its name, ``config.toml``, ``status.json`` and checkpoint path.

Layout of ``<logdir>/<run-name>/``::

    config.toml                    the exact config the run used
    status.json                    {"status": ..., "reason": ..., ...}, rewritten atomically
    events.out.tfevents.*          scalars (and the config as a text summary)
    checkpoint.pt                  model weights + config + step; load with weights_only=True

Torch-free: the GUI and the launcher use it from the parent process.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.toml"
STATUS_FILE = "status.json"
CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_TEXT_TAG = "traindoc/config"  # text summary holding the config's TOML in the event file
PARENT_FILE = "parent.json"  # fix lineage: the parent run and the patch applied


def make_run_dir(logdir: str | Path, name: str) -> Path:
    """Create ``logdir/<name>-<YYYYmmdd-HHMMSS>[-N]`` and return it; names never collide."""
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{name}-{stamp}"
    for attempt in range(1000):
        candidate = logdir / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{logdir}: could not find a free run folder name for {name!r}")


def write_status(run_dir: str | Path, status: str, reason: str = "", **extra: Any) -> None:
    """Atomically replace ``status.json``."""
    path = Path(run_dir) / STATUS_FILE
    record = {"status": status, "reason": reason, "time": time.time(), **extra}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
