"""Pictures of a re-routed report file: where reports are, and where they were misplaced;
and a chart of responsiveness figures.

An HTML map (folium) with a choropleth of reports per kelurahan and a line from each
claimed kelurahan to the kelurahan the reports really lie in, coloured by how many; and a
static PNG (matplotlib) of the same. For a lurah who wants to see, not read.
:func:`stats_png` draws the figures of :func:`lapor_router.dispatch.responsiveness`, one
bar pair per group, for a meeting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import BatchError
from .files import file_format
from .locate import BoundarySet


def read_routed(path: str | Path) -> pd.DataFrame:
    """A routed output file (any supported format) as a DataFrame."""
    src = Path(path)
    fmt = file_format(src)
    try:
        if fmt == "csv":
            frame = pd.read_csv(src, dtype=str, keep_default_na=False)
        elif fmt == "jsonl":
            frame = pd.read_json(src, lines=True, dtype=False)
        elif fmt == "geojson":
            frame = pd.DataFrame(gpd.read_file(src).drop(columns="geometry"))
        else:
            frame = pd.read_parquet(src)
    except (OSError, ValueError) as exc:
        raise BatchError(f"{src}: cannot be read ({exc})") from exc
    missing = {"kelurahan_kode", "claimed_kode", "reroute"} - set(frame.columns)
    if missing:
        raise BatchError(f"{src}: not a lapor-router output (missing {sorted(missing)})")
    frame["reroute"] = frame["reroute"].map(lambda v: str(v).strip().lower() in ("true", "1"))
    for c in ("kelurahan_kode", "claimed_kode"):
        frame[c] = frame[c].map(lambda v: v if isinstance(v, str) and v.strip() else None)
    return frame


def summarize_map(
    frame: pd.DataFrame, boundaries: BoundarySet
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reports per kelurahan (a GeoDataFrame in EPSG:4326) and claimed → located flows
    (``from``, ``to``, ``count``, with the two kelurahan's representative points)."""
    counts = frame["kelurahan_kode"].value_counts()
    kel = boundaries.to_frame()
    kel["reports"] = kel["kode"].map(counts).fillna(0).astype(int)
    moved = frame[
        frame["reroute"]
        & frame["claimed_kode"].notna()
        & frame["kelurahan_kode"].notna()
        & (frame["claimed_kode"] != frame["kelurahan_kode"])
    ]
    flows = (
        moved.groupby(["claimed_kode", "kelurahan_kode"])
        .size()
        .rename("count")
        .reset_index()
        .rename(columns={"claimed_kode": "from", "kelurahan_kode": "to"})
    )
    points = dict(zip(kel["kode"], shapely.point_on_surface(kel.geometry.values), strict=True))
    flows = flows[flows["from"].isin(points) & flows["to"].isin(points)].copy()
    flows["from_point"] = flows["from"].map(points)
    flows["to_point"] = flows["to"].map(points)
    return kel, flows.sort_values("count", ascending=False, kind="stable")


def html_map(
    frame: pd.DataFrame, boundaries: BoundarySet, dest: str | Path, max_flows: int = 500
) -> None:
    """Write an interactive HTML map (folium): choropleth and claimed → located lines."""
    import folium

    kel, flows = summarize_map(frame, boundaries)
    b = boundaries.bounds
    fmap = folium.Map(
        location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=11, tiles="OpenStreetMap"
    )
    top = max(int(kel["reports"].max()), 1)

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        n = feature["properties"]["reports"]
        return {
            "fillColor": _colour(n / top),
            "color": "#555555",
            "weight": 0.5,
            "fillOpacity": 0.65 if n else 0.1,
        }

    folium.GeoJson(
        kel[["kode", "nama", "kecamatan", "reports", "geometry"]].to_json(),
        name="Laporan per kelurahan",
        style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=["nama", "kecamatan", "reports"], aliases=["Kelurahan", "Kecamatan", "Laporan"]
        ),
    ).add_to(fmap)
    layer = folium.FeatureGroup(name="Salah kelurahan (klaim → lokasi)")
    most = max(int(flows["count"].max()), 1) if len(flows) else 1
    for a, z, count, src, dst in _flow_rows(flows, max_flows):
        folium.PolyLine(
            [(a.y, a.x), (z.y, z.x)],
            color=_colour(count / most, "flow"),
            weight=1.5 + 4 * count / most,
            opacity=0.9,
            tooltip=f"{src} → {dst}: {count}",
        ).add_to(layer)
        folium.CircleMarker(
            (z.y, z.x), radius=2 + 3 * count / most, color="#b30000", fill=True
        ).add_to(layer)
    layer.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    fmap.save(str(dest))


def png_map(
    frame: pd.DataFrame, boundaries: BoundarySet, dest: str | Path, max_flows: int = 300
) -> None:
    """Write a static PNG (matplotlib): choropleth and claimed → located arrows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kel, flows = summarize_map(frame, boundaries)
    mainland = (
        kel[~kel["kode"].str.startswith("31.01")]
        if (kel["kode"].str.startswith("31.7").any())
        else kel
    )
    fig, ax = plt.subplots(figsize=(10, 10), dpi=120)
    mainland.plot(
        column="reports",
        cmap="YlOrRd",
        linewidth=0.3,
        edgecolor="#666666",
        ax=ax,
        legend=True,
        legend_kwds={"label": "laporan per kelurahan", "shrink": 0.6},
    )
    most = max(int(flows["count"].max()), 1) if len(flows) else 1
    for a, z, count, _src, _dst in _flow_rows(flows, max_flows):
        ax.annotate(
            "",
            xy=(z.x, z.y),
            xytext=(a.x, a.y),
            arrowprops={
                "arrowstyle": "->",
                "color": "#08306b",
                "lw": 0.6 + 2.0 * count / most,
                "alpha": 0.8,
            },
        )
    ax.set_title(
        f"{int(kel['reports'].sum())} laporan; {int(flows['count'].sum())} di "
        "kelurahan yang salah (panah: klaim → lokasi)"
    )
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(dest)
    plt.close(fig)


def stats_png(
    rows: list[dict[str, Any]],
    by: str,
    dest: str | Path,
    labels: dict[Any, str] | None = None,
    limit: int = 30,
) -> int:
    """Write a PNG bar chart of ``rows`` (:func:`lapor_router.dispatch.responsiveness`):
    per group, the share of its reports responded to in time and resolved in time (per
    cent of received), with received, open and overdue counts beside; the ``limit`` groups
    with the most reports (the title says how many of how many). ``labels``: a display
    name per group key. Returns the number of groups drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted(rows, key=lambda r: (-int(r["received"]), str(r[by])))[:limit]
    names = [(labels or {}).get(r[by], str(r[by]) if r[by] is not None else "(tanpa)")
             for r in shown]  # fmt: skip

    def share(r: dict[str, Any], key: str) -> float:
        value = r.get(key)
        return 100.0 * value / r["received"] if value is not None and r["received"] else 0.0

    y = np.arange(len(shown))
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.38 * max(len(shown), 1)), dpi=110)
    ax.barh(y - 0.2, [share(r, "responded_in_time") for r in shown], 0.38,
            color="#2171b5", label="ditanggapi tepat waktu")  # fmt: skip
    ax.barh(y + 0.2, [share(r, "resolved_in_time") for r in shown], 0.38,
            color="#41ab5d", label="selesai tepat waktu")  # fmt: skip
    for i, r in enumerate(shown):
        ax.text(101, i, f"{r['received']} laporan · {r['open']} terbuka · "
                f"{r['overdue']} terlambat", va="center", fontsize=8)  # fmt: skip
    # long names are cut in the middle: "Suku Dinas Bina Marga … Jakarta Selatan"
    ax.set_yticks(y, [n if len(n) <= 48 else f"{n[:22]}…{n[-25:]}" for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 150)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("% dari laporan diterima")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06 - 1.5 / (8 + 2.6 * len(shown))),
              ncol=2, fontsize=8, frameon=False)  # fmt: skip
    ax.set_title(
        f"Responsivitas per {by}: {len(shown)} dari {len(rows)} kelompok "
        f"({sum(int(r['received']) for r in rows)} laporan)"
    )
    fig.tight_layout()
    fig.savefig(dest)
    plt.close(fig)
    return len(shown)


def _flow_rows(flows: pd.DataFrame, limit: int) -> list[tuple[Any, Any, int, str, str]]:
    """(from point, to point, count, from code, to code) of the ``limit`` largest flows."""
    top = flows.head(limit)
    return list(
        zip(
            top["from_point"].tolist(),
            top["to_point"].tolist(),
            top["count"].astype(int).tolist(),
            top["from"].astype(str).tolist(),
            top["to"].astype(str).tolist(),
            strict=True,
        )
    )


def _colour(x: float, kind: str = "fill") -> str:
    """A hex colour for a share 0..1 (yellow → red for fills, light → dark blue for flows)."""
    x = float(np.clip(x, 0, 1))
    stops = (
        [(255, 255, 204), (253, 141, 60), (189, 0, 38)]
        if kind == "fill"
        else [(158, 202, 225), (33, 113, 181), (8, 48, 107)]
    )
    i = 0 if x < 0.5 else 1
    t = x * 2 - i
    c = [round(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * t) for k in range(3)]
    return "#{:02x}{:02x}{:02x}".format(*c)
