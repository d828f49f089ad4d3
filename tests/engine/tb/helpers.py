"""Independent fixtures: event files built with TensorBoard's own protos and writer."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

REPO = Path(__file__).resolve().parents[3]
REALRUNS = REPO.parent / "shared" / "realruns"

DT_FLOAT, DT_DOUBLE, DT_STRING, DT_BFLOAT16, DT_HALF = 1, 2, 7, 14, 19


def records(events: list[event_pb2.Event]) -> bytes:
    buf = io.BytesIO()
    writer = RecordWriter(buf)
    for e in events:
        writer.write(e.SerializeToString())
    return buf.getvalue()


def version_event(wall: float = 1.0) -> event_pb2.Event:
    return event_pb2.Event(wall_time=wall, file_version="brain.Event:2")


def simple(tag: str, value: float, step: int, wall: float = 1.0) -> event_pb2.Event:
    v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[v]))


def _scalar_meta() -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )


def tensor_event(tag: str, step: int, tensor: tensor_pb2.TensorProto, wall=1.0, meta=None):
    v = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta or _scalar_meta())
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[v]))


def scalar_tensor(value: float, encoding: str) -> tensor_pb2.TensorProto:
    """One scalar in each encoding TensorBoard writers use."""
    if encoding == "float_val":
        return tensor_pb2.TensorProto(dtype=DT_FLOAT, float_val=[value])
    if encoding == "double_val":
        return tensor_pb2.TensorProto(dtype=DT_DOUBLE, double_val=[value])
    if encoding == "half_val":
        bits = int(np.array([value], np.float16).view(np.uint16)[0])
        return tensor_pb2.TensorProto(dtype=DT_HALF, half_val=[bits])
    if encoding == "bfloat16":
        bits = int(np.array([value], np.float32).view(np.uint32)[0]) >> 16
        return tensor_pb2.TensorProto(dtype=DT_BFLOAT16, half_val=[bits])
    dtype, fmt = {"content_f16": (DT_HALF, "<f2"), "content_f32": (DT_FLOAT, "<f4"),
                  "content_f64": (DT_DOUBLE, "<f8")}[encoding]
    return tensor_pb2.TensorProto(
        dtype=dtype, tensor_content=np.array([value], fmt).tobytes(),
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
    )


ENCODINGS = ("float_val", "double_val", "half_val", "bfloat16",
             "content_f16", "content_f32", "content_f64")


def image_event(tag: str, step: int, size: int = 5000) -> event_pb2.Event:
    img = summary_pb2.Summary.Image(height=10, width=10, colorspace=3,
                                    encoded_image_string=bytes(range(256)) * (size // 256))
    v = summary_pb2.Summary.Value(tag=tag, image=img)
    return event_pb2.Event(wall_time=1.0, step=step, summary=summary_pb2.Summary(value=[v]))


def histogram_event(tag: str, step: int) -> event_pb2.Event:
    h = summary_pb2.HistogramProto(min=0, max=1, num=10, sum=5, sum_squares=3,
                                   bucket_limit=[0.5, 1.0], bucket=[4, 6])
    v = summary_pb2.Summary.Value(tag=tag, histo=h)
    return event_pb2.Event(wall_time=1.0, step=step, summary=summary_pb2.Summary(value=[v]))


def independent_points(path: Path) -> dict[str, int]:
    """Scalar points per tag, decoded with TensorBoard's protos (the reference count).

    A scalar is a ``simple_value``, or a tensor whose plugin is ``scalars`` (or
    that has no plugin) holding exactly one floating-point value.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader

    counts: dict[str, int] = {}
    for rec in RawEventFileLoader(str(path)).Load():
        event = event_pb2.Event.FromString(rec)
        if event.WhichOneof("what") != "summary":
            continue
        for v in event.summary.value:
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                counts[v.tag] = counts.get(v.tag, 0) + 1
            elif kind == "tensor" and v.metadata.plugin_data.plugin_name in ("scalars", ""):
                t = v.tensor
                size = {DT_HALF: 2, DT_FLOAT: 4, DT_DOUBLE: 8}.get(t.dtype)
                n = (len(t.float_val) + len(t.double_val) + len(t.half_val)
                     + (1 if size is not None and len(t.tensor_content) == size else 0))
                if n == 1:
                    counts[v.tag] = counts.get(v.tag, 0) + 1
    return counts


def poll_watcher(watcher) -> tuple[list[str], list[str]]:
    """One poll of an ``engine.watch.Watcher``, as the CLI and the GUI read it: the names of
    the runs that received points, texts or a reset, and the warnings."""
    changed = [change.name for change in watcher.changes() if change.touched]
    return changed, watcher.take_warnings()
