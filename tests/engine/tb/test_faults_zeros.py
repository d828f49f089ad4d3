"""A zero-filled stretch (what a crash often leaves at a file's end) is resynced over
in bounded memory (issue 10, item 9): peak <= 2x the read chunk."""

from __future__ import annotations

import tracemalloc

import pytest

from traindoc.engine.tb.reader import CHUNK_BYTES, EventFileReader, load_path
from traindoc.engine.tb.writer import ScalarWriter

from .helpers import records, simple, version_event

ZEROS = 16 << 20


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("final", [True, False])
def test_zero_file_reads_in_bounded_memory(tmp_path, final):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(bytes(ZEROS))
    chunk, peak = _peak(lambda: EventFileReader(path).read(final=final))
    assert peak <= 2 * CHUNK_BYTES, f"peak {peak / 2**20:.0f} MiB"
    assert chunk.points == 0 and len(chunk.warnings) == 1
    assert "byte 0" in chunk.warnings[0]


def test_valid_records_then_zeros(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    data = records([version_event()] + [simple("loss", float(i), i) for i in range(2000)])
    path.write_bytes(data + bytes(ZEROS))
    chunk, peak = _peak(lambda: EventFileReader(path).read(final=True))
    assert peak <= 2 * CHUNK_BYTES, f"peak {peak / 2**20:.0f} MiB"
    assert chunk.scalars["loss"].steps.tolist() == list(range(2000))
    assert len(chunk.warnings) == 1 and f"at byte {len(data)}" in chunk.warnings[0]
    (run,) = load_path(tmp_path)
    assert len(run.scalars["loss"]) == 2000 and len(run.warnings) == 1


def test_writer_file_then_zeros_then_more_records(tmp_path):
    """The project's writer, a crash's zeros, then the writer's records again: both kept."""
    w = ScalarWriter(tmp_path, flush_secs=0)
    for i in range(100):
        w.add_scalar("loss", float(i), i)
    w.close()
    path = w.path
    with open(path, "ab") as f:
        f.write(bytes(ZEROS))
        f.write(records([simple("loss", 1.0, s) for s in range(100, 110)]))
    chunk, peak = _peak(lambda: EventFileReader(path).read(final=True))
    assert peak <= 2 * CHUNK_BYTES, f"peak {peak / 2**20:.0f} MiB"
    assert chunk.scalars["loss"].steps.tolist() == list(range(110))
    assert len(chunk.warnings) == 1
