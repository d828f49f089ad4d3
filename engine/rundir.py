"""A run's folder: its name, ``config.toml``, ``status.json``, ``parent.json`` and checkpoint.

Layout of ``<logdir>/<run-name>/``::

    config.toml                    the exact config the run used
    status.json                    {"status": ..., "reason": ..., ...}, rewritten atomically;
                                   strict JSON (a non-finite number is ``null``)
    parent.json                    fix lineage (SPEC §7): the parent run, rule, remedy, patch
    events.out.tfevents.*          scalars (and the config as a text summary)
    checkpoint.pt                  model weights + config + step; load with weights_only=True

Side files read back from a folder someone else wrote (:func:`checked_status`,
:func:`read_parent`) are checked field by field: a bad field is ignored with a
one-line problem, never an exception. Torch-free: the GUI and the launcher use it
from the parent process.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
    data = strict_json(record)
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as exc:
        if strict:
            raise
        problem = f"could not write {path}: {exc.strerror or exc}"
        log.warning("%s", problem)
        return problem
    return None


def strict_json(record: dict[str, Any]) -> bytes:
    """``record`` as strict JSON that any reader parses: NaN and ±inf become ``null``."""
    return json.dumps(_finite(record), indent=1, default=str, allow_nan=False).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------- side files, checked

MAX_SIDE_FILE = 1 << 20  # status.json and parent.json are a few hundred bytes


def read_json_object(path: Path) -> tuple[dict | None, str | None]:
    """``(object, None)``; ``(None, None)`` when the file is absent; ``(None, problem)``
    when it cannot be read or is not a JSON object. Never raises."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SIDE_FILE + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        if isinstance(exc, NotADirectoryError):
            return None, None
        return None, f"{path}: cannot read it ({exc.strerror or exc}); ignored"
    if len(data) > MAX_SIDE_FILE:
        return None, f"{path}: larger than {MAX_SIDE_FILE} bytes; ignored"
    try:
        record = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        why = "nested too deeply" if isinstance(exc, RecursionError) else "not valid JSON"
        return None, f"{path}: {why}; ignored"
    if not isinstance(record, dict):
        return None, f"{path}: not a JSON object ({type(record).__name__}); ignored"
    return record, None


def checked_status(run_dir: str | Path) -> tuple[str | None, str, list[str]]:
    """The ``status`` and ``reason`` of a run folder's ``status.json`` (None and '' when
    absent), and the problems found; a field of the wrong type is ignored."""
    path = Path(run_dir) / STATUS_FILE
    record, problem = read_json_object(path)
    if record is None:
        return None, "", [problem] if problem else []
    problems = []
    status = record.get("status")
    if status is not None and not isinstance(status, str):
        problems.append(f"{path}: status is {_shown(status)}, not a name; ignored")
        status = None
    reason = record.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        problems.append(f"{path}: reason is {_shown(reason)}, not text; ignored")
        reason = ""
    return status.strip() or None if status else None, reason, problems


@dataclass(frozen=True, slots=True)
class ParentLink:
    """A child run's ``parent.json``: the run it was fixed from and the fix applied."""

    parent: str | None  # the parent's run folder (normalised), None when unknown
    rule: str = ""  # the finding the fix targets
    remedy: str = ""  # the remedy applied
    patch: dict[str, Any] = field(default_factory=dict)  # dotted config key -> value
    parent_name: str | None = None


def write_parent(run_dir: str | Path, link: ParentLink) -> str | None:
    """Atomically write ``parent.json``; like :func:`write_status`, returns the problem
    (also logged) instead of raising when it cannot be written."""
    path = Path(run_dir) / PARENT_FILE
    data = strict_json(asdict(link))
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as exc:
        problem = f"could not write {path}: {exc.strerror or exc}"
        log.warning("%s", problem)
        return problem
    return None


def read_parent(run_dir: str | Path) -> tuple[ParentLink | None, list[str]]:
    """A run folder's ``parent.json`` checked field by field (None when absent or
    unusable), and the problems found; a field of the wrong type is ignored."""
    path = Path(run_dir) / PARENT_FILE
    record, problem = read_json_object(path)
    if record is None:
        return None, [problem] if problem else []
    problems: list[str] = []
    fields_: dict[str, Any] = {}
    for key, what in (("parent", "a folder"), ("rule", "text"), ("remedy", "text"),
                      ("parent_name", "text")):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{path}: {key} is {_shown(value)}, not {what}; ignored")
            value = None
        fields_[key] = value
    patch = record.get("patch") or {}
    if not isinstance(patch, dict):
        problems.append(f"{path}: patch is {_shown(patch)}, not an object; ignored")
        patch = {}
    parent = fields_["parent"]
    link = ParentLink(
        parent=os.path.normpath(parent) if parent else None, rule=fields_["rule"] or "",
        remedy=fields_["remedy"] or "", patch=dict(patch), parent_name=fields_["parent_name"],
    )
    return link, problems


def _shown(value: Any) -> str:
    """A JSON value's type in a warning, with a short excerpt."""
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = "..."
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"
