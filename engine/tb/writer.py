"""A fast scalar writer for TensorBoard event files.

Split as TensorBoard splits its own: :class:`ScalarWriter` validates and encodes
(protobuf bytes by hand, see ``wire.py``), :class:`EventFileOutput` frames the
records (``records.py``), buffers them and writes them out. The buffer is
flushed when ``flush_secs`` have passed (checked on each add, no thread), on
:meth:`ScalarWriter.flush` and on close.

The file is ``events.out.tfevents.<int time>.<hostname>.<pid>.<counter>`` and its
first event is ``file_version: "brain.Event:2"``, so TensorBoard, tbparse and
``EventAccumulator`` all read it. Scalars are ``simple_value`` (float32);
NaN and infinities are written as they are.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import operator
import os
import socket
import struct
import time
from collections.abc import Mapping
from pathlib import Path

from . import wire
from .records import frame_many

log = logging.getLogger(__name__)

_counter = itertools.count()
_F32 = struct.Struct("<f").pack
_F64 = struct.Struct("<d").pack
_time = time.time


def event_file_name(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}.{next(_counter)}"


class EventFileOutput:
    """Buffers event payloads and appends them, framed, to one event file.

    TensorBoard's "Output" role. :meth:`write` is a bare ``list.append``; the
    framing and both CRCs are computed in bulk when the buffer is flushed.
    """

    __slots__ = ("_file", "_pending", "path", "write")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "xb")  # noqa: SIM115 - closed by close()
        self._pending: list[bytes] = []
        self.write = self._pending.append

    def flush(self) -> None:
        if self._pending:
            self._file.write(frame_many(self._pending))
            self._pending.clear()
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self.flush()
        self._file.close()
        self.write = _closed

    @property
    def closed(self) -> bool:
        return self._file.closed


def _closed(_data: bytes) -> None:
    raise ValueError("the writer is closed")


class ScalarWriter:
    """Writes scalars and texts to a new event file in ``run_dir``.

    >>> with ScalarWriter(run_dir) as w:  # doctest: +SKIP
    ...     w.add_scalar("train/loss", 0.5, step=10)
    """

    def __init__(self, run_dir: str | os.PathLike, *, flush_secs: float = 1.0) -> None:
        if not flush_secs >= 0:
            raise ValueError(f"flush_secs must be >= 0, got {flush_secs!r}")
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.flush_secs = float(flush_secs)
        now = time.time()
        while True:
            path = self.run_dir / event_file_name(now)
            try:
                self._out = EventFileOutput(path)
                break
            except FileExistsError:
                continue
        self.path = path
        self._tags: dict[str, tuple] = {}
        self._write = self._out.write
        self._out.write(wire.file_version_event(now))
        self._out.flush()
        self._deadline = time.time() + self.flush_secs

    # -- encoding helpers --------------------------------------------------------------

    def _prefix(self, tag: str) -> bytes:
        """Bytes of Summary{value{tag, simple_value <4 bytes follow>}} for ``tag``."""
        if not isinstance(tag, str):
            raise TypeError(f"tag must be a str, got {type(tag).__name__}")
        name = tag.encode()
        head = b"\x0a" + wire.varint(len(name)) + name + b"\x15"  # tag, then simple_value key
        value_len = len(head) + 4
        summary_len = 1 + len(wire.varint(value_len)) + value_len
        return b"\x2a" + wire.varint(summary_len) + b"\x0a" + wire.varint(value_len) + head

    def _packers(self, tag: str):
        """One ``struct`` pack per step size: a whole Event in a single C call.

        Layout: 0x09 wall_time(f64) 0x10 step(varint, 1-4 bytes) summary-prefix value(f32).
        """
        prefix = self._prefix(tag)
        n = len(prefix)
        packers = (
            prefix,
            struct.Struct(f"<BdBB{n}sf").pack,
            struct.Struct(f"<BdBBB{n}sf").pack,
            struct.Struct(f"<BdBBBB{n}sf").pack,
            struct.Struct(f"<BdBBBBB{n}sf").pack,
        )
        self._tags[tag] = packers
        return packers

    def _check_open(self) -> None:
        if self._out.closed:
            raise ValueError("the writer is closed")

    def _maybe_flush(self) -> None:
        if time.time() >= self._deadline:
            self.flush()

    # -- public API --------------------------------------------------------------------

    def add_scalar(
        self, tag: str, value: float, step: int, wall_time: float | None = None
    ) -> None:
        """One ``simple_value`` event. ``step`` must be an integer (int64)."""
        packers = self._tags.get(tag) or self._packers(tag)
        now = _time()
        wall = now if wall_time is None else wall_time
        try:
            if step.__class__ is int and 0 <= step < 0x80:
                data = packers[1](9, wall, 0x10, step, packers[0], value)
            elif step.__class__ is not int or step < 0:
                data = self._encode_slow(packers[0], wall, step, value)
            elif step < 0x4000:
                data = packers[2](9, wall, 0x10, step & 0x7F | 0x80, step >> 7, packers[0], value)
            elif step < 0x200000:
                data = packers[3](
                    9, wall, 0x10, step & 0x7F | 0x80, (step >> 7) & 0x7F | 0x80, step >> 14,
                    packers[0], value,
                )
            elif step < 0x10000000:
                data = packers[4](
                    9, wall, 0x10, step & 0x7F | 0x80, (step >> 7) & 0x7F | 0x80,
                    (step >> 14) & 0x7F | 0x80, step >> 21, packers[0], value,
                )
            else:
                data = self._encode_slow(packers[0], wall, step, value)
        except (OverflowError, struct.error):
            data = self._encode_slow(packers[0], wall, step, value)
        self._write(data)
        if now >= self._deadline:
            self.flush()

    @staticmethod
    def _encode_slow(prefix: bytes, wall, step, value) -> bytes:
        """Any step (negative, large, numpy), float32 overflow, argument errors."""
        if step.__class__ is not int:
            step = operator.index(step)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"value must be a real number, got {type(value).__name__}") from None
        try:
            packed = _F32(value)
        except OverflowError:  # finite double beyond float32: TensorBoard would store inf
            packed = _F32(math.copysign(math.inf, value))
        return b"\x09" + _F64(float(wall)) + b"\x10" + _step_varint(step) + prefix + packed

    def add_scalars(
        self, values: Mapping[str, float], step: int, wall_time: float | None = None
    ) -> None:
        """Several tags at one step, as one event (each tag keeps its own name)."""
        self._check_open()
        step = operator.index(step)
        _step_varint(step)
        now = time.time() if wall_time is None else float(wall_time)
        encoded = [wire.scalar_value(_check_tag(t), float(v)) for t, v in values.items()]
        if encoded:
            self._out.write(wire.summary_event(now, step, encoded))
        self._maybe_flush()

    def add_text(
        self, tag: str, text: str, step: int = 0, wall_time: float | None = None
    ) -> None:
        """A text summary (plugin ``text``, DT_STRING tensor) that TensorBoard shows."""
        self._check_open()
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        step = operator.index(step)
        _step_varint(step)
        now = time.time() if wall_time is None else float(wall_time)
        self._out.write(wire.summary_event(now, step, [wire.text_value(_check_tag(tag), text)]))
        self._maybe_flush()

    def flush(self) -> None:
        """Write everything buffered to the file (cheap when nothing is buffered)."""
        if not self._out.closed:
            self._out.flush()
        self._deadline = time.time() + self.flush_secs

    def close(self) -> None:
        self._out.close()
        self._write = self._out.write

    @property
    def closed(self) -> bool:
        return self._out.closed

    def __enter__(self) -> ScalarWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        out = getattr(self, "_out", None)
        if out is not None and not out.closed:
            with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to do
                out.close()


def _check_tag(tag: str) -> str:
    if not isinstance(tag, str):
        raise TypeError(f"tag must be a str, got {type(tag).__name__}")
    return tag


def _step_varint(step: int) -> bytes:
    if 0 <= step < 0x4000:
        return bytes((step & 0x7F | 0x80, step >> 7)) if step >= 0x80 else bytes((step,))
    if 0 <= step < 0x200000:
        return bytes((step & 0x7F | 0x80, (step >> 7) & 0x7F | 0x80, step >> 14))
    if not -(1 << 63) <= step < (1 << 63):
        raise ValueError(f"step {step} does not fit in int64")
    return wire.varint(step)
