"""The compiled CSV reader (records and fields found over blocks of bytes) reads every file
as the record-by-record Python reader does: the same rows with the same fields, the same
rejects with the same reasons and raw text, the same chunk ends, for messy bytes of any
kind (quotes that open, close or never close, doubled quotes, inch marks, line breaks in
and out of quotes, carriage returns, NUL bytes, invalid UTF-8, blank lines, wrong field
counts, records over the size limit), however small the blocks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lapor_router.files import readers, salvage
from lapor_router.files.readers import read_csv_chunks

HEADER = b"report_id,lon,lat,text\n"
PIECES = st.sampled_from(
    [b"R1", b"106.8", b"-6.2", b",", b",", b",", b'"', b'""', b'"a,b"', b"\n", b"\r\n", b"\r",
     b"teks", b" ", b"\x00", b"\xff", b"\xc3\xa9", b"\xe2\x82", b'2"', b"\n\n", b";"]
)  # fmt: skip


def _chunks(path: Path, chunk_rows: int) -> list[tuple[pd.DataFrame, list, int, int]]:
    return [
        (c.frame, c.rejects, c.next_position, c.rows_read)
        for c in read_csv_chunks(path, chunk_rows)
    ]


def _python_chunks(path: Path, chunk_rows: int, monkeypatch) -> list:
    # the same reader with every record read one by one by Python
    def by_records(fh, offset, stop, row, rows, delimiter, header, one_by_one):
        records = salvage.csv_records(fh, offset, delimiter, stop)
        return readers._record_chunks(records, row, rows, header, one_by_one)

    with monkeypatch.context() as m:
        m.setattr(readers, "_columnar_chunks", by_records)
        return _chunks(path, chunk_rows)


def _same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for (f1, r1, p1, n1), (f2, r2, p2, n2) in zip(got, want, strict=True):
        assert (p1, n1) == (p2, n2)
        assert r1 == r2
        pd.testing.assert_frame_equal(f1.reset_index(drop=True), f2.reset_index(drop=True))


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.lists(PIECES, max_size=12).map(b"".join), max_size=12),
    st.integers(1, 5),
    st.sampled_from([16, 64, 1 << 20]),
    st.sampled_from([40, 8 << 20]),
)
# a record over the limit keeps as its raw bytes only the lines that fit
@example([b'R1R1R1R1R1R1,"', b"", b"R1R1R1", b'R1R1R1R1R1R1R1R12"'], 1, 16, 40)
def test_columnar_reading_equals_reading_record_by_record(
    tmp_path_factory, monkeypatch, lines, chunk_rows, block, max_record
):
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(HEADER + b"\n".join(lines))
    monkeypatch.setattr(readers, "_BLOCK_MIN", block)
    monkeypatch.setattr(readers, "_BLOCK_CAP", 256)
    monkeypatch.setattr(salvage, "MAX_RECORD_BYTES", max_record)
    _same(_chunks(path, chunk_rows), _python_chunks(path, chunk_rows, monkeypatch))


def test_a_clean_file_is_read_by_the_kernels_alone(tmp_path, monkeypatch):
    rows = [f'R{i},106.8,-6.2,"teks, ""kutip"" {i}\nbaris dua"' for i in range(50)]
    path = tmp_path / "in.csv"
    path.write_bytes(HEADER + "\n".join(rows).encode() + b"\n")
    calls = []
    real = readers._columnar_chunks

    def spy(fh, offset, stop, row, rows_, delimiter, header, one_by_one):
        def counted(*a):
            calls.append(a[1])
            return one_by_one(*a)

        return real(fh, offset, stop, row, rows_, delimiter, header, counted)

    monkeypatch.setattr(readers, "_columnar_chunks", spy)
    (chunk,) = list(read_csv_chunks(path, 100))
    assert calls == []  # no record needed Python
    assert chunk.frame["text"].iat[7] == 'teks, "kutip" 7\nbaris dua'
    assert list(chunk.frame["__row_id"]) == list(range(50))
