"""Columnar decoding of many Event records at once.

The fast path recognises, with numpy over all records of a batch, the shape that
almost every scalar writer emits::

    Event{wall_time, step, summary{value{tag, simple_value} ...}}

(one or more values per summary, fields in field-number order). Events that
hold no summary (file_version, graphs, session logs, run metadata) are dropped
by their first byte. Every other record - tensor-encoded scalars, texts,
images, histograms, anything unusual - goes through the exact per-record
decoder in ``wire.py``. A record the exact decoder rejects is reported by
index, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .records import byte_view
from .wire import decode_event, decode_tag

log = logging.getLogger(__name__)

# First byte of Event fields 3, 4, 6, 7, 8, 9, 10: events that carry no summary; as a
# table over every byte value (a lookup, not ``np.isin``'s sort, per batch).
_NO_SUMMARY = np.zeros(256, bool)
_NO_SUMMARY[[0x1A, 0x22, 0x32, 0x3A, 0x42, 0x4A, 0x52]] = True
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)
_PAD = 512
_MANY_KEYS = 2048  # this many distinct tags in a sample: factorize by a full np.unique


@dataclass(frozen=True, slots=True)
class Decoded:
    """Scalars of a batch of records, per tag, in record order."""

    scalars: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # steps, values, walls
    texts: list[tuple[int, str, str]] = field(default_factory=list)  # (step, tag, text)
    bad: list[int] = field(default_factory=list)  # record indices that did not decode
    points: int = 0
    odd_tags: set[str] = field(default_factory=set)  # tags escaped as not valid UTF-8


def _varints(a: np.ndarray, pos: np.ndarray, limit: np.ndarray):
    """Decode a varint at each position (10 bytes of padding readable): (value, size, ok)."""
    b = a[pos]
    more = b >= 0x80
    val = (b & 0x7F).astype(np.uint64)
    size = np.ones(len(pos), np.int64)
    for k in range(1, 10):
        if not more.any():
            break
        b = a[pos + k]
        val |= ((b & 0x7F).astype(np.uint64) << np.uint64(7 * k)) * more
        size += more
        more &= b >= 0x80
    ok = ~more & (pos + size <= limit)
    return val.view(np.int64), size, ok


def _keep(mask: np.ndarray):
    """An index that keeps the masked elements: a cheap full slice when all are kept."""
    return slice(None) if mask.all() else mask


@dataclass(slots=True)
class _Batch:
    """One decode call's padded buffer and per-record columns."""

    buf: memoryview
    a: np.ndarray  # the buffer as bytes
    starts: np.ndarray
    lengths: np.ndarray
    end: np.ndarray
    wall: np.ndarray
    step: np.ndarray
    fallback: np.ndarray  # records left to the exact decoder


def decode(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> Decoded:
    """Decode the Event records ``buf[s:s+l]`` (each followed by its 4-byte footer)."""
    n = len(starts)
    if n == 0:
        return Decoded({})
    padded = _padded(buf, starts, lengths)
    batch = _Batch(padded, np.frombuffer(padded, np.uint8), starts, lengths, starts + lengths,
                   np.full(n, np.nan), np.zeros(n, np.int64), np.zeros(n, bool))
    rec, q = _read_heads(batch)
    slots, values = _read_values(batch, rec, q)
    odd: set[str] = set()
    scalars = _fast_scalars(batch, values, slots, odd)
    texts, bad = _decode_exactly(batch, scalars, odd)
    out, points = _columns(batch, scalars, slots)
    return Decoded(out, texts, bad, points, odd)


def _padded(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> memoryview:
    """A copy with zero padding: every position the fast path gathers lies within 300
    bytes past a record's end (a varint, a tag of < 128 bytes), so no clipping is
    needed. Only up to the last record's footer: a buffer that ends in a long damaged
    stretch (zeros left by a crash) is not copied whole.

    The copy is numpy's, into memory numpy does not zero first: it runs without the
    GIL, page faults included (a zeroed ``bytearray`` of a 16 MB chunk held the GIL
    for ~0.1 s, a visible stall of the GUI that follows logs in a thread)."""
    limit = min(int((starts + lengths).max()) + 4, len(buf))
    padded = np.empty(limit + _PAD, np.uint8)
    padded[:limit] = np.frombuffer(buf, np.uint8, count=limit)
    padded[limit:] = 0
    return memoryview(padded)


def _read_heads(b: _Batch) -> tuple[np.ndarray, np.ndarray]:
    """Read each record's wall time and step; return the records that hold a summary
    and where its first value starts. Anything unusual is marked for the exact path."""
    at, end, n = b.a.__getitem__, b.end, len(b.starts)
    p = b.starts.copy()
    m = _keep((p + 9 <= end) & (at(p) == 0x09))
    b.wall[m] = byte_view(b.buf, "<f8")[p[m] + 1]
    p[m] += 9
    m = (p < end) & (at(p) == 0x10)
    if m.any():
        m = _keep(m)
        val, size, ok = _varints(b.a, p[m] + 1, end[m])
        b.step[m] = val
        p[m] += 1 + size
        if not ok.all():
            b.fallback[np.arange(n)[m][~ok]] = True
    first = np.where(p < end, at(p), 0)
    summ = (first == 0x2A) & ~b.fallback
    b.fallback |= (p < end) & ~summ & ~_NO_SUMMARY[first]

    rec = np.flatnonzero(summ)
    slen, size, ok = _varints(b.a, p[rec] + 1, end[rec])
    q = p[rec] + 1 + size
    ok &= q + slen == end[rec]
    b.fallback[rec[~ok]] = True
    k = _keep(ok)
    return rec[k], q[k]


def _read_values(b: _Batch, rec: np.ndarray, q: np.ndarray) -> tuple[int, tuple]:
    """Summary values, one slot at a time: ``value{tag, simple_value}``. Returns the
    number of slots and, per slot, (records, tag positions, tag lengths, values)."""
    at, end = b.a.__getitem__, b.end
    v_rec, v_tp, v_tl, v_val = [], [], [], []
    f32 = byte_view(b.buf, "<f4")
    r_act, qa = rec, q
    slots = 0
    while len(r_act):
        ea = end[r_act]
        vl, vs, good = _varints(b.a, qa + 1, ea)
        v0 = qa + 1 + vs
        vend = v0 + vl
        tl = at(v0 + 1).astype(np.int64)
        r = v0 + 2 + tl
        good &= (at(qa) == 0x0A) & (vend <= ea) & (at(v0) == 0x0A) & (tl < 0x80)
        good &= (r + 5 == vend) & (at(r) == 0x15)
        if not good.all():
            b.fallback[r_act[~good]] = True
            r_act, r, v0, tl, vend, ea = (x[good] for x in (r_act, r, v0, tl, vend, ea))
        v_rec.append(r_act)
        v_tp.append(v0 + 2)
        v_tl.append(tl)
        v_val.append(f32[r + 1])
        more = vend < ea
        r_act, qa = r_act[more], vend[more]
        slots += 1
    return slots, (v_rec, v_tp, v_tl, v_val)


Pieces = dict[str, list[tuple[np.ndarray, np.ndarray]]]  # tag -> [(records, values)]


def _fast_scalars(b: _Batch, values: tuple, slots: int, odd: set[str]) -> Pieces:
    """Group the fast path's values by tag (records the exact path will redo left out)."""
    scalars: Pieces = {}
    v_rec, v_tp, v_tl, v_val = values
    if not v_rec:
        return scalars
    vrec, tp, tl, vals = (np.concatenate(x) if slots > 1 else x[0]
                          for x in (v_rec, v_tp, v_tl, v_val))
    k = _keep(~b.fallback[vrec])
    vrec, tp, tl, vals = vrec[k], tp[k], tl[k], vals[k]
    for name, recs, vv in _group_tags(b.buf, tp, tl, vrec, vals, b.fallback, odd):
        ok = ~b.fallback[recs]  # a hash collision moved some records to the exact path
        if not ok.all():
            recs, vv = recs[ok], vv[ok]
        scalars.setdefault(name, []).append((recs, vv.astype(np.float64)))
    return scalars


def _decode_exactly(b: _Batch, scalars: Pieces, odd: set[str]):
    """Every record the fast path left: the exact decoder; the texts and bad indices."""
    texts: list[tuple[int, str, str]] = []
    bad: list[int] = []
    for i in np.flatnonzero(b.fallback).tolist():
        s = int(b.starts[i])
        try:
            w, st, svals, tvals = decode_event(b.buf, s, s + int(b.lengths[i]), odd)
        except Exception:  # malformed payload: reported by index, never raised
            bad.append(i)
            continue
        b.wall[i], b.step[i] = w, st
        for tag, value in svals:
            scalars.setdefault(tag, []).append((np.array([i]), np.array([value], np.float64)))
        texts.extend((st, tag, text) for tag, text in tvals)
    return texts, bad


def _columns(b: _Batch, scalars: Pieces, slots: int):
    """Per tag: (steps, values, wall times) in record order; and the point count."""
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    points = 0
    for name, pieces in scalars.items():
        if len(pieces) == 1:
            recs, vals = pieces[0]
        else:
            recs = np.concatenate([p[0] for p in pieces])
            vals = np.concatenate([p[1] for p in pieces])
            order = np.argsort(recs, kind="stable")
            recs, vals = recs[order], vals[order]
        if slots > 1 and len(pieces) == 1 and len(recs) > 1 and (np.diff(recs) < 0).any():
            order = np.argsort(recs, kind="stable")
            recs, vals = recs[order], vals[order]
        out[name] = (b.step[recs], vals, b.wall[recs])
        points += len(recs)
    return out, points


def _group_tags(buf, tp, tl, vrec, vals, fallback, odd):
    """Yield ``(tag, records, values)`` per distinct tag.

    The tag bytes are read eight at a time; tags up to 8 bytes are their own
    key, longer ones are hashed and every member checked against its group's
    first (a collision sends those records to the exact decoder).
    """
    a = np.frombuffer(buf, np.uint8)
    v64 = byte_view(buf, "<u8")
    lengths = np.flatnonzero(np.bincount(tl, minlength=1))
    for length in lengths.tolist():
        if len(lengths) == 1:
            pos, recs, vv = tp, vrec, vals
        else:
            sel = tl == length
            pos, recs, vv = tp[sel], vrec[sel], vals[sel]
        if length == 0:
            yield "", recs, vv
            continue
        # Reading 8 bytes at the tag is safe: the simple_value and the footer follow it.
        offsets = [min(k, length - 8) for k in range(0, length, 8)] if length >= 8 else [0]
        words = [v64[pos + off] for off in offsets]
        if length < 8:
            keys = words[0] & np.uint64((1 << (8 * length)) - 1)
            words = [keys]
        else:
            keys = words[0].copy()
            for w in words[1:]:
                keys *= _HASH_MUL
                keys ^= w
        codes, reps = _codes(keys)
        if len(words) > 1:
            same = np.ones(len(keys), bool)
            for w in words:
                same &= w == w[reps][codes]
            if not same.all():
                fallback[recs[~same]] = True
        if len(reps) == 1:
            order = None
        else:  # a radix sort for up to 65536 tags
            small = codes.astype(np.uint16) if len(reps) <= 1 << 16 else codes
            order = np.argsort(small, kind="stable")
        if order is not None:
            recs, vv = recs[order], vv[order]
            bounds = np.cumsum(np.bincount(codes, minlength=len(reps)))[:-1]
            rec_groups, val_groups = np.split(recs, bounds), np.split(vv, bounds)
        else:
            rec_groups, val_groups = [recs], [vv]
        for rep, r, v in zip(reps.tolist(), rec_groups, val_groups, strict=True):
            p0 = int(pos[rep])
            yield decode_tag(bytes(a[p0 : p0 + length]), odd), r, v


def _codes(keys: np.ndarray):
    """Small integer codes for the keys, and the index of one member of each code."""
    if bool((keys == keys[0]).all()):  # one tag of this length, as in most files
        return np.zeros(len(keys), np.intp), np.zeros(1, np.int64)
    sample = np.unique(keys[:4096])
    if len(sample) >= _MANY_KEYS:
        distinct, first, codes = np.unique(keys, return_index=True, return_inverse=True)
        return codes.ravel(), first
    idx = np.minimum(np.searchsorted(sample, keys), len(sample) - 1)
    hit = sample[idx] == keys
    if not hit.all():
        # Keys beyond the sample: one exact pass for all of them.
        distinct = np.unique(np.concatenate([sample, keys[~hit]]))
        idx = np.searchsorted(distinct, keys)
        sample = distinct
    first = np.full(len(sample), -1, np.int64)
    order = np.arange(len(keys) - 1, -1, -1)
    first[idx[order]] = order  # the last write wins: the first occurrence
    present = first >= 0
    if not present.all():
        remap = np.cumsum(present) - 1
        idx, first = remap[idx], first[present]
    return idx, first
