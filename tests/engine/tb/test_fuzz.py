"""Fuzzing the reader: truncation, byte flips and inserted garbage never raise, and
every intact record - before the damage and after it - is kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, summary_pb2

from traindoc.engine.tb.reader import EventFileReader

from .helpers import records, scalar_tensor, simple, tensor_event, version_event

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _events():
    """A small file mixing every shape the reader handles; record i holds step i."""
    events = [version_event()]
    expected: list[set[tuple[str, int]]] = [set()]
    for i in range(1, 16):
        kind = i % 4
        if kind == 0:
            ev = simple("s", float(i), i)
            exp = {("s", i)}
        elif kind == 1:
            ev = tensor_event("t", i, scalar_tensor(float(i), "content_f32"))
            exp = {("t", i)}
        elif kind == 2:
            vals = [
                summary_pb2.Summary.Value(tag="m1", simple_value=i),
                summary_pb2.Summary.Value(tag="m2", simple_value=-i),
            ]
            ev = event_pb2.Event(wall_time=2.0, step=i, summary=summary_pb2.Summary(value=vals))
            exp = {("m1", i), ("m2", i)}
        else:
            ev = simple("s" * (i + 5), 0.5, i)
            exp = {("s" * (i + 5), i)}
        events.append(ev)
        expected.append(exp)
    return events, expected


EVENTS, EXPECTED = _events()
FRAMES = [records([e]) for e in EVENTS]
DATA = b"".join(FRAMES)
BOUNDS = []
_pos = 0
for _f in FRAMES:
    BOUNDS.append((_pos, _pos + len(_f)))
    _pos += len(_f)
TMP = Path(tempfile.mkdtemp(prefix="tbfuzz"))


def _read(data: bytes, *, final: bool = True):
    path = TMP / "events.out.tfevents.1.fuzz"
    path.write_bytes(data)
    return EventFileReader(path).read(final=final)


def _points(chunk) -> set[tuple[str, int]]:
    return {(tag, int(s)) for tag, sc in chunk.scalars.items() for s in sc.steps.tolist()}


def _expected(keep) -> set[tuple[str, int]]:
    return set().union(*(EXPECTED[i] for i, b in enumerate(BOUNDS) if keep(*b)))


@FUZZ
@given(st.integers(0, len(DATA)))
def test_truncation(cut):
    chunk = _read(DATA[:cut])
    assert _points(chunk) == _expected(lambda s, e: e <= cut)
    at_boundary = cut in {b for _, b in BOUNDS} or cut == 0
    assert bool(chunk.warnings) == (not at_boundary)
    # ...and once the file is completed, an incremental reader gets the rest.
    path = TMP / "events.out.tfevents.1.grow"
    path.write_bytes(DATA[:cut])
    reader = EventFileReader(path)
    first = _points(reader.read())
    with open(path, "ab") as f:
        f.write(DATA[cut:])
    second = reader.read()
    assert not second.warnings
    assert first | _points(second) == _expected(lambda s, e: True)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(DATA) - 1), st.integers(1, 255)),
        min_size=1,
        max_size=3,
        unique_by=lambda f: f[0],
    )
)
def test_byte_flips(flips):
    data = bytearray(DATA)
    for pos, x in flips:
        data[pos] ^= x
    chunk = _read(bytes(data))
    hit = {pos for pos, _ in flips}
    assert _points(chunk) == _expected(lambda s, e: not any(s <= p < e for p in hit))
    assert chunk.warnings
    first = min(hit)
    assert _points(chunk) >= _expected(lambda s, e: e <= first)


@FUZZ
@given(st.integers(0, len(DATA)), st.binary(min_size=1, max_size=40))
@example(len(DATA) - 1, DATA[-1:])  # found by CI: the inserted byte equals the one it precedes
def test_inserted_garbage(pos, garbage):
    data = DATA[:pos] + garbage + DATA[pos:]
    chunk = _read(data)
    shift = len(garbage)

    def intact(s, e):
        # A record split by the garbage survives only where the garbage happens to
        # repeat its own bytes (e.g. b"9" inserted just before a "9"): then its bytes
        # still stand whole at their old or their shifted place.
        return (
            not (s < pos < e) or data[s:e] == DATA[s:e] or data[s + shift : e + shift] == DATA[s:e]
        )

    assert _points(chunk) == _expected(intact)
    assert chunk.warnings


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(blob):
    chunk = _read(blob)
    assert chunk.points == sum(len(s) for s in chunk.scalars.values())
    chunk = _read(DATA[:100] + blob, final=False)
    assert chunk.points >= 0
