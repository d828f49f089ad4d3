"""Finding the runs under a path.

A run is a folder holding event files (TensorBoard's "run"), with two joins:

* Keras writes ``<run>/train/`` and ``<run>/validation/``; a TF1 Estimator writes
  its training events in ``<run>/`` and its evaluation in ``<run>/eval/``. Such
  role folders are joined into their parent's logical run, their tags namespaced
  by the folder name (``validation/epoch_loss``) so that both stay distinct.
* Several event files in one folder are one run (a restarted run; merged by
  ``reader.load_run``).

Other layouts need no special case: Lightning ``lightning_logs/version_N/``,
YOLOv5 ``runs/train/exp*/`` (``train`` there holds no event file itself), HF
``runs/<date>_<host>/``. A run's name is its path relative to what the user
opened, ``.`` when that path is the run itself.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Folders whose event files belong to their parent's run (Keras, TF1 Estimator).
ROLE_FOLDERS = frozenset({"train", "validation", "eval", "val", "test"})
_DIGITS = re.compile(r"(\d+)")
_logged: set[str] = set()  # problems already logged (when no warnings list is passed)


def is_role_folder(name: str) -> bool:
    return name in ROLE_FOLDERS or name.startswith("eval_")


def is_event_file(name: str) -> bool:
    """TensorBoard's own test: the file name contains ``tfevents``."""
    return "tfevents" in name


@dataclass(frozen=True, slots=True)
class FileGroup:
    """Event files of one folder of a run; ``prefix`` namespaces their tags ('' for none)."""

    prefix: str
    files: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class RunSource:
    name: str
    root: Path
    groups: tuple[FileGroup, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(f for g in self.groups for f in g.files)


def file_order(name: str) -> tuple:
    """Natural order of event file names: by time, then writer counter (``.2`` < ``.10``)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(name))


def _event_files(folder: Path, names: list[str], problems: list[str]) -> tuple[Path, ...]:
    """The event files among ``names``; those that cannot be examined go to ``problems``
    (one line per folder and reason: a folder that can be listed but not entered)."""
    out = []
    failed: dict[str, int] = {}
    for name in sorted(names, key=file_order) if len(names) > 1 else names:
        if is_event_file(name):
            path = folder / name
            try:
                if stat.S_ISREG(os.stat(path).st_mode):
                    out.append(path)
            except FileNotFoundError:  # removed since the folder was listed
                continue
            except OSError as exc:
                reason = exc.strerror or str(exc)
                failed[reason] = failed.get(reason, 0) + 1
    for reason, count in failed.items():
        what = "cannot enter it" if reason == os.strerror(errno.EACCES) else "cannot examine"
        problems.append(f"{folder}: {what} ({reason}); {count} event file(s) skipped")
    return tuple(out)


def _relative(root: Path, top: Path) -> str:
    """``root.relative_to(top).as_posix()`` ("." for ``top`` itself), by the strings when
    ``top`` is a plain prefix of ``root`` (a tree of 10,000 runs: ~10 us each saved)."""
    r, t = str(root), str(top)
    if r.startswith(t) and r[len(t) : len(t) + 1] == os.sep and t not in (".", os.sep):
        rel = r[len(t) + 1 :]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")
    return root.relative_to(top).as_posix()


def _folders_with_events(top: Path, problems: list[str]) -> dict[Path, tuple[Path, ...]]:
    """Every folder under ``top`` (itself included) that holds event files, top-down in
    sorted order, and its files in natural order."""

    def on_error(err: OSError) -> None:
        problems.append(f"{err.filename}: cannot list it ({err.strerror or err}); skipped")

    found: dict[Path, tuple[Path, ...]] = {}
    for folder, dirs, names in os.walk(top, onerror=on_error):
        dirs.sort()
        events = [name for name in names if is_event_file(name)]
        if events:  # (a tree's group folders hold none: no Path, no sort for them)
            where = Path(folder)
            files = _event_files(where, events, problems)
            if files:
                found[where] = files
    return found


def find_runs(path: str | os.PathLike, *, warnings: list[str] | None = None) -> list[RunSource]:
    """The runs under ``path``: one event file, a run folder, or a tree of runs.

    Raises ``FileNotFoundError`` when ``path`` does not exist, and the ``OSError``
    (``PermissionError``...) when it cannot be examined. Folders that cannot be
    listed or entered below it are skipped, each with a line naming the folder and
    the reason: appended to ``warnings`` when given, else logged.
    """
    top = Path(path)
    try:
        mode = os.stat(top).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file or folder: {top}") from None
    problems: list[str] = []
    if stat.S_ISREG(mode):
        prefix = top.parent.name if is_role_folder(top.parent.name) else ""
        return [RunSource(".", top, (FileGroup(prefix, (top,)),))]
    if not stat.S_ISDIR(mode):  # a device, a pipe, a socket
        problems.append(f"{top}: not a file or a folder; skipped")

    found = _folders_with_events(top, problems) if not problems else {}
    if warnings is not None:
        warnings.extend(problems)
    else:
        for problem in problems:  # once each: followers walk the tree every few seconds
            if problem not in _logged:
                if len(_logged) < 10_000:
                    _logged.add(problem)
                log.warning("%s", problem)

    runs: dict[Path, list[FileGroup]] = {}
    for folder, files in found.items():
        if folder != top and is_role_folder(folder.name):
            runs.setdefault(folder.parent, []).append(FileGroup(folder.name, files))
        elif folder == top and is_role_folder(folder.name):
            runs.setdefault(folder, []).append(FileGroup(folder.name, files))
        else:
            runs.setdefault(folder, []).insert(0, FileGroup("", files))
    out = []
    for root, groups in runs.items():
        groups.sort(key=lambda g: g.prefix)
        out.append(RunSource(_relative(root, top), root, tuple(groups)))
    out.sort(key=lambda r: r.name)
    return out
