"""A run's folder: its name, ``config.toml``, ``status.json`` and checkpoint path.

Layout of ``<logdir>/<run-name>/``::

    config.toml                    the exact config the run used
    status.json                    {"status": ..., "reason": ..., ...}, rewritten atomically
    events.out.tfevents.*          scalars (and the config as a text summary)
    checkpoint.pt                  model weights + config + step; load with weights_only=True

Torch-free: the GUI and the launcher use it from the parent process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

CONFIG_FILE = "config.toml"
STATUS_FILE = "status.json"
CHECKPOINT_FILE = "checkpoint.pt"
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


# errno values that mean "the disk, not the program": reported as one line, no traceback.
DISK_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EIO, errno.EROFS) if code
)


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def disk_error_text(exc: OSError, path: str | Path | None = None) -> str:
    """``No space left on device (<path>)``: the reason and the file it hit."""
    where = exc.filename or path
    text = exc.strerror or str(exc)
    return f"{text} ({where})" if where else text


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through a temporary file: ``write(f)``, flush, fsync, rename.

    A failure (a full disk...) leaves the previous file as it was and no temporary
    file behind; an ``OSError`` raised names ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        cause = _os_error_in(exc)
        if cause is None:
            raise
        if cause.filename is None:
            cause.filename = str(path)
        if cause is exc:
            raise
        raise cause from None  # e.g. torch.save wraps a full disk in a RuntimeError
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _os_error_in(exc: BaseException) -> OSError | None:
    """``exc`` itself or the first ``OSError`` it was raised from, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def write_status(
    run_dir: str | Path, status: str, reason: str = "", *, strict: bool = False, **extra: Any
) -> str | None:
    """Atomically replace ``status.json``; never raises for an I/O error unless ``strict``.

    Returns ``None`` when written, else the reason it was not (also logged as a
    warning): a full disk must not turn the report of a failure into a crash.
    """
    path = Path(run_dir) / STATUS_FILE
    record = {"status": status, "reason": reason, "time": time.time(), **extra}
    data = json.dumps(record, indent=1, default=str).encode("utf-8")
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as exc:
        if strict:
            raise
        problem = f"could not write {path}: {exc.strerror or exc}"
        log.warning("%s", problem)
        return problem
    return None


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
