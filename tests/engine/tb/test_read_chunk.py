"""The reader asks for the bytes a file held when it was stat'ed, not a whole chunk, and
still returns what one read of the chunk would: the rest of a file that grew since (or
whose size was not known), never more than the chunk."""

from __future__ import annotations

from traindoc.engine.tb.reader import EventFileReader, _read_chunk
from traindoc.engine.tb.writer import ScalarWriter


def test_a_chunk_is_what_one_read_would_return(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(bytes(range(200)))
    with open(path, "rb") as f:
        assert _read_chunk(f, 1000, 200) == bytes(range(200))  # as stat'ed
        f.seek(50)
        assert _read_chunk(f, 1000, 150) == bytes(range(50, 200))
        f.seek(0)
        assert _read_chunk(f, 1000, 120) == bytes(range(200))  # it grew since the stat
        f.seek(0)
        assert _read_chunk(f, 1000, 0) == bytes(range(200))  # a size of 0 (not known)
        f.seek(0)
        assert _read_chunk(f, 1000, -5) == bytes(range(200))
        f.seek(0)
        assert _read_chunk(f, 64, 200) == bytes(range(64))  # never more than the chunk
        f.seek(0)
        assert _read_chunk(f, 64, 10) == bytes(range(64))
        f.seek(200)
        assert _read_chunk(f, 1000, 0) == b""  # at the end


def test_a_file_that_grows_between_reads_is_read_to_its_end(tmp_path):
    with ScalarWriter(tmp_path, flush_secs=1e9) as w:
        for step in range(30):
            w.add_scalar("loss", 1.0 / (step + 1), step)
    path = next(tmp_path.glob("events.out.tfevents.*"))
    reader = EventFileReader(path)
    first = reader.read()
    assert first.points == 30 and not first.warnings
    with ScalarWriter(tmp_path / "more", flush_secs=1e9) as w:
        for step in range(30, 40):
            w.add_scalar("loss", 1.0 / (step + 1), step)
    extra = next((tmp_path / "more").glob("events.out.tfevents.*")).read_bytes()
    # The new file's first record is its file_version event: append only its scalars.
    with open(path, "ab") as f:
        f.write(extra[_first_record_size(extra):])
    second = reader.read(final=True)
    assert second.points == 10 and not second.warnings
    assert second.scalars["loss"].steps.tolist() == list(range(30, 40))


def _first_record_size(data: bytes) -> int:
    return int.from_bytes(data[:8], "little") + 16
