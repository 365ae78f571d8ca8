"""Report files as spreadsheets export them: another text encoding (cp1252, latin-1), another
delimiter (Excel in an Indonesian locale writes ``;`` and decimal commas)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from typer.testing import CliRunner

from lapor_router.batch import BatchError, route_file
from lapor_router.cli import app

from conftest import BOUNDARIES

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


def _route(router, src: Path, out: Path, **kw):
    kw.setdefault("chunk_rows", 50)
    return route_file(src, out, router=router, now=NOW, progress=False, **kw)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------- encodings

CP1252 = (
    "report_id,lon,lat,text,catatan_petugas_é\n"
    "R1,106.8272,-6.1754,Jalan rusak depan kafé Señor,sudah dicek\n"
    "R2,106.8272,-6.1754,Sampah numpuk “parah”,belum\n"
).encode("cp1252")


def test_a_cp1252_header_is_refused_naming_the_byte_and_the_encoding_to_give(router, tmp_path):
    src = tmp_path / "in" / "laporan.csv"
    src.parent.mkdir()
    src.write_bytes(CP1252)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BatchError) as refused:
        _route(router, src, out / "o.csv")
    at = CP1252.index(b"\xe9")
    assert str(refused.value) == (
        f"{src}: the header is not UTF-8 (byte 0xe9 at offset {at}); "
        "give its encoding, e.g. --encoding cp1252"
    )
    assert list(out.iterdir()) == []


def test_the_offset_counts_a_byte_order_mark(router, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"\xef\xbb\xbflon,lat,t\xe9xt\n106.8272,-6.1754,x\n")
    with pytest.raises(BatchError, match=r"byte 0xe9 at offset 12\)"):
        _route(router, src, tmp_path / "o.csv")


@pytest.mark.parametrize(("given", "used"), [("cp1252", "cp1252"), ("windows-1252", "cp1252")])
def test_a_cp1252_file_routes_with_its_encoding(router, tmp_path, given, used):
    src = tmp_path / "laporan.csv"
    src.write_bytes(CP1252)
    summary = _route(router, src, tmp_path / "o.csv", encoding=given)
    routed = _read(tmp_path / "o.csv")  # the output is UTF-8
    assert (summary["rows_written"], summary["rows_rejected"], summary["encoding"]) == (2, 0, used)
    assert routed["text"].tolist() == ["Jalan rusak depan kafé Señor", "Sampah numpuk “parah”"]
    assert routed["catatan_petugas_é"].tolist() == ["sudah dicek", "belum"]
    assert "warnings" not in summary
    saved = json.loads((tmp_path / "o.csv.summary.json").read_text(encoding="utf-8"))
    assert saved["encoding"] == used


def test_a_cp1252_file_with_only_a_header_gives_its_columns(router, tmp_path):
    from lapor_router.batch import OUTPUT_COLUMNS

    src = tmp_path / "laporan.csv"
    src.write_bytes(CP1252.split(b"\n")[0] + b"\n")
    summary = _route(router, src, tmp_path / "o.csv", encoding="cp1252")
    assert (summary["rows_read"], summary["encoding"]) == (0, "cp1252")
    header = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
    assert header == [
        ",".join(["report_id", "lon", "lat", "text", "catatan_petugas_é", *OUTPUT_COLUMNS])
    ]


def test_bytes_that_do_not_decode_are_rejects_with_their_raw_bytes(router, tmp_path):
    # 0x81 has no character in cp1252; latin-1 decodes every byte
    data = CP1252 + b"R3,106.8272,-6.1754,rusak \x81 sekali,x\n"
    src = tmp_path / "laporan.csv"
    src.write_bytes(data)
    summary = _route(router, src, tmp_path / "o.csv", encoding="cp1252")
    rejects = _read(tmp_path / "o.csv.rejects.csv")
    assert (summary["rows_written"], summary["rows_rejected"]) == (2, 1)
    assert rejects["row_id"].tolist() == ["2"]
    assert rejects["reject_reason"].tolist() == [
        "bad encoding: character maps to <undefined> at byte 26"
    ]
    assert rejects["raw"].tolist() == ["R3,106.8272,-6.1754,rusak \\x81 sekali,x"]
    summary = _route(router, src, tmp_path / "l.csv", encoding="latin-1")
    assert (summary["rows_written"], summary["rows_rejected"], summary["encoding"]) == (
        3,
        0,
        "iso8859-1",
    )
    assert _read(tmp_path / "l.csv")["text"].iat[2] == "rusak \x81 sekali"


def test_a_utf8_run_with_undecodable_rows_says_which_encoding_to_try(router, tmp_path):
    src = tmp_path / "laporan.csv"
    src.write_bytes(b"report_id,lon,lat,text\n" + CP1252.split(b"\n", 1)[1])
    summary = _route(router, src, tmp_path / "o.csv")
    assert (summary["rows_written"], summary["rows_rejected"], summary["encoding"]) == (
        0,
        2,
        "utf-8",
    )
    assert summary["warnings"] == [
        "2 row(s) rejected as not UTF-8: if the file was saved by a spreadsheet on Windows, "
        "run again with --encoding cp1252"
    ]


def test_json_lines_and_geojson_take_an_encoding_too(router, tmp_path):
    src = tmp_path / "laporan.jsonl"
    src.write_bytes(
        '{"lon": 106.8272, "lat": -6.1754, "text": "got mampet di kafé"}\n'.encode("cp1252")
    )
    summary = _route(router, src, tmp_path / "o.csv", encoding="cp1252")
    assert (summary["rows_written"], summary["encoding"]) == (1, "cp1252")
    assert _read(tmp_path / "o.csv")["text"].tolist() == ["got mampet di kafé"]
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [106.8272, -6.1754]},
                "properties": {"text": "pohon tumbang dekat kafé"},
            }
        ],
    }
    src = tmp_path / "laporan.geojson"
    src.write_bytes(json.dumps(gj, ensure_ascii=False).encode("latin-1"))
    summary = _route(router, src, tmp_path / "g.csv", encoding="latin-1")
    assert _read(tmp_path / "g.csv")["text"].tolist() == ["pohon tumbang dekat kafé"]


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("klingon", "unknown encoding 'klingon' (e.g. utf-8, cp1252, latin-1)"),
        ("utf-16", "encoding 'utf-16' is not supported: it writes ASCII in more than one byte"),
    ],
)
def test_an_encoding_that_cannot_be_used_is_refused(router, tmp_path, encoding, message):
    src = tmp_path / "laporan.csv"
    src.write_bytes(CP1252)
    with pytest.raises(BatchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _route(router, src, tmp_path / "o.csv", encoding=encoding)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["laporan.csv"]


def test_parquet_input_takes_no_encoding(router, tmp_path):
    src = tmp_path / "laporan.parquet"
    pd.DataFrame({"lon": [106.8272], "lat": [-6.1754]}).to_parquet(src)
    with pytest.raises(BatchError, match="Parquet text is UTF-8 by definition"):
        _route(router, src, tmp_path / "o.csv", encoding="cp1252")


def test_resume_refuses_another_encoding(router, tmp_path, monkeypatch):
    from lapor_router.batch import engine as engine_module

    rows = b"".join(b"R%d,106.8272,-6.1754,kaf\xe9 %d\n" % (i, i) for i in range(120))
    src = tmp_path / "laporan.csv"
    src.write_bytes(b"report_id,lon,lat,text\n" + rows)
    out = tmp_path / "o.csv"
    real, calls = engine_module.write_part, []

    def stop_at_second(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(engine_module, "write_part", stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        _route(router, src, out, encoding="cp1252")
    monkeypatch.undo()
    with pytest.raises(BatchError, match=r"\(encoding: cp1252 → iso8859-1\)"):
        _route(router, src, out, encoding="latin-1", resume=True)
    summary = _route(router, src, out, encoding="cp1252", resume=True)
    assert (summary["rows_written"], summary["chunks"]) == (120, 3)
    assert _read(out)["text"].iat[119] == "kafé 119"


def test_cli_encoding(tmp_path, monkeypatch):
    from lapor_router import install

    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "home"))
    install(BOUNDARIES, ["jakarta"])
    src = tmp_path / "laporan.csv"
    src.write_bytes(CP1252)
    runner = CliRunner()
    bad = runner.invoke(app, ["route", str(src), "-o", str(tmp_path / "o.csv")])
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1
    at = CP1252.index(b"\xe9")
    assert "--encoding cp1252" in bad.output and f"offset {at}" in bad.output
    good = runner.invoke(
        app, ["route", str(src), "-o", str(tmp_path / "o.csv"), "--encoding", "cp1252", "--json"]
    )
    assert good.exit_code == 0, good.output
    summary = json.loads(good.stdout)
    assert (summary["rows_written"], summary["encoding"]) == (2, "cp1252")


# --------------------------------------------------------------------------- delimiters

EXPORT_HEADER = ["report_id", "lon", "lat", "accuracy_m", "text", "private", "reporter_name"]
EXPORT_ROWS = [
    ["R1", "106.8272", "-6.1754", "12.5", "Jalan berlubang, 1,5 meter; parah", "false", "Budi"],
    ["R2", "106.8456", "-6.2088", "1250.5", 'pipa 2" bocor\nsudah seminggu', "true", "Siti"],
    ["R3", "106.8272", "-6.1754", "", "sampah numpuk", "false", "Ani"],
    ["R4", "abc", "-6.1754", "8", "got mampet", "false", "Wati"],
]


def _comma_decimals(row: list[str]) -> list[str]:
    """A row as Excel writes it in an Indonesian locale: decimal commas, thousands points."""
    out = list(row)
    for k in (1, 2, 3):
        whole, _, frac = out[k].partition(".")
        if frac and whole.lstrip("-").isdigit():
            grouped = f"{int(whole):,}".replace(",", ".") if len(whole) > 3 else whole
            out[k] = f"{grouped},{frac}"
    return out


def _csv_bytes(rows: list[list[str]], delimiter: str, lineterminator: str = "\n") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    for row in rows:
        w.writerow(row)
    return buf.getvalue().encode("utf-8")


def test_an_indonesian_excel_export_routes_as_the_same_file_with_commas(router, tmp_path):
    semicolons = [EXPORT_HEADER, *(_comma_decimals(r) for r in EXPORT_ROWS)]
    assert semicolons[2][3] == "1.250,5" and semicolons[1][1] == "106,8272"
    export = tmp_path / "export.csv"
    export.write_bytes(_csv_bytes(semicolons, ";", "\r\n"))
    plain = tmp_path / "plain.csv"
    plain.write_bytes(_csv_bytes([EXPORT_HEADER, *EXPORT_ROWS], ","))
    summary = _route(router, export, tmp_path / "a.csv")
    _route(router, plain, tmp_path / "b.csv")
    assert (summary["rows_written"], summary["rows_rejected"], summary["delimiter"]) == (4, 0, ";")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    routed = _read(tmp_path / "a.csv")
    assert routed["lon"].tolist() == ["106.8272", "106.8456", "106.8272", "abc"]
    assert routed["lat"].tolist() == ["-6.1754", "-6.2088", "-6.1754", "-6.1754"]
    assert routed["accuracy_m"].tolist() == ["12.5", "1250.5", "", "8"]
    assert routed["text"].tolist() == [r[4] for r in EXPORT_ROWS]  # text stays as it is
    assert routed["location_status"].tolist()[:3] != ["invalid"] * 3
    assert routed["location_status"].iat[3] == "invalid"
    assert routed["reporter_name"].tolist() == ["Budi", "[disamarkan]", "Ani", "Wati"]


def test_broken_lines_of_a_semicolon_file_are_rejects_with_their_bytes_and_line(router, tmp_path):
    rows = [_comma_decimals(r) for r in EXPORT_ROWS]
    lines = [_csv_bytes([EXPORT_HEADER], ";")]
    lines += [_csv_bytes([rows[0]], ";")]
    lines += [_csv_bytes([rows[1]], ";")]  # a quoted field of two lines: one row
    lines += [b"R6,106.8272,-6.1754,5,sampah,false,Warga\n"]  # commas: one field
    lines += [b'R7;106,8272;-6,1754;5;"dikutip"lalu teks;false;Warga\n']
    lines += [b"\n"]
    lines += [_csv_bytes([rows[2]], ";")]
    lines += [b'R5;106,8272;-6,1754;5;"kutipan tak tertutup;false;Warga\n']  # never closes
    src = tmp_path / "export.csv"
    src.write_bytes(b"".join(lines))
    summary = _route(router, src, tmp_path / "o.csv")
    routed, rejects = _read(tmp_path / "o.csv"), _read(tmp_path / "o.csv.rejects.csv")
    assert (summary["rows_read"], summary["rows_written"], summary["rows_rejected"]) == (7, 3, 4)
    assert routed["report_id"].tolist() == ["R1", "R2", "R3"]
    assert routed["row_id"].tolist() == ["0", "1", "5"]
    assert routed["text"].iat[1] == 'pipa 2" bocor\nsudah seminggu'
    assert rejects["row_id"].tolist() == ["2", "3", "4", "6"]
    assert rejects["reject_reason"].tolist() == [
        "expected 7 fields, got 1",
        "broken quoting: text after a closing quote",
        "empty line",
        "broken quoting: a quoted field never closes",
    ]
    # the raw line (masked where its fields cannot be told apart; see the privacy tests)
    assert rejects["raw"].tolist() == [
        "R6,106.8272,-6.1754,5,[disamarkan],false,[disamarkan]",
        'R7;106,8272;-6,1754;5;"dikutip"lalu teks;false;Warga',
        "",
        'R5;106,8272;-6,1754;5;"[disamarkan] [disamarkan] [disamarkan];false;[disamarkan]',
    ]


def test_the_delimiter_can_be_given_and_is_checked(router, tmp_path):
    src = tmp_path / "export.tsv.csv"
    src.write_bytes(b"lon\tlat\ttext\n106,8272\t-6,1754\tjalan rusak, parah\n")
    summary = _route(router, src, tmp_path / "a.csv")  # found in the header
    assert (summary["rows_written"], summary["delimiter"]) == (1, "\t")
    summary = _route(router, src, tmp_path / "b.csv", delimiter="tab")
    assert summary["delimiter"] == "\t"
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert _read(tmp_path / "a.csv")[["lon", "lat", "text"]].values.tolist() == [
        ["106.8272", "-6.1754", "jalan rusak, parah"]
    ]
    with pytest.raises(BatchError, match=r"delimiter 'x' is not one of ',', ';', '\|' or tab"):
        _route(router, src, tmp_path / "c.csv", delimiter="x")
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"lon": 106.8272, "lat": -6.1754}\n', encoding="utf-8")
    with pytest.raises(BatchError, match="a delimiter is for CSV input only"):
        _route(router, jsonl, tmp_path / "d.csv", delimiter=";")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.csv",
        "a.csv.rejects.csv",
        "a.csv.summary.json",
        "b.csv",
        "b.csv.rejects.csv",
        "b.csv.summary.json",
        "export.tsv.csv",
        "r.jsonl",
    ]


def test_a_comma_file_keeps_decimal_commas_as_they_are(router, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'lon,lat,accuracy_m,text\n"106,8272","-6,1754","1.250,5",x\n')
    summary = _route(router, src, tmp_path / "o.csv")
    routed = _read(tmp_path / "o.csv")
    assert summary["delimiter"] == ","
    # as today: a cell that is not a plain number and starts with "-" is made inert
    assert routed[["lon", "lat", "accuracy_m"]].values.tolist() == [
        ["106,8272", "'-6,1754", "1.250,5"]
    ]


def test_a_semicolon_file_with_only_a_header_gives_its_columns(router, tmp_path):
    from lapor_router.batch import OUTPUT_COLUMNS

    src = tmp_path / "export.csv"
    src.write_bytes(b"report_id;lon;lat\r\n")
    summary = _route(router, src, tmp_path / "o.csv")
    assert (summary["rows_read"], summary["delimiter"]) == (0, ";")
    header = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
    assert header == [",".join(["report_id", "lon", "lat", *OUTPUT_COLUMNS])]


def test_cli_delimiter(tmp_path, monkeypatch):
    from lapor_router import install

    monkeypatch.setenv("LAPOR_ROUTER_DATA", str(tmp_path / "home"))
    install(BOUNDARIES, ["jakarta"])
    src = tmp_path / "export.csv"
    src.write_bytes(b"report_id;lon;lat;text\r\nR1;106,8272;-6,1754;jalan rusak\r\n")
    runner = CliRunner()
    args = ["route", str(src), "-o", str(tmp_path / "o.csv"), "--json"]
    result = runner.invoke(app, [*args, "--delimiter", ";"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_written"], summary["delimiter"]) == (1, ";")
    bad = runner.invoke(app, [*args, "--delimiter", ":"])
    assert bad.exit_code == 2 and "delimiter ':' is not one of" in bad.output


# ---------------------------------------------------------------------------- blank lines

BODY = (
    "report_id,lon,lat,text\nR1,106.8272,-6.1754,Jalan rusak\n\nR2,106.8272,-6.1754,Sampah numpuk\n"
)


@pytest.mark.parametrize("tail", ["\n", "\n\n\n", "\r\n \t\r\n", "   ", "\n" * 70_000])
def test_trailing_blank_lines_are_not_rows_but_blank_lines_between_rows_are(router, tmp_path, tail):
    src = tmp_path / "in.csv"
    src.write_text(BODY + tail, encoding="utf-8", newline="")
    summary = _route(router, src, tmp_path / "o.csv", chunk_rows=2)
    assert list(_read(tmp_path / "o.csv")["report_id"]) == ["R1", "R2"]
    rejects = _read(tmp_path / "o.csv.rejects.csv")
    assert list(rejects["row_id"]) == ["1"] and list(rejects["reject_reason"]) == ["empty line"]
    assert (summary["rows_read"], summary["rows_written"], summary["rows_rejected"]) == (3, 2, 1)


def test_trailing_blank_lines_of_json_lines_are_not_rows(router, tmp_path):
    src = tmp_path / "in.jsonl"
    line = json.dumps({"report_id": "R1", "lon": 106.8272, "lat": -6.1754})
    src.write_text(line + "\n\n" + line + "\n\n \n", encoding="utf-8")
    summary = _route(router, src, tmp_path / "o.csv", chunk_rows=1)
    assert (summary["rows_read"], summary["rows_written"], summary["rows_rejected"]) == (3, 2, 1)


def test_a_file_of_a_header_and_blank_lines_has_no_rows(router, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("report_id,lon,lat\n\n\n", encoding="utf-8")
    summary = _route(router, src, tmp_path / "o.csv")
    assert (summary["rows_read"], summary["rows_rejected"]) == (0, 0)
    assert list(_read(tmp_path / "o.csv").columns)[:3] == ["report_id", "lon", "lat"]


def test_a_last_line_of_content_without_a_newline_is_still_read(router, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(BODY + "R3,106.8272,-6.1754,Banjir", encoding="utf-8")
    summary = _route(router, src, tmp_path / "o.csv")
    assert list(_read(tmp_path / "o.csv")["report_id"]) == ["R1", "R2", "R3"]
    assert summary["rows_read"] == 4
