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
from .wire import decode_event

log = logging.getLogger(__name__)

# First byte of Event fields 3, 4, 6, 7, 8, 9, 10: events that carry no summary.
_NO_SUMMARY_KEYS = np.array([0x1A, 0x22, 0x32, 0x3A, 0x42, 0x4A, 0x52], np.uint8)
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)
_FEW_KEYS = 24  # above this many distinct tags per tag length, use np.unique


@dataclass(frozen=True, slots=True)
class Decoded:
    """Scalars of a batch of records, per tag, in record order."""

    scalars: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # steps, values, walls
    texts: list[tuple[int, str, str]] = field(default_factory=list)  # (step, tag, text)
    bad: list[int] = field(default_factory=list)  # record indices that did not decode
    points: int = 0


def _varints(a: np.ndarray, pos: np.ndarray, limit: np.ndarray):
    """Decode a varint at each position: (value int64, size, ok)."""
    last = len(a) - 1
    val = np.zeros(len(pos), np.uint64)
    size = np.zeros(len(pos), np.int64)
    more = np.ones(len(pos), bool)
    for k in range(10):
        b = a[np.minimum(pos + k, last)]
        if k == 0:
            val |= (b & 0x7F).astype(np.uint64)
        else:
            val[more] |= (b[more] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        size += more
        more &= b >= 0x80
        if not more.any():
            break
    ok = ~more & (pos + size <= limit)
    return val.view(np.int64), size, ok


def decode(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> Decoded:
    """Decode the Event records ``buf[s:s+l]`` (each followed by its 4-byte footer)."""
    n = len(starts)
    if n == 0:
        return Decoded({})
    a = np.frombuffer(buf, np.uint8)
    last = len(a) - 1

    def at(idx: np.ndarray) -> np.ndarray:
        return a[np.minimum(idx, last)]

    end = starts + lengths
    p = starts.copy()
    wall = np.full(n, np.nan)
    step = np.zeros(n, np.int64)
    fallback = np.zeros(n, bool)

    m = (p + 9 <= end) & (at(p) == 0x09)
    wall[m] = byte_view(buf, "<f8")[p[m] + 1]
    p[m] += 9
    m = (p < end) & (at(p) == 0x10)
    if m.any():
        val, size, ok = _varints(a, p[m] + 1, end[m])
        step[m] = val
        p[m] += 1 + size
        fallback[np.flatnonzero(m)[~ok]] = True
    first = np.where(p < end, at(p), 0)
    summ = (first == 0x2A) & ~fallback
    fallback |= (p < end) & ~summ & ~np.isin(first, _NO_SUMMARY_KEYS)

    rec = np.flatnonzero(summ)
    slen, size, ok = _varints(a, p[rec] + 1, end[rec])
    q = p[rec] + 1 + size
    ok &= q + slen == end[rec]
    fallback[rec[~ok]] = True
    rec, q = rec[ok], q[ok]

    # Summary values, one slot at a time: value{tag, simple_value}.
    v_rec, v_tp, v_tl, v_val = [], [], [], []
    f32 = byte_view(buf, "<f4")
    act = np.flatnonzero(q < end[rec])
    slots = 0
    while len(act):
        r_act = rec[act]
        qa, ea = q[act], end[r_act]
        vl, vs, good = _varints(a, qa + 1, ea)
        v0 = qa + 1 + vs
        vend = v0 + vl
        tl = at(v0 + 1).astype(np.int64)
        r = v0 + 2 + tl
        good &= (at(qa) == 0x0A) & (vend <= ea) & (at(v0) == 0x0A) & (tl < 0x80)
        good &= (r + 5 == vend) & (at(r) == 0x15)
        fallback[r_act[~good]] = True
        act, r_act, r = act[good], r_act[good], r[good]
        v_rec.append(r_act)
        v_tp.append(v0[good] + 2)
        v_tl.append(tl[good])
        v_val.append(f32[r + 1].astype(np.float64))
        q[act] = vend[good]
        act = act[q[act] < end[r_act]]
        slots += 1

    scalars: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    if v_rec:
        vrec = np.concatenate(v_rec)
        keep = ~fallback[vrec]
        tp, tl = np.concatenate(v_tp)[keep], np.concatenate(v_tl)[keep]
        vals = np.concatenate(v_val)[keep]
        vrec = vrec[keep]
        groups = list(_group_tags(buf, tp, tl, fallback, vrec))
        for name, idx in groups:
            recs = vrec[idx]
            ok = ~fallback[recs]  # a hash collision moved some records to the exact path
            scalars.setdefault(name, []).append((recs[ok], vals[idx[ok]]))

    texts: list[tuple[int, str, str]] = []
    bad: list[int] = []
    for i in np.flatnonzero(fallback).tolist():
        s = int(starts[i])
        try:
            w, st, svals, tvals = decode_event(buf, s, s + int(lengths[i]))
        except Exception:  # malformed payload: reported by index, never raised
            bad.append(i)
            continue
        wall[i], step[i] = w, st
        for tag, value in svals:
            scalars.setdefault(tag, []).append((np.array([i]), np.array([value], np.float64)))
        texts.extend((st, tag, text) for tag, text in tvals)

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
        out[name] = (step[recs], vals, wall[recs])
        points += len(recs)
    return Decoded(out, texts, bad, points)


def _group_tags(buf, tp, tl, fallback, vrec):
    """Yield ``(tag, value indices)``; a hash collision sends its records to the fallback."""
    a = np.frombuffer(buf, np.uint8)
    v64 = byte_view(buf, "<u8")
    counts = np.bincount(tl, minlength=1)
    lengths = np.flatnonzero(counts)
    for length in lengths.tolist():
        sel = np.arange(len(tl)) if len(lengths) == 1 else np.flatnonzero(tl == length)
        pos = tp[sel]
        if length == 0:
            yield "", sel
            continue
        words = [v64[np.minimum(pos + min(k, length - 8), len(v64) - 1)]
                 for k in range(0, length, 8)] if length >= 8 else []
        if length < 8:
            # Exact key: the tag's bytes, zero-padded (reading 8 bytes is safe: the
            # simple_value and the record footer follow the tag).
            keys = v64[pos] & np.uint64((1 << (8 * length)) - 1)
        else:
            keys = words[0].copy()
            for w in words[1:]:
                keys *= _HASH_MUL
                keys ^= w
        for first, idx in _factorize(keys):
            if len(words) > 1:
                same = np.ones(len(idx), bool)
                for w in words:
                    same &= w[idx] == w[idx[first]]
                if not same.all():
                    fallback[vrec[sel[idx[~same]]]] = True
                    idx = idx[same]
            p0 = int(pos[idx[first]])
            name = bytes(a[p0 : p0 + length]).decode("utf-8", "replace")
            yield name, sel[idx]


def _factorize(keys: np.ndarray):
    """Yield ``(0, indices)`` per distinct key (indices ascending; 0 indexes the first)."""
    remaining = np.arange(len(keys))
    found = 0
    while len(remaining) and found < _FEW_KEYS:
        k0 = keys[remaining[0]]
        eq = keys[remaining] == k0
        yield 0, remaining[eq]
        remaining = remaining[~eq]
        found += 1
    if len(remaining):
        _, inv = np.unique(keys[remaining], return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.flatnonzero(np.diff(inv[order])) + 1
        for group in np.split(order, bounds):
            yield 0, remaining[group]
