"""``lapor-router cluster``: a cluster id per row of a report file, linking the reports of
one category within its ``duplicates`` radius and window (rule data), exact, in metres.

The input is read with the batch readers (so a broken line is a reject, counted, not a
crash) and held whole: clusters cross chunk borders. Best on a routed file, whose
``category`` column holds the category codes; a row whose category is not a code, or
whose point is unusable, gets cluster id -1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dispatch.duplicates import cluster_reports
from ..errors import BatchError
from ..files import TABLE_FORMATS, read_whole, write_table
from ..files.formats import file_format
from ..normalize import Columns
from ..route import RuleGraph


def cluster_file(
    input: str | Path,
    output: str | Path,
    rules: RuleGraph,
    *,
    columns: Columns | None = None,
    window: bool = True,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Write ``input``'s rows with ``cluster_id`` and ``cluster_size`` to ``output`` (CSV,
    JSON Lines or Parquet by extension) and return a summary. ``window=False``: distance
    only."""
    src, dest = Path(input), Path(output)
    if file_format(dest) not in TABLE_FORMATS:
        raise BatchError(f"{dest}: clusters are written as .csv, .jsonl or .parquet")
    columns = columns or Columns()
    frame, rejected, geometry = read_whole(src, columns, encoding, delimiter)
    names = [str(c) for c in frame.columns if c not in ("__row_id", geometry)]
    cols = columns.resolve(names)
    if cols.category is None:
        raise BatchError(f"{src}: no category column found in {names} (give --category-col)")
    if cols.lon is not None and cols.lat is not None:
        lon, lat = frame[cols.lon].to_numpy(object), frame[cols.lat].to_numpy(object)
    elif geometry is not None:
        lon, lat = _xy(frame[geometry])
    else:
        raise BatchError(f"{src}: no coordinate columns found in {names}")
    created = frame[cols.created_at].to_numpy(object) if cols.created_at else None
    ids = cluster_reports(rules, frame[cols.category].to_numpy(object), lon, lat, created,
                          window=window)  # fmt: skip
    out = frame.drop(columns=["__row_id"]).reset_index(drop=True)
    if geometry is not None and geometry in out:
        out = out.drop(columns=[geometry])
    out["cluster_id"] = ids["cluster_id"].to_numpy()
    out["cluster_size"] = ids["cluster_size"].to_numpy()
    write_table(out, dest)
    sizes = out["cluster_size"].to_numpy()
    clustered = out["cluster_id"].to_numpy() >= 0
    return {
        "input": str(src),
        "output": str(dest),
        "rows": len(out),
        "rows_rejected": rejected,
        "rows_not_clustered": int((~clustered).sum()),
        "clusters": int(out.loc[clustered, "cluster_id"].nunique()),
        "rows_in_shared_clusters": int((sizes > 1).sum()),
        "largest_cluster": int(sizes.max(initial=0)),
        "window": window,
        "rule_set": rules.fingerprint,
    }


def _xy(geoms: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    values = geoms.to_numpy(object)
    parsed = np.array(
        [shapely.from_wkb(v) if isinstance(v, bytes) else v for v in values], dtype=object
    )
    parsed[~shapely.is_geometry(parsed)] = None
    return shapely.get_x(parsed), shapely.get_y(parsed)
