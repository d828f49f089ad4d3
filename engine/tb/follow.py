"""Following a log folder that is still being written.

:class:`LogFollower` keeps one :class:`~traindoc.engine.tb.reader.EventFileReader` per
event file. Each :meth:`~LogFollower.poll` reads only the bytes appended since
the previous poll (a file that did not change costs one ``stat``), and
reports the runs and files that appeared. The folder tree is walked again at
most every ``rescan_secs``.

A file is known by its identity (device, inode, size, mtime), not its path. When
one is replaced (renamed over, truncated and rewritten, rewritten at the same
size, its folder deleted and recreated) or removed, its run is read again from
the start and reported in ``FollowUpdate.reset``: consumers drop everything they
had of that run and take the update's points as the whole run.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .discovery import RunSource, find_runs
from .reader import EventFileReader, FileChunk, qualified
from .scalars import Scalars, sort_by_step

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FollowUpdate:
    """What appeared since the previous poll.

    ``points[run][tag]``: the new points, in step order per file read.
    ``purged[run][tag] = step``: a restarted run (a new file going back in steps);
    drop the points already delivered at or after ``step`` before appending.
    ``reset``: runs whose files were replaced, rewritten or removed: drop everything
    delivered of them before (points, texts, sums, diagnosis); ``points`` and
    ``texts`` then hold each such run as read again from the start (nothing when
    no file of it is left).
    """

    new_runs: tuple[str, ...] = ()
    new_files: tuple[Path, ...] = ()
    points: dict[str, dict[str, Scalars]] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    purged: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    reset: tuple[str, ...] = ()

    @property
    def n_points(self) -> int:
        return sum(len(s) for tags in self.points.values() for s in tags.values())

    def __bool__(self) -> bool:
        return bool(
            self.new_runs or self.new_files or self.points or self.texts or self.warnings
            or self.reset
        )


@dataclass(slots=True)
class _FileState:
    reader: EventFileReader
    prefix: str


@dataclass(slots=True)
class _RunState:
    source: RunSource
    files: dict[Path, _FileState] = field(default_factory=dict)
    last_step: dict[str, int] = field(default_factory=dict)  # tag -> highest step delivered
    last_file: dict[str, Path] = field(default_factory=dict)  # tag -> file that delivered it


class LogFollower:
    """Incremental reader of every run under ``path``; see the module docstring."""

    def __init__(
        self, path: str | os.PathLike, *, rescan_secs: float = 2.0,
        read_budget_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.rescan_secs = rescan_secs
        #: Seconds of reading per poll (None: no limit). Over it, the runs not yet read
        #: wait for the next poll and ``pending`` says so: a consumer that shows a huge
        #: tree gets its runs first, then their points a slice of runs at a time.
        self.read_budget_s = read_budget_s
        self.pending = False
        self._runs: dict[str, _RunState] = {}
        self._next_rescan = 0.0
        self._told: set[str] = set()  # discovery problems already reported

    @property
    def runs(self) -> list[str]:
        return sorted(self._runs)

    def poll(self) -> FollowUpdate:
        warnings: list[str] = []
        new_runs: list[str] = []
        new_files: list[Path] = []
        resets: set[str] = set()
        now = time.monotonic()
        if now >= self._next_rescan and not self.pending:  # a pass not finished: finish it
            self._next_rescan = now + self.rescan_secs
            self._discover(new_runs, new_files, warnings, resets)
        got = _Collected(points={}, texts={}, purged={})
        budget = self.read_budget_s
        deadline = time.monotonic() + budget if budget is not None else None
        self.pending = False
        read_one = False
        for name, run in self._runs.items():
            if name in resets:
                continue
            if read_one and deadline is not None and time.monotonic() > deadline:
                self.pending = True  # the rest in the next poll (at least one run per poll)
                break
            read_one = self._read_new(name, run, got, warnings, resets) or read_one
        for name in sorted(resets):
            self._reread(name, got, warnings)
        return FollowUpdate(
            tuple(new_runs), tuple(new_files), got.points, got.texts, got.purged,
            tuple(warnings), tuple(sorted(resets)),
        )

    def _read_new(
        self, name: str, run: _RunState, got: _Collected, warnings: list[str], resets: set[str]
    ) -> bool:
        """Read what was appended to the files of run ``name``; True when any file was read."""
        read = False
        for path, state in run.files.items():
            try:
                st = os.stat(path)
            except OSError:
                continue  # gone: the next walk of the tree drops it
            if state.reader.is_current(st):
                continue
            read = True
            chunk = state.reader.read()
            if chunk.reset:
                warnings.append(
                    f"{path}: file replaced or rewritten; run {name!r} read again "
                    "from the start"
                )
                resets.add(name)
                break
            warnings.extend(chunk.warnings)
            self._take(name, run, path, state, chunk, got)
        return read

    def reread(self, name: str) -> FollowUpdate:
        """Run ``name`` read again from the start of its files, as one update that resets
        it (for a consumer that must rebuild what it derived from the run's points)."""
        got = _Collected(points={}, texts={}, purged={})
        warnings: list[str] = []
        if name in self._runs:
            self._reread(name, got, warnings)
        return FollowUpdate(
            points=got.points, texts=got.texts, warnings=tuple(warnings), reset=(name,)
        )

    def _reread(self, name: str, got: _Collected, warnings: list[str]) -> None:
        """Forget what was delivered of run ``name`` and read all its files again."""
        run = self._runs[name]
        for collected in (got.points, got.texts, got.purged):
            collected.pop(name, None)
        run.last_step.clear()
        run.last_file.clear()
        order = {path: i for i, path in enumerate(run.source.files)}
        paths = sorted(run.files, key=lambda p: order.get(p, len(order)))
        run.files = {p: _FileState(EventFileReader(p), run.files[p].prefix) for p in paths}
        for path, state in run.files.items():
            chunk = state.reader.read()
            warnings.extend(chunk.warnings)
            self._take(name, run, path, state, chunk, got)

    @staticmethod
    def _take(
        name: str, run: _RunState, path: Path, state: _FileState, chunk: FileChunk,
        got: _Collected,
    ) -> None:
        """Add one read of one file to the update."""
        points, texts, purged = got.points, got.texts, got.purged
        for raw_tag, s in chunk.scalars.items():
            if not len(s):  # (a restart always keeps the points after it)
                continue
            tag = qualified(state.prefix, raw_tag)
            s = sort_by_step(s)
            last, prev_file = run.last_step.get(tag), run.last_file.get(tag)
            purge_from = chunk.purged.get(raw_tag)  # the file's own counter restarted
            if last is not None and prev_file != path and int(s.steps[0]) <= last:
                first = int(s.steps[0])  # a restarted run: a new file going back in steps
                purge_from = first if purge_from is None else min(purge_from, first)
            if purge_from is not None:
                run_purged = purged.setdefault(name, {})
                run_purged[tag] = min(run_purged.get(tag, purge_from), purge_from)
            top = int(s.steps[-1])
            restart = last is None or purge_from is not None
            run.last_step[tag] = top if restart else max(last, top)
            run.last_file[tag] = path
            run_points = points.setdefault(name, {})
            if tag in run_points:
                run_points[tag] = _append(run_points[tag], s, purge_from)
            else:
                run_points[tag] = s
        for tag, text in chunk.texts.items():
            texts.setdefault(name, {})[qualified(state.prefix, tag)] = text

    def _discover(
        self, new_runs: list[str], new_files: list[Path], warnings: list[str], resets: set[str]
    ) -> None:
        problems: list[str] = []
        try:
            sources = find_runs(self.path, warnings=problems)
        except OSError as e:
            problems.append(f"{self.path}: {e.strerror or e}")
            sources = None
        for problem in problems:  # a folder that cannot be read: said once, not every poll
            if problem not in self._told:
                self._told.add(problem)
                warnings.append(problem)
        if sources is None:
            return
        found = {source.name: source for source in sources}
        for name, run in self._runs.items():  # files deleted (or their folder)
            source = found.get(name)
            present = set(source.files) if source is not None else set()
            gone = [path for path in run.files if path not in present]
            if gone:
                for path in gone:
                    del run.files[path]
                warnings.append(
                    f"{gone[0]}: file removed; run {name!r} read again without it"
                    if source is not None
                    else f"{run.source.root}: run {name!r} removed; its points are dropped"
                )
                resets.add(name)
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


@dataclass(slots=True)
class _Collected:
    points: dict[str, dict[str, Scalars]]
    texts: dict[str, dict[str, str]]
    purged: dict[str, dict[str, int]]


def _append(old: Scalars, new: Scalars, purge_from: int | None) -> Scalars:
    if purge_from is not None:
        keep = old.steps < purge_from
        old = Scalars(old.steps[keep], old.values[keep], old.wall_times[keep])
    return Scalars(
        np.concatenate([old.steps, new.steps]),
        np.concatenate([old.values, new.values]),
        np.concatenate([old.wall_times, new.wall_times]),
    )
