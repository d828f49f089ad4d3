"""``scan`` checks the headers of records that run past the end of the buffer only after
the last complete record (where an unfinished record may start), and finds there what a
check of every header found: an unfinished record after a damaged stretch is where
reading resumes; headers of unfinished records earlier in the buffer change nothing."""

from __future__ import annotations

import random

from traindoc.engine.tb import records as R


def _payloads(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.choice([9, 30, 44, 300])) for _ in range(n)]


def test_damage_then_an_unfinished_record_resumes_at_its_header():
    good = R.frame_many(_payloads(10, seed=1))
    unfinished = R.frame(b"y" * 500)[:200]
    garbage = bytes(range(1, 40))
    sc = R.scan(good + garbage + unfinished)
    assert len(sc.starts) == 10
    assert [(d.offset, d.resync) for d in sc.damages] == [(len(good), len(good) + len(garbage))]
    assert sc.pending and sc.in_damage
    assert sc.consumed == len(good) + len(garbage)  # the next read starts at that header
    again = R.scan(unfinished, synced=False)  # that read, still in the damage
    assert again.consumed == 0 and again.pending and not again.damages


def test_a_header_of_a_long_record_inside_complete_data_changes_nothing():
    # A payload holding a valid header that claims 1 MB: not a record start (the chain
    # of records steps over it) and no tail: everything is consumed, nothing pending.
    fake = R.header(1 << 20)
    data = [b"a" * 20, b"b" * 5 + fake + b"c" * 7, b"d" * 30]
    buf = R.frame_many(data)
    sc = R.scan(buf)
    assert len(sc.starts) == 3 and not sc.damages
    assert sc.consumed == len(buf) and not sc.pending and not sc.in_damage
    cut = R.scan(buf[:-10])  # the last record unfinished: pending at its header
    assert len(cut.starts) == 2 and not cut.damages and cut.pending
    assert cut.consumed == len(R.frame(data[0])) + len(R.frame(data[1]))
