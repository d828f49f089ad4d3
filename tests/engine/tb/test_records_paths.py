"""Both ways of checking CRCs in bulk give the C implementation's values: the per-record
loop (fewer than ``LOOP_MAX_RECORDS`` records, a small run's file) and the distance
tables (more), forced here on small inputs too."""

from __future__ import annotations

import google_crc32c
import numpy as np
import pytest

from traindoc.engine.tb import records as R


def _want(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> list[int]:
    pairs = zip(starts.tolist(), lengths.tolist(), strict=True)
    return [google_crc32c.value(buf[s : s + n]) for s, n in pairs]


@pytest.mark.parametrize("loop_max", [0, R.LOOP_MAX_RECORDS], ids=["tables", "loop"])
@pytest.mark.parametrize("count", [0, 1, 7, 300, 2500])
def test_crc_paths_equal_c(monkeypatch, loop_max, count):
    monkeypatch.setattr(R, "LOOP_MAX_RECORDS", loop_max)
    rng = np.random.default_rng(count)
    buf = rng.integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    starts = rng.integers(0, 90_000, count)
    lengths = rng.choice([0, 3, 8, 44, 45, 600, 3000], count)
    lengths = np.minimum(lengths, len(buf) - starts)
    got = R.crc32c_many(buf, starts, lengths)
    assert got.dtype == np.uint32 and got.tolist() == _want(buf, starts, lengths)


def test_tables_fold_constant_columns_exactly(monkeypatch):
    monkeypatch.setattr(R, "LOOP_MAX_RECORDS", 0)
    rng = np.random.default_rng(3)
    base = bytearray(rng.integers(0, 256, 44, dtype=np.uint8).tobytes())
    recs = []
    for i in range(500):
        base[10] = i % 256
        base[30] = (i * 7) % 256
        recs.append(bytes(base))
    buf = b"".join(recs) + bytes(8)
    starts = np.arange(500) * 44
    got = R.crc32c_many(buf, starts, np.full(500, 44))
    assert got.tolist() == [google_crc32c.value(r) for r in recs]


def test_scan_of_a_small_file_checks_every_crc():
    data = [f"record {i}".encode() * (1 + i % 5) for i in range(200)]
    buf = bytearray(R.frame_many(data))
    assert len(R.scan(bytes(buf)).starts) == 200
    buf[R.HEADER_BYTES + 2] ^= 0xFF  # the first record's data: its CRC fails
    sc = R.scan(bytes(buf))
    assert len(sc.starts) == 199 and sc.damages[0].kind == "bad data CRC"
