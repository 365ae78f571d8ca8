"""Compiled kernels (numba) of the file stage: CSV records found and split into fields as
the csv module reads them, and CSV rows written from columns of UTF-8 bytes, quoted as the
csv module quotes them. Imported lazily by the readers and writers."""

from __future__ import annotations

import numba
import numpy as np

from .salvage import AFTER_QUOTE, NEVER_CLOSES, RECORD_OK, TOO_LONG

_jit = numba.njit(cache=True, nogil=True)

_QUOTE, _COMMA, _NEWLINE = 34, 44, 10


@_jit
def csv_rows(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The bytes of CSV rows: cell (row i, column j) is ``data[offsets[i, j]:offsets[i + 1, j]]``
    (UTF-8), cells joined by commas, rows ended by ``\\n``. A cell is quoted when it holds a
    comma, a quote or a newline (quotes doubled), or when it is the empty only cell of a
    row: the csv module's ``QUOTE_MINIMAL`` with ``lineterminator="\\n"``, as pandas writes."""
    n, ncol = offsets.shape[0] - 1, offsets.shape[1]
    # room for the worst case: every cell quoted, every byte a doubled quote
    out = np.empty(2 * len(data) + 3 * n * ncol + n, dtype=np.uint8)
    p = 0
    for i in range(n):
        for j in range(ncol):
            if j:
                out[p] = _COMMA
                p += 1
            s, e = offsets[i, j], offsets[i + 1, j]
            begin = p
            special = ncol == 1 and e == s
            for k in range(s, e):  # copied as it is until a byte asks for quotes
                c = data[k]
                if c in (_QUOTE, _COMMA, _NEWLINE):
                    special = True
                    break
                out[p] = c
                p += 1
            if special:
                p = begin
                out[p] = _QUOTE
                p += 1
                for k in range(s, e):
                    c = data[k]
                    out[p] = c
                    p += 1
                    if c == _QUOTE:
                        out[p] = _QUOTE
                        p += 1
                out[p] = _QUOTE
                p += 1
        out[p] = _NEWLINE
        p += 1
    return out[:p]


@_jit
def joined_rows(
    data: np.ndarray, offsets: np.ndarray, glue: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """Rows of cells copied as they are between fixed pieces: row i is piece 0, cell
    (i, 0), piece 1, ..., cell (i, ncol - 1), piece ncol, where cell (i, j) is
    ``data[offsets[i, j]:offsets[i + 1, j]]`` and piece k is ``glue[at[k]:at[k + 1]]``."""
    n, ncol = offsets.shape[0] - 1, offsets.shape[1]
    out = np.empty(len(data) + n * len(glue), dtype=np.uint8)
    p = 0
    for i in range(n):
        for j in range(ncol + 1):
            for k in range(at[j], at[j + 1]):
                out[p] = glue[k]
                p += 1
            if j < ncol:
                for k in range(offsets[i, j], offsets[i + 1, j]):
                    out[p] = data[k]
                    p += 1
    return out[:p]


@_jit
def json_escaped(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """For each UTF-8 cell ``data[offsets[i]:offsets[i + 1]]``: whether JSON writes it with
    an escape (a control character below 0x20, a quote or a backslash)."""
    n = len(offsets) - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for k in range(offsets[i], offsets[i + 1]):
            c = data[k]
            if c < 32 or c == _QUOTE or c == 92:
                out[i] = True
                break
    return out


# ------------------------------------------------------------------ reading CSV records

_CR = 13


@_jit
def _find(buf: np.ndarray, byte: int, i: int, n: int) -> int:
    while i < n:
        if buf[i] == byte:
            return i
        i += 1
    return -1


@_jit
def _walk(buf: np.ndarray, i: int, n: int, quoted: bool, delim: int) -> tuple[bool, bool]:
    """(inside a quoted field at the end, grammar broken) for the line ``buf[i:n]``, entered
    inside a quoted field or at the start of a field (as :func:`.salvage._walk`)."""
    start = not quoted
    while i < n:
        if quoted:
            j = _find(buf, _QUOTE, i, n)
            if j < 0:
                return True, False
            if j + 1 < n and buf[j + 1] == _QUOTE:  # a doubled quote is text
                i = j + 2
                continue
            if j + 1 < n and buf[j + 1] != delim and buf[j + 1] != _CR and buf[j + 1] != _NEWLINE:
                return False, True  # text after the closing quote
            quoted, start, i = False, False, j + 1
        elif start and buf[i] == _QUOTE:
            quoted, start, i = True, False, i + 1
        else:
            j = _find(buf, delim, i, n)
            if j < 0:
                return False, False
            start, i = True, j + 1
    return quoted, False


@_jit
def _line_end(buf: np.ndarray, i: int, n: int) -> int:
    j = _find(buf, _NEWLINE, i, n)
    return n if j < 0 else j + 1


@_jit
def scan_records(
    buf: np.ndarray, delim: int, at_end: bool, limit: int, max_record: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """CSV records of ``buf`` (bytes that start at a record), at most ``limit``: their
    starts, ends and status (``RECORD_OK``, ``AFTER_QUOTE``, ``NEVER_CLOSES``, ``TOO_LONG``
    of :mod:`.salvage`), found as :func:`.salvage.csv_records` finds them, and the offset
    where scanning stopped. ``at_end``: ``buf`` ends where the records end; otherwise
    scanning stops before a record whose end is not in ``buf``."""
    n = len(buf)
    starts = np.empty(limit, np.int64)
    ends = np.empty(limit, np.int64)
    status = np.empty(limit, np.int8)
    k = 0
    pos = 0
    while pos < n and k < limit:
        e = _line_end(buf, pos, n)
        if e == n and not at_end and buf[n - 1] != _NEWLINE:
            break  # the line goes on past buf
        if _find(buf, _QUOTE, pos, e) < 0:
            starts[k], ends[k], status[k] = pos, e, RECORD_OK
            k += 1
            pos = e
            continue
        quoted, broken = _walk(buf, pos, e, False, delim)
        if not quoted:
            starts[k], ends[k] = pos, e
            status[k] = AFTER_QUOTE if broken else RECORD_OK
            k += 1
            pos = e
            continue
        q, size, long, incomplete = e, e - pos, False, False
        while quoted and not broken:
            if q >= n:
                incomplete = not at_end
                break
            e2 = _line_end(buf, q, n)
            if e2 == n and not at_end and buf[n - 1] != _NEWLINE:
                incomplete = True
                break
            size += e2 - q
            if size > max_record:
                long = True
            quoted, broken = _walk(buf, q, e2, True, delim)
            q = e2
        if incomplete:
            break
        starts[k] = pos
        if not quoted and not broken:
            ends[k] = q
            status[k] = TOO_LONG if long else RECORD_OK
            pos = q
        else:  # the first line is the reject; the lines after it are read again
            ends[k] = e
            status[k] = AFTER_QUOTE if broken else NEVER_CLOSES
            pos = e
        k += 1
    return starts[:k], ends[:k], status[:k], pos


@_jit
def _utf8_ok(buf: np.ndarray, i: int, n: int) -> bool:
    """Whether ``buf[i:n]`` is valid UTF-8 as Python decodes it (no overlong forms, no
    surrogates, nothing above U+10FFFF)."""
    while i < n:
        c = buf[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif c == 0xE0:
            need, lo, hi = 2, 0xA0, 0xBF
        elif 0xE1 <= c <= 0xEC or 0xEE <= c <= 0xEF:
            need, lo, hi = 2, 0x80, 0xBF
        elif c == 0xED:
            need, lo, hi = 2, 0x80, 0x9F
        elif c == 0xF0:
            need, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= c <= 0xF3:
            need, lo, hi = 3, 0x80, 0xBF
        elif c == 0xF4:
            need, lo, hi = 3, 0x80, 0x8F
        else:
            return False
        if i + need >= n:
            return False
        if not lo <= buf[i + 1] <= hi:
            return False
        for k in range(2, need + 1):
            if not 0x80 <= buf[i + k] <= 0xBF:
                return False
        i += need + 1
    return True


@_jit
def split_fields(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, delim: int, ncol: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fields of records that follow the grammar, as the csv module (strict) reads
    them: per record, whether it is *simple* (valid UTF-8, ``ncol`` fields, no NUL byte and
    no line break outside quotes, not blank), and for simple records each field's start and
    end in ``buf`` and whether it was quoted (its quotes are then dropped and doubled
    quotes read as one by :func:`gather_fields`). Records that are not simple are left to
    the Python reader, which says what is wrong with them."""
    n = len(starts)
    simple = np.zeros(n, np.bool_)
    fs = np.empty((n, ncol), np.int64)
    fe = np.empty((n, ncol), np.int64)
    fq = np.zeros((n, ncol), np.bool_)
    for r in range(n):
        s, e = starts[r], ends[r]
        while e > s and (buf[e - 1] == _NEWLINE or buf[e - 1] == _CR):
            e -= 1  # record.rstrip(b"\r\n")
        blank = True
        for k in range(s, e):
            c = buf[k]
            if not (c == 32 or 9 <= c <= 13):
                blank = False
                break
        if blank or not _utf8_ok(buf, s, e):
            continue
        ok = True
        f = 0
        i = s
        while True:  # one field per turn
            if f >= ncol:
                ok = False
                break
            if i < e and buf[i] == _QUOTE:
                j = i + 1
                while True:
                    j = _find(buf, _QUOTE, j, e)
                    if j < 0:
                        break
                    if j + 1 < e and buf[j + 1] == _QUOTE:
                        j += 2
                        continue
                    break
                if j < 0 or (j + 1 < e and buf[j + 1] != delim):
                    ok = False
                    break
                fs[r, f], fe[r, f], fq[r, f] = i + 1, j, True
                for k in range(i + 1, j):
                    if buf[k] == 0:
                        ok = False
                f += 1
                i = j + 1
            else:
                j = i
                while j < e and buf[j] != delim:
                    c = buf[j]
                    if c in (_NEWLINE, _CR, 0):
                        ok = False
                    j += 1
                fs[r, f], fe[r, f] = i, j
                f += 1
                i = j
            if not ok:
                break
            if i >= e:
                break
            i += 1  # the delimiter
            if i >= e:  # a delimiter at the end: one more, empty field
                if f >= ncol:
                    ok = False
                    break
                fs[r, f], fe[r, f] = e, e
                f += 1
                break
        simple[r] = ok and f == ncol
    return simple, fs, fe, fq


@_jit
def gather_fields(
    buf: np.ndarray, fs: np.ndarray, fe: np.ndarray, fq: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The fields of ``rows`` (simple records of :func:`split_fields`) column by column:
    one UTF-8 buffer and the offsets of each column's cells in it (columns × rows + 1),
    quoted fields without their quotes and with doubled quotes read as one."""
    ncol = fs.shape[1]
    m = len(rows)
    size = 0
    for a in range(m):
        r = rows[a]
        for j in range(ncol):
            size += fe[r, j] - fs[r, j]
    data = np.empty(size, np.uint8)
    offsets = np.empty((ncol, m + 1), np.int64)
    p = 0
    for j in range(ncol):
        offsets[j, 0] = p
        for a in range(m):
            r = rows[a]
            s, e = fs[r, j], fe[r, j]
            if fq[r, j]:
                k = s
                while k < e:
                    data[p] = buf[k]
                    p += 1
                    k += 2 if buf[k] == _QUOTE else 1
            else:
                for k in range(s, e):
                    data[p] = buf[k]
                    p += 1
            offsets[j, a + 1] = p
    return data, offsets


@_jit
def _put(out: np.ndarray, p: int, value: int, width: int) -> None:
    for k in range(width - 1, -1, -1):
        out[p + k] = 48 + value % 10
        value //= 10


@_jit
def iso_seconds(wall: np.ndarray, minutes: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS±HH:MM`` (25 bytes) of each present cell: ``wall`` the local wall
    time in seconds since 1970-01-01, ``minutes`` the UTC offset in minutes; absent cells
    write nothing. Years 1000..9999 only (the caller checks)."""
    n = len(wall)
    out = np.empty(25 * n, dtype=np.uint8)
    p = 0
    for i in range(n):
        if not present[i]:
            continue
        s = wall[i]
        days = s // 86400
        sod = s - days * 86400
        # the civil date of a day count (H. Hinnant's days_from_civil, inverted)
        z = days + 719468
        era = (z if z >= 0 else z - 146096) // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (1 if month <= 2 else 0)
        _put(out, p, year, 4)
        out[p + 4] = 45
        _put(out, p + 5, month, 2)
        out[p + 7] = 45
        _put(out, p + 8, day, 2)
        out[p + 10] = 84
        _put(out, p + 11, sod // 3600, 2)
        out[p + 13] = 58
        _put(out, p + 14, (sod // 60) % 60, 2)
        out[p + 16] = 58
        _put(out, p + 17, sod % 60, 2)
        m = minutes[i]
        out[p + 19] = 43 if m >= 0 else 45
        m = abs(m)
        _put(out, p + 20, m // 60, 2)
        out[p + 22] = 58
        _put(out, p + 23, m % 60, 2)
        p += 25
    return out[:p]
