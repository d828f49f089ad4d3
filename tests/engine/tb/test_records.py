"""TFRecord framing and bulk CRC checks, against TensorBoard's own implementation."""

from __future__ import annotations

import io
import os
import random

import google_crc32c
import numpy as np
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
from tensorboard.summary.writer.record_writer import RecordWriter

from traindoc.engine.tb import records as R


def _payloads(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    sizes = [0, 1, 7, 8, 9, 30, 44, 45, 300, 600, 2000]
    return [rng.randbytes(rng.choice(sizes)) for _ in range(n)]


def test_frame_matches_tensorboard_record_writer():
    data = _payloads(200)
    buf = io.BytesIO()
    writer = RecordWriter(buf)
    for d in data:
        writer.write(d)
    assert b"".join(R.frame(d) for d in data) == buf.getvalue()
    assert R.frame_many(data) == buf.getvalue()


def test_frame_many_small_and_large_batches_agree():
    edge = R.BULK_FRAMING_FROM
    for n in (0, 1, edge - 1, edge, edge + 1, 1000):
        data = _payloads(n, seed=n)
        assert R.frame_many(data) == b"".join(R.frame(d) for d in data)


def test_tensorboard_record_reader_reads_our_frames(tmp_path):
    data = _payloads(50)
    path = tmp_path / "events.out.tfevents.1.x"
    path.write_bytes(R.frame_many(data))
    reader = PyRecordReader_New(str(path))
    got = []
    while True:
        try:
            reader.GetNext()
        except Exception:  # the stub raises errors.OutOfRangeError at the end
            break
        got.append(reader.record())
    assert got == data


def test_masked_crc_known_value():
    # TensorBoard's pure-Python implementation is the reference.
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    for d in (b"", b"a", b"hello world", bytes(range(256))):
        assert R.masked_crc32c(d) == masked_crc32c(d)


def test_bulk_crc_equals_c_implementation():
    rng = np.random.default_rng(1)
    buf = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    starts = rng.integers(0, 190_000, 20_000)
    lengths = np.concatenate([rng.integers(0, 40, 19_000), rng.integers(500, 5000, 1_000)])
    lengths = np.minimum(lengths, len(buf) - starts)
    got = R.crc32c_many(buf, starts, lengths)
    pairs = zip(starts.tolist(), lengths.tolist(), strict=True)
    want = [google_crc32c.value(buf[s : s + n]) for s, n in pairs]
    assert got.tolist() == want


def test_bulk_crc_with_constant_columns():
    # Records that differ in a few bytes only: the folded constant must be exact.
    base = bytearray(os.urandom(44))
    recs = []
    for i in range(500):
        base[10] = i % 256
        base[30] = (i * 7) % 256
        recs.append(bytes(base))
    buf = b"".join(recs) + bytes(8)
    starts = np.arange(500) * 44
    got = R.crc32c_many(buf, starts, np.full(500, 44))
    assert got.tolist() == [google_crc32c.value(r) for r in recs]


def test_scan_clean_buffer():
    data = _payloads(300)
    buf = R.frame_many(data)
    sc = R.scan(buf)
    assert sc.consumed == len(buf) and not sc.damages and not sc.pending
    got = [buf[s : s + n] for s, n in zip(sc.starts.tolist(), sc.lengths.tolist(), strict=True)]
    assert got == data


def test_scan_flipped_byte_is_one_damage_and_resyncs():
    data = _payloads(100, seed=3)
    buf = bytearray(R.frame_many(data))
    offsets = np.cumsum([0] + [len(d) + 16 for d in data])
    victim = 40
    buf[int(offsets[victim]) + 14] ^= 0x55  # inside record 40's data (or its footer)
    sc = R.scan(bytes(buf))
    assert len(sc.damages) == 1
    d = sc.damages[0]
    assert d.offset == offsets[victim] and d.resync == offsets[victim + 1]
    assert d.kind in ("bad data CRC", "bad header CRC")
    assert len(sc.starts) == 99
    assert sc.consumed == len(buf)


def test_scan_truncated_tail_is_pending_not_damage():
    data = _payloads(20, seed=4)
    buf = R.frame_many(data)
    for cut in (1, 3, 4, 12, 15, len(data[-1]) + 15):
        sc = R.scan(buf[:-cut])
        assert not sc.damages
        assert sc.pending and not sc.in_damage
        assert sc.consumed == len(buf) - len(data[-1]) - 16
        assert len(sc.starts) == 19


def test_scan_impossible_length():
    data = _payloads(5, seed=5)
    good = R.frame_many(data)
    head = (1 << 40).to_bytes(8, "little")
    bad = head + R.masked_crc32c(head).to_bytes(4, "little") + b"x" * 20
    sc = R.scan(good + bad + good)
    assert [d.kind for d in sc.damages] == ["impossible length"]
    assert len(sc.starts) == 10
