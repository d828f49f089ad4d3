"""Reading TensorBoard event files into columnar scalars.

:class:`EventFileReader` is TensorBoard's resumable loader, columnar: each
:meth:`~EventFileReader.read` returns what was appended since the previous one,
reading only new bytes. A half-written tail is left for the next read; damaged
bytes become a warning naming the file and byte offset, and reading resumes at
the next valid record. Nothing in a file's content makes it raise.

:func:`load_run` reads every file of a run (see ``discovery.py``), merges them
in step order with TensorBoard's purge on restart, and infers the roles. A role
filled by a sum of loss parts (``roles.py``) gets its composite series, built by
:class:`PartSum` - the same code that sums the parts of a run being followed.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .columnar import decode
from .discovery import RunSource, find_runs
from .records import HEADER_BYTES, masked_crc32c, scan
from .roles import infer_roles, sum_parts_of

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 << 20  # read (and decode) at most this much at a time
CONFIG_TAG = "traindoc/config"


@dataclass(frozen=True, slots=True)
class Scalars:
    """One tag's points: int64 steps, float64 values and wall times, same length."""

    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    @staticmethod
    def empty() -> Scalars:
        return Scalars(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


@dataclass(frozen=True, slots=True)
class FileChunk:
    """What one read of one file produced (tags as written in the file).

    ``scalars`` are in file order with step restarts applied (see
    :func:`purge_restarts`), so each tag's steps never go down. ``purged[tag] = step``:
    the step counter restarted, so the points of ``tag`` that earlier reads of this
    file returned at or after ``step`` are replaced by these.
    """

    scalars: dict[str, Scalars]
    texts: dict[str, str]
    warnings: list[str]
    points: int
    purged: dict[str, int] = field(default_factory=dict)
    #: The file was replaced (another inode, shrunk, or rewritten at the same size):
    #: this read started again from its first byte, and everything earlier reads
    #: returned is void.
    reset: bool = False


@dataclass(frozen=True, slots=True)
class RunLog:
    """A run's scalars, merged over its files; see SPEC §5 for ``roles`` and ``points``."""

    name: str
    scalars: dict[str, Scalars]
    texts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    points: int = 0
    roles: dict[str, str] = field(default_factory=dict)
    source: RunSource | None = None

    @property
    def config_text(self) -> str | None:
        """The TOML config a traindoc run stored with ``add_text("traindoc/config", ...)``."""
        return self.texts.get(CONFIG_TAG)


class EventFileReader:
    """Incremental reader of one event file; see the module docstring."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.offset = 0  # next byte to read
        self.records = 0  # valid records read so far
        self.in_damage = False  # looking for the next valid record at `offset`
        self.pending = False  # the bytes after `offset` may be an unfinished record
        self._seen: tuple[int, int, int, int] | None = None  # dev, inode, size, mtime_ns
        self._warned_tags = False  # tags that are not valid UTF-8: warned once per file
        self._last_step: dict[str, int] = {}  # tag -> step of the last point returned

    def read(self, *, final: bool = False) -> FileChunk:
        """Everything appended since the last read.

        ``final``: the file is not expected to grow (a one-shot load), so an
        unfinished tail is reported as a truncated record.
        """
        warnings: list[str] = []
        parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        texts: dict[str, str] = {}
        points = 0
        reset = False
        try:
            st = os.stat(self.path)
            size = st.st_size
            if self._replaced(st):
                warnings.append(
                    f"{self.path}: file replaced or rewritten ({size} bytes); "
                    "read again from the start"
                )
                self.offset, self.records, self.in_damage, self.pending = 0, 0, False, False
                self._last_step = {}
                self._warned_tags = False
                reset = True
            self._seen = _identity(st)
            with open(self.path, "rb") as f:
                want = CHUNK_BYTES
                while True:
                    f.seek(self.offset)
                    buf = f.read(want)
                    if not buf:
                        break
                    sc = scan(buf, synced=not self.in_damage)
                    if sc.consumed == 0 and len(buf) == want:
                        bigger = _record_size(buf)
                        if bigger > want:  # one record larger than a chunk
                            want = bigger
                            continue
                    points += self._take(buf, sc, parts, texts, warnings)
                    self.offset += sc.consumed
                    self.in_damage, self.pending = sc.in_damage, sc.pending
                    want = CHUNK_BYTES
                    if len(buf) < want or sc.consumed == 0:
                        break
                    del buf, sc  # one chunk in memory at a time
            if final and self.offset < size and not self.in_damage:
                warnings.append(
                    f"{self.path}: truncated record at byte {self.offset}, "
                    f"{self.records} records kept"
                )
        except OSError as e:
            warnings.append(f"{self.path}: cannot read ({e.strerror or e})")
        scalars: dict[str, Scalars] = {}
        purged: dict[str, int] = {}
        restarts: list[tuple[str, int, int]] = []
        for tag, p in parts.items():
            s = _concat(p)
            last = self._last_step.get(tag)
            kept, restart, purge_from = purge_restarts(s, last)
            if restart is not None:
                restarts.append((tag, *restart))
            if purge_from is not None:
                purged[tag] = purge_from
            if len(kept):
                self._last_step[tag] = int(kept.steps[-1])
            scalars[tag] = kept
        if restarts:
            tag, step, before = restarts[0]
            more = f" and {len(restarts) - 1} more tag(s)" if len(restarts) > 1 else ""
            warnings.append(
                f"{self.path}: step counter restarts ({tag!r} goes back to step {step} "
                f"after {before}{more}); the later points replace the earlier ones "
                "from that step on, as in TensorBoard"
            )
        return FileChunk(scalars, texts, warnings, points, purged, reset)

    def is_current(self, st: os.stat_result) -> bool:
        """True when ``st`` (a fresh stat of the file) shows it as the last read saw it.

        A file's identity is its device and inode, its size and mtime, not its path:
        a file replaced by another of the same size is not current.
        """
        return self._seen == _identity(st)

    def _replaced(self, st: os.stat_result) -> bool:
        if self._seen is None:
            return False
        dev, ino, size, mtime = self._seen
        if (st.st_dev, st.st_ino) != (dev, ino):
            return True  # atomically replaced (renamed over), or deleted and recreated
        if st.st_size < max(size, self.offset):
            return True  # truncated (and maybe being rewritten)
        # Appending changes the size; the same size with a new mtime is a rewrite.
        return st.st_size == size and st.st_mtime_ns != mtime

    def _take(self, buf, sc, parts, texts, warnings) -> int:
        for d in sc.damages:
            kept = self.records + int(np.searchsorted(sc.starts, d.offset))
            where = self.offset + d.offset
            if d.resync is None:
                rest = "no valid record after it yet"
            else:
                rest = f"{d.resync - d.offset} bytes skipped"
            warnings.append(
                f"{self.path}: {d.kind} at byte {where}, {rest}, {kept} records kept before it"
            )
        dec = decode(buf, sc.starts, sc.lengths)
        if dec.odd_tags and not self._warned_tags:
            self._warned_tags = True
            shown = ", ".join(repr(t) for t in sorted(dec.odd_tags)[:3])
            warnings.append(
                f"{self.path}: tags that are not valid UTF-8 are kept apart with \\x escapes "
                f"({shown}{', ...' if len(dec.odd_tags) > 3 else ''})"
            )
        for i in dec.bad:
            where = self.offset + int(sc.starts[i]) - HEADER_BYTES
            warnings.append(f"{self.path}: undecodable record at byte {where}, skipped")
        self.records += len(sc.starts)
        for tag, (steps, values, walls) in dec.scalars.items():
            parts.setdefault(tag, []).append((steps, values, walls))
        for _step, tag, text in dec.texts:
            texts[tag] = text
        return dec.points


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _record_size(buf: bytes) -> int:
    """Framed size of the record at the start of ``buf`` if its header is valid, else 0."""
    if len(buf) < HEADER_BYTES:
        return 0
    head = buf[:8]
    if masked_crc32c(head) != int.from_bytes(buf[8:12], "little"):
        return 0
    return int.from_bytes(head, "little") + 16


def _concat(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Scalars:
    if len(pieces) == 1:
        return Scalars(*pieces[0])
    return Scalars(*(np.concatenate([p[i] for p in pieces]) for i in range(3)))


_NO_STEP = np.iinfo(np.int64).max


def purge_restarts(
    s: Scalars, last: int | None = None
) -> tuple[Scalars, tuple[int, int] | None, int | None]:
    """Apply the restarts of a step counter to one tag's points in file order.

    As TensorBoard purges: a point whose step is lower than the one before it is a
    restart, and the points before it from its step on are dropped. ``last``: the
    step of the last point of this tag already returned (earlier reads of the
    file). Returns ``(kept, restart, purge_from)``: the kept points (steps never go
    down), ``(step, step before)`` of the first restart (None when none), and the
    step from which the points already returned are replaced (None when none are).
    """
    steps = s.steps
    n = len(steps)
    if n == 0:
        return s, None, None
    down = steps[1:] < steps[:-1]
    first_down = last is not None and int(steps[0]) < last
    if not first_down and not down.any():
        return s, None, None
    desc = np.empty(n, bool)
    desc[0] = first_down
    desc[1:] = down
    i = int(np.argmax(desc))
    restart = (int(steps[i]), last if i == 0 else int(steps[i - 1]))
    at = np.where(desc, steps, _NO_STEP)
    low = np.minimum.accumulate(at[::-1])[::-1]  # low[k]: lowest restart at or after k
    later = np.empty(n, np.int64)
    later[:-1], later[-1] = low[1:], _NO_STEP
    keep = steps < later
    if not keep.all():
        s = Scalars(steps[keep], s.values[keep], s.wall_times[keep])
    purge_from = int(low[0]) if last is not None and last >= int(low[0]) else None
    return s, restart, purge_from


def sort_by_step(s: Scalars) -> Scalars:
    """Stable sort by step (a no-op when already sorted)."""
    if len(s) < 2 or not (np.diff(s.steps) < 0).any():
        return s
    order = np.argsort(s.steps, kind="stable")
    return Scalars(s.steps[order], s.values[order], s.wall_times[order])


def merge_files(pieces: list[Scalars]) -> Scalars:
    """Merge one tag's points from successive files of a run.

    As TensorBoard purges on restart: when a later file starts at a step the run
    had already reached, the earlier points from that step on are dropped.
    """
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return Scalars.empty()
    out = sort_by_step(pieces[0])
    for nxt in pieces[1:]:
        nxt = sort_by_step(nxt)
        first = nxt.steps[0]
        if out.steps[-1] >= first:
            keep = out.steps < first
            out = Scalars(out.steps[keep], out.values[keep], out.wall_times[keep])
        out = Scalars(
            np.concatenate([out.steps, nxt.steps]),
            np.concatenate([out.values, nxt.values]),
            np.concatenate([out.wall_times, nxt.wall_times]),
        )
    return out


def qualified(prefix: str, tag: str) -> str:
    """A tag's name in the logical run: files of a role folder are namespaced by it."""
    return f"{prefix}/{tag}" if prefix else tag


class PartSum:
    """The sum of a composite tag's parts, built as their points arrive.

    A step is summed once every part has it; the sum is over the parts in the
    composite's order, its wall time the latest of the parts'. Each part keeps its
    first point of a step (a repeated step is ignored) and its points are expected in
    step order: one later than the part's last step is taken, an earlier one dropped.
    ``update`` costs O(new points) amortised: points wait only until every part has
    passed their step. Reading a whole run is one ``update`` with every point, so a
    followed run sums exactly as a loaded one.
    """

    __slots__ = ("_frontier", "_last", "_pending", "parts")

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = tuple(parts)
        self._last: dict[str, int | None] = dict.fromkeys(self.parts)
        self._pending: dict[str, deque[Scalars]] = {p: deque() for p in self.parts}
        self._frontier: int | None = None  # every step up to here is summed or never will be

    def update(self, new: Mapping[str, Scalars]) -> Scalars:
        """Take new points of any parts; return the summed points they completed."""
        for part, s in new.items():
            if part not in self._pending or not len(s):
                continue
            s = sort_by_step(s)
            last = self._last[part]
            keep = np.ones(len(s), bool)
            keep[1:] = s.steps[1:] != s.steps[:-1]  # first point of a repeated step
            if last is not None:
                keep &= s.steps > last
            if not keep.all():
                s = Scalars(s.steps[keep], s.values[keep], s.wall_times[keep])
            if len(s):
                self._pending[part].append(s)
                self._last[part] = int(s.steps[-1])
        lasts = list(self._last.values())
        if any(last is None for last in lasts):
            return Scalars.empty()
        frontier = min(lasts)
        if frontier == self._frontier:
            return Scalars.empty()  # every new point lies beyond a part's last step
        self._frontier = frontier
        ready = [self._take_until(part, frontier) for part in self.parts]
        steps = ready[0].steps
        for s in ready[1:]:
            steps = np.intersect1d(steps, s.steps, assume_unique=True)
        if not len(steps):
            return Scalars.empty()
        values = np.zeros(len(steps))
        walls = np.full(len(steps), -np.inf)
        for s in ready:
            at = np.searchsorted(s.steps, steps)
            values = values + s.values[at]
            walls = np.maximum(walls, s.wall_times[at])
        return Scalars(steps.astype(np.int64), values, walls)

    def _take_until(self, part: str, step: int) -> Scalars:
        """Remove and return the part's waiting points at or before ``step``."""
        chunks = self._pending[part]
        taken: list[Scalars] = []
        while chunks and chunks[0].steps[-1] <= step:
            taken.append(chunks.popleft())
        if chunks and chunks[0].steps[0] <= step:
            head, n = chunks[0], int(np.searchsorted(chunks[0].steps, step, side="right"))
            taken.append(Scalars(head.steps[:n], head.values[:n], head.wall_times[:n]))
            chunks[0] = Scalars(head.steps[n:], head.values[n:], head.wall_times[n:])
        if not taken:
            return Scalars.empty()
        return _concat([(t.steps, t.values, t.wall_times) for t in taken])


def sum_parts(parts: Mapping[str, Scalars]) -> Scalars:
    """The summed series of whole parts (in the mapping's order), at the steps all share."""
    return PartSum(tuple(parts)).update(parts)


def add_sums(scalars: dict[str, Scalars], roles: Mapping[str, str]) -> None:
    """Insert the series of every composite tag in ``roles`` (built from its parts)."""
    for tag in roles.values():
        parts = sum_parts_of(tag, scalars)
        if parts is not None and tag not in scalars:
            scalars[tag] = sum_parts({p: scalars[p] for p in parts})


def load_run(source: RunSource, *, overrides: Mapping[str, str] | None = None) -> RunLog:
    """Read every file of ``source`` once; never raises on file contents."""
    per_tag: dict[str, list[Scalars]] = {}
    texts: dict[str, str] = {}
    warnings: list[str] = []
    points = 0
    for group in source.groups:
        for path in group.files:
            chunk = EventFileReader(path).read(final=True)
            warnings.extend(chunk.warnings)
            points += chunk.points
            for tag, s in chunk.scalars.items():
                per_tag.setdefault(qualified(group.prefix, tag), []).append(s)
            for tag, text in chunk.texts.items():
                texts[qualified(group.prefix, tag)] = text
    scalars = {tag: merge_files(pieces) for tag, pieces in per_tag.items()}
    for w in warnings:
        log.debug("%s", w)  # callers report run_log.warnings themselves
    roles = infer_roles({tag: len(s) for tag, s in scalars.items()}, overrides=overrides)
    add_sums(scalars, roles)  # `points` stays the count of points read
    return RunLog(source.name, scalars, texts, warnings, points, roles, source)


def load_path(
    path: str | os.PathLike, *, overrides: Mapping[str, str] | None = None
) -> list[RunLog]:
    """Every run under ``path`` (a file, a run folder or a tree of runs)."""
    return [load_run(source, overrides=overrides) for source in find_runs(path)]


def read_texts(path: str | os.PathLike) -> dict[str, str]:
    """The text summaries of an event file or run (e.g. ``traindoc/config``), latest wins."""
    texts: dict[str, str] = {}
    for source in find_runs(path):
        for group in source.groups:
            for file in group.files:
                for tag, text in EventFileReader(file).read(final=True).texts.items():
                    texts[qualified(group.prefix, tag)] = text
    return texts
