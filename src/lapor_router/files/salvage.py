"""Splitting a CSV byte stream into records, and salvaging the broken ones as rejects."""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator

_MAX_RECORD_LINES = 100


def csv_records(fh: io.BufferedReader, offset: int) -> Iterator[tuple[bytes, int, str | None]]:
    """(record bytes, end offset, problem) for each CSV record from ``offset``. A record
    spans lines while its quotes are unbalanced; one that never balances within 100 lines is
    reported alone as broken quoting and parsing goes on at the next line."""
    fh.seek(offset)
    pos = offset
    lines = iter(fh)
    pending: deque[tuple[bytes, int]] = deque()

    def next_line() -> tuple[bytes, int] | None:
        nonlocal pos
        if pending:
            return pending.popleft()
        line = next(lines, None)
        if line is None:
            return None
        pos += len(line)
        return line, pos

    while (item := next_line()) is not None:
        line, end = item
        quotes = line.count(b'"')
        if quotes % 2 == 0:
            yield line, end, None
            continue
        parts = [item]
        while quotes % 2 and len(parts) < _MAX_RECORD_LINES:
            nxt = next_line()
            if nxt is None:
                break
            parts.append(nxt)
            quotes += nxt[0].count(b'"')
        if quotes % 2 == 0:
            yield b"".join(p[0] for p in parts), parts[-1][1], None
        else:
            yield line, end, "broken quoting: unbalanced quote"
            pending.extendleft(reversed(parts[1:]))


def raw_text(record: bytes) -> str:
    return record.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def parse_csv_texts(texts: list[str]) -> list[list[str] | str]:
    """Fields of each record, or the csv module's complaint for a malformed one."""
    out: list[list[str] | str] = []
    start = 0
    while start < len(texts):
        reader = csv.reader(texts[start:], strict=True)
        try:
            for fields in reader:
                out.append(fields)
            return out
        except csv.Error as exc:
            bad = start + reader.line_num - 1  # each text is one "line" of the reader
            out.append(f"broken quoting: {exc}")
            start = bad + 1
    return out
