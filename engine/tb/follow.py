"""Following a log folder that is still being written.

:class:`LogFollower` keeps one :class:`~engine.tb.reader.EventFileReader` per
event file. Each :meth:`~LogFollower.poll` reads only the bytes appended since
the previous poll (a file whose size did not change costs one ``stat``), and
reports the runs and files that appeared. The folder tree is walked again at
most every ``rescan_secs``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .discovery import RunSource, find_runs
from .reader import EventFileReader, Scalars, qualified, sort_by_step

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FollowUpdate:
    """What appeared since the previous poll.

    ``points[run][tag]``: the new points, in step order per file read.
    ``purged[run][tag] = step``: a restarted run (a new file going back in steps);
    drop the points already delivered at or after ``step`` before appending.
    """

    new_runs: tuple[str, ...] = ()
    new_files: tuple[Path, ...] = ()
    points: dict[str, dict[str, Scalars]] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    purged: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def n_points(self) -> int:
        return sum(len(s) for tags in self.points.values() for s in tags.values())

    def __bool__(self) -> bool:
        return bool(self.new_runs or self.new_files or self.points or self.texts or self.warnings)


@dataclass(slots=True)
class _FileState:
    reader: EventFileReader
    prefix: str
    size: int = -1


@dataclass(slots=True)
class _RunState:
    source: RunSource
    files: dict[Path, _FileState] = field(default_factory=dict)
    last_step: dict[str, int] = field(default_factory=dict)  # tag -> highest step delivered
    last_file: dict[str, Path] = field(default_factory=dict)  # tag -> file that delivered it


class LogFollower:
    """Incremental reader of every run under ``path``; see the module docstring."""

    def __init__(self, path: str | os.PathLike, *, rescan_secs: float = 2.0) -> None:
        self.path = Path(path)
        self.rescan_secs = rescan_secs
        self._runs: dict[str, _RunState] = {}
        self._next_rescan = 0.0

    @property
    def runs(self) -> list[str]:
        return sorted(self._runs)

    def poll(self) -> FollowUpdate:
        warnings: list[str] = []
        new_runs: list[str] = []
        new_files: list[Path] = []
        now = time.monotonic()
        if now >= self._next_rescan:
            self._next_rescan = now + self.rescan_secs
            self._discover(new_runs, new_files, warnings)
        points: dict[str, dict[str, Scalars]] = {}
        texts: dict[str, dict[str, str]] = {}
        purged: dict[str, dict[str, int]] = {}
        for name, run in self._runs.items():
            for path, state in run.files.items():
                try:
                    size = os.stat(path).st_size
                except OSError:
                    continue
                if size == state.size:
                    continue
                state.size = size
                chunk = state.reader.read()
                warnings.extend(chunk.warnings)
                for raw_tag, s in chunk.scalars.items():
                    if not len(s):  # (a restart always keeps the points after it)
                        continue
                    tag = qualified(state.prefix, raw_tag)
                    s = sort_by_step(s)
                    last, prev_file = run.last_step.get(tag), run.last_file.get(tag)
                    purge_from = chunk.purged.get(raw_tag)  # the file's own counter restarted
                    if (
                        last is not None and prev_file != path
                        and int(s.steps[0]) <= last
                    ):  # a restarted run: a new file going back in steps
                        first = int(s.steps[0])
                        purge_from = first if purge_from is None else min(purge_from, first)
                    if purge_from is not None:
                        run_purged = purged.setdefault(name, {})
                        run_purged[tag] = min(run_purged.get(tag, purge_from), purge_from)
                    top = int(s.steps[-1])
                    restart = last is None or purge_from is not None
                    run.last_step[tag] = top if restart else max(last, top)
                    run.last_file[tag] = path
                    got = points.setdefault(name, {})
                    if tag in got:
                        got[tag] = _append(got[tag], s, purge_from)
                    else:
                        got[tag] = s
                for tag, text in chunk.texts.items():
                    texts.setdefault(name, {})[qualified(state.prefix, tag)] = text
        return FollowUpdate(
            tuple(new_runs), tuple(new_files), points, texts, purged, tuple(warnings)
        )

    def _discover(self, new_runs: list[str], new_files: list[Path], warnings: list[str]) -> None:
        try:
            sources = find_runs(self.path)
        except OSError as e:
            warnings.append(f"{self.path}: {e.strerror or e}")
            return
        for source in sources:
            run = self._runs.get(source.name)
            if run is None:
                run = self._runs[source.name] = _RunState(source)
                new_runs.append(source.name)
            run.source = source
            for group in source.groups:
                for path in group.files:
                    if path not in run.files:
                        run.files[path] = _FileState(EventFileReader(path), group.prefix)
                        new_files.append(path)


def _append(old: Scalars, new: Scalars, purge_from: int | None) -> Scalars:
    if purge_from is not None:
        keep = old.steps < purge_from
        old = Scalars(old.steps[keep], old.values[keep], old.wall_times[keep])
    return Scalars(
        np.concatenate([old.steps, new.steps]),
        np.concatenate([old.values, new.values]),
        np.concatenate([old.wall_times, new.wall_times]),
    )
