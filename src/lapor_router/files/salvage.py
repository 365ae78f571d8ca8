"""Splitting a CSV byte stream into records, and salvaging the broken ones as rejects.

Records are found with the CSV grammar itself (RFC 4180, as the csv module and spreadsheets
read it): a quote opens a quoted field only at the start of a field, a quoted field may hold
delimiters, doubled quotes and line breaks and ends at a quote followed by a delimiter or the
end of a line; a quote anywhere else is text (``pipa 2" bocor``). So a valid quoted field of
any number of lines is one record, never rows of its own. The delimiter is a comma unless
given (``;`` from a spreadsheet in a locale with decimal commas, tab, ``|``); the same one
serves the grammar over bytes, the csv module's parse and the lenient reading of rejects.

A record that breaks the grammar (text after a closing quote, or a quoted field that never
closes) has no right reading: its first line is one reject and reading goes on at the next
line. A valid record longer than :data:`MAX_RECORD_BYTES` is one reject as a whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from ..normalize import Columns, is_present, private_flag
from ..privacy import mask_text, mask_unattributed

MAX_RECORD_BYTES = 8 << 20  # one record (a report with its text) is far smaller
_QUOTE, _COMMA = ord('"'), ord(",")
_AFTER_QUOTE = frozenset(b",\r\n")
DELIMITERS = (",", ";", "\t", "|")  # in order of preference when a header has as many
#: status of a record found by the compiled scan (``kernels.scan_records``)
RECORD_OK, AFTER_QUOTE, NEVER_CLOSES, TOO_LONG = 0, 1, 2, 3


def sniff_delimiter(header: bytes) -> str:
    """The delimiter of a CSV file from its header line: the one of :data:`DELIMITERS` that
    stands most often outside quoted fields (a comma when none does)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header.rstrip(b"\r\n").decode("latin-1"):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # the first of equals
    return best if counts[best] else ","


def _walk(line: bytes, quoted: bool, delim: int = _COMMA) -> tuple[bool, bool]:
    """(still inside a quoted field at the end of ``line``, grammar broken) for one line,
    entered inside a quoted field or at the start of a field."""
    after_quote = _AFTER_QUOTE if delim == _COMMA else frozenset((delim, 13, 10))
    i, n = 0, len(line)
    start = not quoted  # at the start of a field
    while i < n:
        if quoted:
            j = line.find(b'"', i)
            if j < 0:
                return True, False
            if j + 1 < n and line[j + 1] == _QUOTE:  # a doubled quote is text
                i = j + 2
                continue
            if j + 1 < n and line[j + 1] not in after_quote:
                return False, True  # text after the closing quote
            quoted, start, i = False, False, j + 1
        elif start and line[i] == _QUOTE:
            quoted, start, i = True, False, i + 1
        else:
            j = line.find(delim, i)
            if j < 0:
                return False, False
            start, i = True, j + 1
    return quoted, False


_BLANK = b" \t\r\n\x0b\x0c"  # what bytes.strip() strips


def content_end(fh: io.BufferedReader, block: int = 1 << 16) -> int:
    """The byte offset where the file's trailing blank lines begin (lines of nothing but
    whitespace at its end, which are not rows); the file size when it has none."""
    size = fh.seek(0, io.SEEK_END)
    end = size
    while end > 0:  # the last byte that is not whitespace, block by block from the end
        start = max(0, end - block)
        fh.seek(start)
        chunk = fh.read(end - start)
        kept = chunk.rstrip(_BLANK)
        if kept:
            last = start + len(kept)
            break
        end = start
    else:
        return 0
    fh.seek(last)
    rest = fh.read(size - last)
    newline = rest.find(b"\n")
    return size if newline < 0 else last + newline + 1


def csv_records(
    fh: io.BufferedReader, offset: int, delimiter: str = ",", stop: int | None = None
) -> Iterator[tuple[bytes, int, str | None]]:
    """(record bytes, end offset, problem) for each CSV record from ``offset`` (see the
    module doc); ``problem`` is None for a record that follows the grammar. Records that
    start at or after ``stop`` (:func:`content_end`) are not read."""
    delim = ord(delimiter)
    fh.seek(offset)
    pos = offset
    while True:
        if stop is not None and pos >= stop:
            return
        line = fh.readline()
        if not line:
            return
        start, end = pos, pos + len(line)
        pos = end
        if _QUOTE not in line:
            yield line, end, None
            continue
        quoted, broken = _walk(line, False, delim)
        if not quoted:
            yield line, end, ("broken quoting: text after a closing quote" if broken else None)
            continue
        parts, size, long = [line], len(line), False
        while quoted and not broken:
            nxt = fh.readline()
            if not nxt:
                break
            pos += len(nxt)
            size += len(nxt)
            if size <= MAX_RECORD_BYTES:
                parts.append(nxt)
            else:
                long = True
            quoted, broken = _walk(nxt, True, delim)
        if not quoted and not broken:
            if long:
                record = b"".join(parts)
                yield record, pos, f"record too long: {size} bytes (at most {MAX_RECORD_BYTES})"
            else:
                yield b"".join(parts), pos, None
            continue
        problem = (
            "broken quoting: text after a closing quote"
            if broken
            else "broken quoting: a quoted field never closes"
        )
        yield line, start + len(line), problem
        pos = start + len(line)  # the lines after it are read again, as records of their own
        fh.seek(pos)


def raw_text(record: bytes, encoding: str = "utf-8") -> str:
    """A record's bytes as text, in the file's encoding; bytes that do not decode as
    ``\\xNN``."""
    return record.rstrip(b"\r\n").decode(encoding, "backslashreplace")


def parse_csv_texts(texts: list[str], delimiter: str = ",") -> list[list[str] | str]:
    """Fields of each record, or the csv module's complaint for a malformed one."""
    out: list[list[str] | str] = []
    start = 0
    while start < len(texts):
        reader = csv.reader(texts[start:], delimiter=delimiter, strict=True)
        try:
            for fields in reader:
                out.append(fields)
            return out
        except csv.Error as exc:
            bad = start + reader.line_num - 1  # each text is one "line" of the reader
            out.append(f"broken quoting: {exc}")
            start = bad + 1
    return out


def masked_raw(
    raw: str, fields: Sequence[object] | None, header: Sequence[str], cols: Columns
) -> str:
    """A reject's raw content as it may be kept: phones, e-mails and NIKs masked; when the
    fields line up with the header and the row's private flag can be read, a private
    reporter's values masked too; otherwise everything that could be a name or an address
    (:func:`lapor_router.privacy.mask_unattributed`)."""
    if fields is None or len(fields) != len(header):
        return mask_unattributed(raw)
    values = dict(zip(header, fields, strict=True))
    private = private_flag(values.get(cols.private)) if cols.private else False
    if private is None:
        return mask_unattributed(raw)
    extra = [str(values[c]) for c in cols.reporter if c in values and is_present(values[c])]
    return mask_text(raw, extra if private else ())


def lenient_fields(text: str, delimiter: str = ",") -> list[str] | None:
    """The fields of a record that failed the strict grammar, read as a spreadsheet would."""
    flat = text.replace("\r", " ").replace("\n", " ")
    try:
        rows = list(csv.reader([flat], delimiter=delimiter, strict=False))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None
