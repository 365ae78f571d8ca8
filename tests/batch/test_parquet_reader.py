"""Parquet chunks are what pandas reads from the file (its pandas metadata: nullable types,
a named index), with text columns Arrow-backed and every other column as objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lapor_router.files.readers import read_parquet_chunks
from lapor_router.normalize.strings import TEXT_DTYPE


def test_pandas_metadata_is_kept_and_text_is_arrow_backed(tmp_path):
    frame = pd.DataFrame(
        {
            "n": pd.array([5, None, 7], dtype="Int64"),
            "lon": [106.8, None, 106.9],
            "s": np.array(["x", None, "z"], dtype=object),
        },
        index=pd.Index([10, 11, 12], name="id"),
    )
    path = tmp_path / "reports.parquet"
    pq.write_table(pa.Table.from_pandas(frame), path)
    chunks = list(read_parquet_chunks(path, 2))
    got = pd.concat([c.frame for c in chunks])
    want = pq.read_table(path).to_pandas()
    assert list(got.columns) == ["__row_id", "n", "lon", "s"]  # the index is no column
    assert got["__row_id"].tolist() == [0, 1, 2]
    assert got["n"].dtype == object and got["n"].tolist()[0] == 5 and got["n"].tolist()[2] == 7
    assert got["n"].isna().tolist() == want["n"].isna().tolist()
    assert got["s"].dtype == TEXT_DTYPE
    assert got["s"].tolist()[::2] == ["x", "z"] and pd.isna(got["s"].tolist()[1])
