"""Generate a realistic, messy file of JakLapor-style reports for demos, tests and benchmarks.

Points cluster around kelurahan centres (where people live) with a spread in metres; some
reports claim a neighbouring kelurahan, some have swapped or sign-lost coordinates, some lie
outside Jakarta (Bekasi, Depok, Tangerang, the sea), and some rows are empty or garbage.

    python examples/generate_reports.py -n 300 -o examples/reports_sample.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import shapely

from lapor_router import Router, load_boundaries

DEFAULT_BOUNDARIES = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "kelurahan_boundaries"
    / "jakarta_kel.parquet"
)
TEXTS = {
    "road_damage": [
        "Jalan berlubang besar di depan gang, bahaya buat motor",
        "jln rusak parah dkt pasar, aspal ngelupas",
    ],
    "garbage": [
        "Tumpukan sampah sudah 3 hari tidak diangkut, bau sekali",
        "sampah numpuk di pinggir kali, tolong diangkut",
    ],
    "drain_blocked": [
        "Saluran air tersumbat, got mampet kalau hujan meluap",
        "got mampet depan rumah warga RT 05",
    ],
    "illegal_parking": [
        "Parkir liar di bahu jalan bikin macet tiap sore",
        "bnyk mobil parkir sembarangan di trotoar",
    ],
    "street_light": [
        "Lampu jalan (PJU) mati sudah seminggu, gelap rawan begal",
        "lampu jalanan padam di jembatan",
    ],
    "tree": [
        "Pohon tumbang menutup jalan setelah hujan deras",
        "dahan pohon rawan patah di atas kabel",
    ],
    "street_vendor": [
        "PKL berjualan di trotoar, pejalan kaki terpaksa turun ke jalan",
        "pedagang kaki lima menutup akses jalan",
    ],
    "flooding": ["Genangan air setinggi lutut di jalan utama", "banjir di perumahan warga"],
}
OUTSIDE = [(107.00, -6.25), (106.82, -6.40), (106.63, -6.18), (106.80, -5.95)]


def generate(n: int, boundaries: Path, seed: int = 20261123) -> list[dict[str, object]]:
    """``n`` report rows (dicts) as a CSV writer would take them."""
    rng = np.random.default_rng(seed)
    bs = load_boundaries(boundaries)
    router = Router(bs)
    mainland = np.flatnonzero(~np.char.startswith(bs.codes.astype(str), "31.01"))
    centres = shapely.point_on_surface(bs.geoms)
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    cats = list(TEXTS)
    start = datetime(2026, 11, 2, 7, 0)
    home = np.where(rng.random(n) < 0.97, rng.choice(mainland, n), rng.integers(len(bs), size=n))
    spread = np.where(rng.random(n) < 0.8, 0.002, 0.006)  # degrees: ~220 m, ~660 m
    lons = cx[home] + rng.normal(0, 1, n) * spread
    lats = cy[home] + rng.normal(0, 1, n) * spread
    # the kelurahan the app would assign: right, except often wrong near a boundary
    truth = router.locate_many(lons, lats, accuracy_m=150)
    rows: list[dict[str, object]] = []
    for i in range(n):
        lon, lat = float(lons[i]), float(lats[i])
        cat = cats[int(rng.integers(len(cats)))]
        shares = [k for k, _ in truth["accuracy_shares"].iat[i]]
        kode = truth["kode"].iat[i] if truth["kode"].notna().iat[i] else bs.codes[home[i]]
        if len(shares) > 1 and rng.random() < 0.5:
            kode = next(k for k in shares if k != kode)
        claimed: object = bs.names[bs.index_of(kode)]
        u = rng.random()
        if u < 0.04:
            lon, lat = lat, lon  # swapped
        elif u < 0.07:
            lat = -lat  # minus sign lost
        elif u < 0.11:
            lon, lat = OUTSIDE[int(rng.integers(len(OUTSIDE)))]
            lon, lat = lon + rng.normal(0, 0.01), lat + rng.normal(0, 0.01)
        if rng.random() < 0.15:
            claimed = str(claimed).upper() if rng.random() < 0.5 else f"Kel. {claimed}"
        row: dict[str, object] = {
            "report_id": f"JK{(start + timedelta(hours=i)).strftime('%y%m%d')}{i:04d}",
            "created_at": (start + timedelta(minutes=37 * i)).isoformat() + "+07:00",
            "lon": round(float(lon), 6),
            "lat": round(float(lat), 6),
            "accuracy_m": int(rng.choice([5, 10, 20, 50, 150])),
            "claimed_kelurahan": claimed,
            "category": cat,
            "text": TEXTS[cat][int(rng.integers(2))],
        }
        g = rng.random()
        if g < 0.02:
            row["lon"], row["lat"] = "", ""
        elif g < 0.03:
            row["lon"], row["lat"] = "tidak tahu", "?"
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("-o", "--output", type=Path, default=Path("reports.csv"))
    parser.add_argument("--boundaries", type=Path, default=DEFAULT_BOUNDARIES)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    rows = generate(args.n, args.boundaries, args.seed)
    with open(args.output, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} reports to {args.output}")


if __name__ == "__main__":
    main()
