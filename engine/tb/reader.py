"""Reading TensorBoard event files into columnar scalars.

:class:`EventFileReader` is TensorBoard's resumable loader, columnar: each
:meth:`~EventFileReader.read` returns what was appended since the previous one,
reading only new bytes. A half-written tail is left for the next read; damaged
bytes become a warning naming the file and byte offset, and reading resumes at
the next valid record. Nothing in a file's content makes it raise.

:func:`load_run` reads every file of a run (see ``discovery.py``), merges them
in step order with TensorBoard's purge on restart, and infers the roles. A role
filled by a sum of loss parts (``roles.py``) gets its composite series, built by
:class:`~.scalars.PartSum` - the same code that sums the parts of a run being followed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .columnar import decode
from .discovery import RunSource, find_runs
from .records import HEADER_BYTES, masked_crc32c, scan
from .roles import infer_roles
from .scalars import Scalars, add_sums, concat, merge_files, purge_restarts

log = logging.getLogger(__name__)

CHUNK_BYTES = 16 << 20  # read (and decode) at most this much at a time
CONFIG_TAG = "traindoc/config"


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
        self.path = path if isinstance(path, Path) else Path(path)
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
            reset = self._start_over_if_replaced(st, warnings)
            self._seen = _identity(st)
            points = self._read_new_records(parts, texts, warnings, st.st_size)
            if final and self.offset < st.st_size and not self.in_damage:
                warnings.append(
                    f"{self.path}: truncated record at byte {self.offset}, "
                    f"{self.records} records kept"
                )
        except OSError as e:
            warnings.append(f"{self.path}: cannot read ({e.strerror or e})")
        scalars, purged = self._apply_restarts(parts, warnings)
        return FileChunk(scalars, texts, warnings, points, purged, reset)

    def _start_over_if_replaced(self, st: os.stat_result, warnings: list[str]) -> bool:
        if not self._replaced(st):
            return False
        warnings.append(
            f"{self.path}: file replaced or rewritten ({st.st_size} bytes); "
            "read again from the start"
        )
        self.offset, self.records, self.in_damage, self.pending = 0, 0, False, False
        self._last_step = {}
        self._warned_tags = False
        return True

    def _read_new_records(self, parts, texts, warnings, size: int) -> int:
        """Decode the records after ``offset``, one chunk in memory at a time. ``size``:
        the file's size when it was last stat'ed."""
        points = 0
        with open(self.path, "rb") as f:
            want = CHUNK_BYTES
            while True:
                f.seek(self.offset)
                buf = _read_chunk(f, want, size - self.offset)
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
        return points

    def _apply_restarts(self, parts, warnings) -> tuple[dict[str, Scalars], dict[str, int]]:
        """Each tag's new points with step restarts purged (see :func:`purge_restarts`)."""
        scalars: dict[str, Scalars] = {}
        purged: dict[str, int] = {}
        restarts: list[tuple[str, int, int]] = []
        for tag, p in parts.items():
            kept, restart, purge_from = purge_restarts(concat(p), self._last_step.get(tag))
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
        return scalars, purged

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


def _read_chunk(f, want: int, expected: int) -> bytes:
    """``f.read(want)``, without asking for ``want`` bytes when fewer are expected: a
    16 MiB request allocates 16 MiB before reading a small file (~35 us each). One
    byte more than ``expected`` shows the end of the file; a file that grew since
    (or whose size was not known) gets the rest of the chunk, as one read would."""
    ask = min(want, max(expected, 0) + 1)
    buf = f.read(ask)
    if len(buf) == ask < want:
        buf += f.read(want - ask)
    return buf


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


def qualified(prefix: str, tag: str) -> str:
    """A tag's name in the logical run: files of a role folder are namespaced by it."""
    return f"{prefix}/{tag}" if prefix else tag


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
