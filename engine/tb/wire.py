"""The protobuf fields that scalars and texts need, encoded and decoded by hand.

Only these messages matter (field numbers from tensorboard/compat/proto)::

    Event         1 wall_time double, 2 step int64, 3 file_version string,
                  5 summary Summary  (the other fields are skipped by length)
    Summary       1 value repeated Summary.Value
    Summary.Value 1 tag string, 7 node_name string, 2 simple_value float,
                  8 tensor TensorProto, 9 metadata SummaryMetadata
                  (3-6: histograms, images, audio: skipped by length)
    TensorProto   1 dtype enum, 2 tensor_shape, 4 tensor_content bytes,
                  5 float_val packed float, 6 double_val packed double,
                  8 string_val repeated bytes, 13 half_val packed int32
    SummaryMetadata 1 plugin_data {1 plugin_name, 2 content}, 4 data_class enum

:func:`decode_event` is the exact, slow path (one Python call per record); the
columnar fast path lives in ``columnar.py`` and falls back to this one for any
record whose shape it does not recognise.
"""

from __future__ import annotations

import struct

import numpy as np

# Wire types
VARINT, I64, LEN, I32 = 0, 1, 2, 5

# TensorFlow DataType values
DT_FLOAT, DT_DOUBLE, DT_STRING, DT_BFLOAT16, DT_HALF = 1, 2, 7, 14, 19
DATA_CLASS_SCALAR = 1

_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


class WireError(ValueError):
    """The bytes are not a well-formed message of the expected shape."""


# --- encoding -----------------------------------------------------------------------


def varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values take ten bytes (two's complement)."""
    if value < 0:
        value += 1 << 64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def len_field(number: int, payload: bytes) -> bytes:
    return key(number, LEN) + varint(len(payload)) + payload


def event_prefix(wall_time: float, step: int) -> bytes:
    """Event fields 1 (wall_time) and 2 (step)."""
    return b"\x09" + _F64.pack(wall_time) + b"\x10" + varint(step)


def file_version_event(wall_time: float, version: str = "brain.Event:2") -> bytes:
    return b"\x09" + _F64.pack(wall_time) + len_field(3, version.encode())


def scalar_value(tag: str, value: float) -> bytes:
    """A Summary.Value holding ``simple_value`` (not wrapped in field 1 of Summary)."""
    try:
        packed = _F32.pack(value)
    except OverflowError:  # finite double beyond float32: TensorBoard would store inf
        packed = _F32.pack(float("inf") if value > 0 else float("-inf"))
    return len_field(1, tag.encode()) + b"\x15" + packed


def text_value(tag: str, text: str) -> bytes:
    """A Summary.Value that TensorBoard's text plugin shows: a DT_STRING tensor [1]."""
    shape = len_field(2, b"\x08\x01")  # TensorShapeProto.dim {size: 1}
    tensor = b"\x08" + varint(DT_STRING) + len_field(2, shape) + len_field(8, text.encode())
    metadata = len_field(1, len_field(1, b"text"))  # plugin_data {plugin_name: "text"}
    return len_field(1, tag.encode()) + len_field(8, tensor) + len_field(9, metadata)


def summary_event(wall_time: float, step: int, values: list[bytes]) -> bytes:
    summary = b"".join(len_field(1, v) for v in values)
    return event_prefix(wall_time, step) + len_field(5, summary)


# --- decoding -----------------------------------------------------------------------


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("bad varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes, pos: int, end: int):
    """Yield ``(number, wire_type, value, start, stop)`` for each field in ``buf[pos:end]``.

    For varints ``value`` is the integer; for the others the payload is
    ``buf[start:stop]``.
    """
    while pos < end:
        k, pos = _read_varint(buf, pos, end)
        number, wire_type = k >> 3, k & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, pos = _read_varint(buf, pos, end)
            yield number, wire_type, value, pos, pos
            continue
        if wire_type == I64:
            size = 8
        elif wire_type == I32:
            size = 4
        elif wire_type == LEN:
            size, pos = _read_varint(buf, pos, end)
        else:
            raise WireError(f"wire type {wire_type}")
        stop = pos + size
        if stop > end:
            raise WireError("field runs past its message")
        yield number, wire_type, 0, pos, stop
        pos = stop


def decode_event(buf: bytes, pos: int, end: int, odd: set[str] | None = None):
    """Decode one Event: ``(wall_time, step, scalars, texts)``.

    ``scalars`` is a list of ``(tag, value)``; ``texts`` of ``(tag, text)``.
    Tags that are not valid UTF-8 are escaped and added to ``odd`` (see
    :func:`decode_tag`). Raises :class:`WireError` on malformed bytes.
    """
    wall, step = float("nan"), 0
    scalars: list[tuple[str, float]] = []
    texts: list[tuple[str, str]] = []
    for number, wire_type, value, start, stop in fields(buf, pos, end):
        if number == 1 and wire_type == I64:
            wall = _F64.unpack_from(buf, start)[0]
        elif number == 2 and wire_type == VARINT:
            step = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 5 and wire_type == LEN:
            for vnum, vtype, _, vstart, vstop in fields(buf, start, stop):
                if vnum == 1 and vtype == LEN:
                    _decode_value(buf, vstart, vstop, scalars, texts, odd)
    return wall, step, scalars, texts


def decode_tag(raw: bytes, odd: set[str] | None = None) -> str:
    """A tag as text; bytes that are not UTF-8 stay distinct as ``\\xNN`` escapes.

    Two tags that differ only in invalid bytes (``loss\\xff``, ``loss\\xfe``) must not
    become one series, as ``errors="replace"`` would make them. The escaped names
    are added to ``odd`` (for a warning).
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        tag = raw.decode("utf-8", "backslashreplace")
        if odd is not None:
            odd.add(tag)
        return tag


def _decode_value(buf, pos, end, scalars, texts, odd=None) -> None:
    tag = node_name = ""
    simple = None
    tensor = None
    plugin = ""
    data_class = 0
    for number, wire_type, _value, start, stop in fields(buf, pos, end):
        if number == 1 and wire_type == LEN:
            tag = decode_tag(bytes(buf[start:stop]), odd)
        elif number == 7 and wire_type == LEN:
            node_name = decode_tag(bytes(buf[start:stop]), odd)
        elif number == 2 and wire_type == I32:
            simple = _F32.unpack_from(buf, start)[0]
        elif number == 8 and wire_type == LEN:
            tensor = (start, stop)
        elif number == 9 and wire_type == LEN:
            plugin, data_class = _decode_metadata(buf, start, stop)
    tag = tag or node_name
    if simple is not None:
        scalars.append((tag, simple))
        return
    if tensor is None:
        return
    if plugin == "text":
        text = _tensor_text(buf, *tensor)
        if text is not None:
            texts.append((tag, text))
    elif plugin == "scalars" or data_class == DATA_CLASS_SCALAR or not plugin:
        value = tensor_scalar(buf, *tensor)
        if value is not None:
            scalars.append((tag, value))


def _decode_metadata(buf, pos, end) -> tuple[str, int]:
    plugin, data_class = "", 0
    for number, wire_type, value, start, stop in fields(buf, pos, end):
        if number == 1 and wire_type == LEN:
            for pnum, ptype, _, pstart, pstop in fields(buf, start, stop):
                if pnum == 1 and ptype == LEN:
                    plugin = bytes(buf[pstart:pstop]).decode("utf-8", "replace")
        elif number == 4 and wire_type == VARINT:
            data_class = value
    return plugin, data_class


_FLOAT_DTYPES = {DT_FLOAT: "<f4", DT_DOUBLE: "<f8", DT_HALF: "<f2"}


def tensor_scalar(buf: bytes, pos: int, end: int) -> float | None:
    """The one floating-point value of a TensorProto, or None if it holds no single float.

    Reads ``float_val``, ``double_val``, ``half_val`` (float16 and bfloat16 bit
    patterns) and ``tensor_content`` holding one float16/float32/float64.
    """
    dtype = 0
    found: list[float] = []
    content = None
    halves: list[int] = []
    for number, wire_type, value, start, stop in fields(buf, pos, end):
        if number == 1 and wire_type == VARINT:
            dtype = value
        elif number == 4 and wire_type == LEN:
            content = buf[start:stop]
        elif number == 5:
            found.extend(_repeated(buf, wire_type, value, start, stop, "<f4"))
        elif number == 6:
            found.extend(_repeated(buf, wire_type, value, start, stop, "<f8"))
        elif number == 13:
            halves.extend(_repeated_varints(buf, wire_type, value, start, stop))
    if halves:
        bits = np.array([h & 0xFFFF for h in halves], np.uint16)
        if dtype == DT_BFLOAT16:
            found.extend((bits.astype(np.uint32) << 16).view(np.float32).astype(float).tolist())
        else:
            found.extend(bits.view(np.float16).astype(float).tolist())
    if content is not None and dtype in _FLOAT_DTYPES:
        fmt = _FLOAT_DTYPES[dtype]
        if len(content) == np.dtype(fmt).itemsize:
            found.append(float(np.frombuffer(bytes(content), fmt)[0]))
    if len(found) != 1:
        return None
    return found[0]


def _repeated(buf, wire_type, value, start, stop, fmt) -> list[float]:
    size = np.dtype(fmt).itemsize
    if wire_type == LEN:
        if (stop - start) % size:
            raise WireError("packed floats of a bad length")
        return np.frombuffer(bytes(buf[start:stop]), fmt).astype(float).tolist()
    if (wire_type, size) in ((I32, 4), (I64, 8)):
        return [float(np.frombuffer(bytes(buf[start:stop]), fmt)[0])]
    raise WireError("float field of a bad wire type")


def _repeated_varints(buf, wire_type, value, start, stop) -> list[int]:
    if wire_type == VARINT:
        return [value]
    if wire_type != LEN:
        raise WireError("half_val of a bad wire type")
    out = []
    pos = start
    while pos < stop:
        v, pos = _read_varint(buf, pos, stop)
        out.append(v)
    return out


def _tensor_text(buf, pos, end) -> str | None:
    parts = [
        bytes(buf[start:stop]).decode("utf-8", "replace")
        for number, wire_type, _, start, stop in fields(buf, pos, end)
        if number == 8 and wire_type == LEN
    ]
    return "\n".join(parts) if parts else None
