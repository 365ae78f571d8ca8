"""A frame of Arrow-backed text columns (pandas ``str``, as the CSV reader and pandas 3's
``read_csv`` make them) routes to the same cells as the same frame of object columns:
coordinates, accuracies (blank ones too), claims, units, categories, texts, times, masking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lapor_router.dispatch import route_frame
from lapor_router.files.readers import read_csv_chunks
from lapor_router.normalize import Columns
from lapor_router.normalize.strings import TEXT_DTYPE, text_series

REPORTS = Path(__file__).parents[1] / "batch" / "identity" / "reports.csv"


def _same(a: pd.Series, b: pd.Series) -> bool:
    x, y = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    return all(
        (u is v) or (u == v) or (pd.isna(u) and pd.isna(v)) for u, v in zip(x, y, strict=True)
    )


@pytest.mark.parametrize("odd", [False, True])
def test_arrow_text_frame_routes_as_an_object_frame(router, odd):
    chunk = next(iter(read_csv_chunks(REPORTS, 10_000)))
    plain = chunk.frame.drop(columns="__row_id").astype(object)
    if odd:  # cells Arrow's number parsing refuses, blanks, coordinates that are not numbers
        plain.loc[0, "lon"], plain.loc[1, "lat"], plain.loc[2, "accuracy_m"] = "106,8", " ", "  "
        plain.loc[3, "accuracy_m"], plain.loc[4, "lon"] = "-5", "1e400"
        # claims, times and units as exports spell them: blanks, case, junk
        plain.loc[5, "claimed_kelurahan"], plain.loc[6, "claimed_kelurahan"] = "", " GAMBIR "
        plain.loc[7, "created_at"], plain.loc[8, "created_at"] = "kemarin", "2026-11-03 10:00"
        plain.loc[9, "current_unit"], plain.loc[10, "current_unit"] = " PAM_JAYA ", ""
        # categories blank, missing or padded; texts missing, blank or naming a place
        plain.loc[11, "category"], plain.loc[12, "category"] = "  ", ""
        plain.loc[13, "category"], plain.loc[14, "category"] = None, " jalan_rusak "
        plain.loc[15, "text"], plain.loc[16, "text"], plain.loc[17, "text"] = None, "", "   "
        plain.loc[18, "text"] = "Jalan berlubang di kel. Gambir RT 03 RW 05 #jakarta"
        plain.loc[19, "text"] = plain.loc[18, "text"]
        plain.loc[19, "category"] = None
    arrow = pd.DataFrame(
        {c: text_series(pa.array(plain[c].tolist(), pa.large_string())) for c in plain}
    )
    assert (arrow.dtypes == TEXT_DTYPE).all()
    cols = Columns(reporter=("reporter_name", "reporter_phone"))
    now = datetime(2026, 12, 1, 2, tzinfo=UTC)
    want = route_frame(router, plain, cols, now)
    got = route_frame(router, arrow, cols, now)
    assert list(got.columns) == list(want.columns)
    differ = [c for c in want.columns if not _same(got[c], want[c])]
    assert differ == []
    assert (want["location_status"] == "invalid").sum() >= (2 if odd else 0)
    assert np.asarray(want["reporter_phone"] != got["reporter_phone"]).sum() == 0


def test_numeric_extension_columns_are_read_as_their_values(router):
    # a claim given as a nullable integer (a code without dots) is the code, not a float
    frame = pd.DataFrame({"lon": [106.8272, 106.8272], "lat": [-6.1754, -6.1754]})
    want = route_frame(
        router, frame.assign(claimed_kelurahan=np.array([3171011001, 3171011001], dtype=object))
    )
    got = route_frame(
        router, frame.assign(claimed_kelurahan=pd.array([3171011001, None], dtype="Int64"))
    )
    assert got["claimed_kode"].iloc[0] == want["claimed_kode"].iloc[0]
    assert got["claimed_kode"].iloc[0] is not None
