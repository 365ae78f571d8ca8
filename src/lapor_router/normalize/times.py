"""Timestamps as exports write them (ISO 8601 to the second with a UTC offset), read at
array speed from Arrow text: the same instants as :meth:`datetime.fromisoformat`."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# "2026-11-02T07:00:00+07:00": 25 ASCII bytes, what :func:`plain_iso_ns` reads
PLAIN_ISO = r"^\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d[+-](?:[01]\d|2[0-3]):[0-5]\d$"
NAT = np.iinfo(np.int64).min
# the years a report's creation time may fall in: int64 nanoseconds (1677-2262) and the
# holiday tables hold them with room to spare
YEARS = (1700, 2200)
# the years read here: an offset of a day at most keeps them inside YEARS in any zone
# (the caller's scalar parser judges the others)
_FAST = (YEARS[0] + 1, YEARS[1] - 1)
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24])
_MARKS = {4: b"-", 7: b"-", 10: b"T", 13: b":", 16: b":", 22: b":"}
# the upper bounds of hours, minutes, seconds and the offset's hours and minutes
_MOST = ((8, 23), (10, 59), (12, 59), (14, 23), (16, 59))  # (first digit's index, most)


def plain_iso_ns(text: pa.Array) -> np.ndarray:
    """Each value of ``text`` (Arrow strings) that matches :data:`PLAIN_ISO` and is a real
    calendar date of the years 1701–2199, as int64 nanoseconds since the epoch (UTC);
    :data:`NAT` (the int64 minimum) for any other value and for nulls. Read from Arrow's
    buffers: no Python object per value."""
    out = np.full(len(text), NAT, dtype=np.int64)
    if not len(text):
        return out
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        text = text.cast(pa.large_string())
    wide = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=wide)[
        text.offset : text.offset + len(text) + 1
    ]
    data = text.buffers()[2]
    if data is None:
        return out
    valid = np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(valid & (np.diff(offsets) == 25))
    if not len(rows):
        return out
    cells = np.frombuffer(data, dtype=np.uint8)[
        offsets[rows].astype(np.int64)[:, None] + np.arange(25)
    ]
    d = cells[:, _DIGITS].astype(np.int32) - ord("0")
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    for at, mark in _MARKS.items():
        ok &= cells[:, at] == mark[0]
    ok &= (cells[:, 19] == ord("+")) | (cells[:, 19] == ord("-"))
    for i, most in _MOST:
        ok &= d[:, i] * 10 + d[:, i + 1] <= most
    year = ((d[:, 0] * 10 + d[:, 1]) * 10 + d[:, 2]) * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    ok &= (year >= _FAST[0]) & (year <= _FAST[1]) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    ok &= day <= ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
    pair = d[:, 8::2].astype(np.int64) * 10 + d[:, 9::2]  # hour, minute, second, offset h, m
    seconds = pair[:, 0] * 3600 + pair[:, 1] * 60 + pair[:, 2]
    shift = np.where(cells[:, 19] == ord("-"), -1, 1) * (pair[:, 3] * 3600 + pair[:, 4] * 60)
    days = first.astype(np.int64) + day - 1
    out[rows[ok]] = ((days * 86_400 + seconds - shift) * 1_000_000_000)[ok]
    return out
