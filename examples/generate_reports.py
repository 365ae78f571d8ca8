"""Generate realistic, messy JakLapor-style report files for demos, tests and benchmarks.

Points cluster around kelurahan centres (where people live) with a spread of a few hundred
metres; the claimed kelurahan is the one the app would have assigned, often the neighbour
for points near a boundary; ``current_unit`` is the unit a claim-based routing would have
chosen. Some coordinates are swapped or lost their minus sign, some lie outside Jakarta
(Bekasi, Depok, Tangerang, the sea), some are empty or garbage, some texts carry phone
numbers or spreadsheet formulas, some reports are private. ``--broken`` adds raw lines a
parser must reject: unbalanced quotes, wrong field counts, invalid UTF-8, blank lines.

    python examples/generate_reports.py -n 300 --broken 6 -o examples/reports_sample.csv
    python examples/generate_reports.py -n 5000000 --fast --broken 500 -o /tmp/big.csv
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from lapor_router import Router, RuleGraph, load_boundaries

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
    "water_supply": ["Air PAM mati sejak kemarin, no pelanggan 60012345", "air pam keruh dan bau"],
}
EXTRA_TEXTS = [
    "Mohon segera ditindak, hubungi saya di 0812-3456-7890",
    '=HYPERLINK("http://contoh.invalid","klik")',
    "+62 813 1111 2222 tolong",
    "@admin tolong dicek",
    "-- tidak ada keterangan --",
]
OUTSIDE = np.array([(107.00, -6.25), (106.82, -6.40), (106.63, -6.18), (106.80, -5.95)])
NAMES = ["Siti Rahmawati", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Rina Marlina"]


def generate(
    n: int, boundaries: Path = DEFAULT_BOUNDARIES, seed: int = 20261123, fast: bool = False
) -> pd.DataFrame:
    """``n`` report rows. ``fast`` skips the accuracy-circle step that makes claims near
    boundaries realistic (for multi-million-row benchmark files)."""
    rng = np.random.default_rng(seed)
    bs = load_boundaries(boundaries)
    mainland = np.flatnonzero(~np.char.startswith(bs.codes.astype(str), "31.01"))
    centres = shapely.point_on_surface(bs.geoms)
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    home = np.where(rng.random(n) < 0.97, rng.choice(mainland, n), rng.integers(len(bs), size=n))
    spread = np.where(rng.random(n) < 0.8, 0.002, 0.006)  # degrees: ~220 m, ~660 m
    lon = cx[home] + rng.normal(0, 1, n) * spread
    lat = cy[home] + rng.normal(0, 1, n) * spread
    claimed_row = home.copy()
    if not fast:
        truth = Router(bs).locate_many(lon, lat, accuracy_m=150)
        kode = truth["kode"].astype(object)
        for i in range(n):
            shares = truth["accuracy_shares"].iat[i]
            k = kode.iat[i] if isinstance(kode.iat[i], str) else None
            if k is not None:
                if len(shares) > 1 and rng.random() < 0.5:
                    k = next(c for c, _ in shares if c != k)
                claimed_row[i] = bs.index_of(k)
    cats = np.array(list(TEXTS))
    category = cats[rng.integers(len(cats), size=n)]
    pick = rng.integers(2, size=n)
    text = np.array([TEXTS[c][p] for c, p in zip(category, pick, strict=True)], dtype=object)
    extra = rng.random(n) < 0.05
    text[extra] = np.array(EXTRA_TEXTS, dtype=object)[
        rng.integers(len(EXTRA_TEXTS), size=int(extra.sum()))
    ]
    given = category.astype(object)
    given[rng.random(n) < 0.1] = None  # no category: inferred from the text
    names = bs.names[claimed_row].astype(object)
    style = rng.random(n)
    names = np.where(style < 0.07, np.char.upper(names.astype(str)).astype(object), names)
    names = np.where(
        (style >= 0.07) & (style < 0.12),
        np.char.add("Kel. ", names.astype(str)).astype(object),
        names,
    )
    lon_out, lat_out = lon.copy(), lat.copy()
    u = rng.random(n)
    swap = u < 0.03
    lon_out[swap], lat_out[swap] = lat[swap], lon[swap]
    sign = (u >= 0.03) & (u < 0.05)
    lat_out[sign] = -lat[sign]
    out = (u >= 0.05) & (u < 0.08)
    where = OUTSIDE[rng.integers(len(OUTSIDE), size=int(out.sum()))]
    lon_out[out] = where[:, 0] + rng.normal(0, 0.01, int(out.sum()))
    lat_out[out] = where[:, 1] + rng.normal(0, 0.01, int(out.sum()))
    lon_s = np.char.mod("%.6f", lon_out).astype(object)
    lat_s = np.char.mod("%.6f", lat_out).astype(object)
    g = rng.random(n)
    lon_s[g < 0.01], lat_s[g < 0.01] = "", ""
    garbage = (g >= 0.01) & (g < 0.015)
    lon_s[garbage], lat_s[garbage] = "tidak tahu", "?"
    start = np.datetime64("2026-11-02T07:00")
    created = start + (np.arange(n) * 37 % (30 * 24 * 60)).astype("timedelta64[m]")
    created_s = np.char.add(np.datetime_as_string(created, unit="s").astype(str), "+07:00")
    created_s = created_s.astype(object)
    created_s[rng.random(n) < 0.01] = ""
    rg = RuleGraph.default(bs)
    unit_of: dict[tuple[str, str], str] = {}
    current = np.empty(n, dtype=object)
    for i, (c, k) in enumerate(zip(category, bs.codes[claimed_row], strict=True)):
        key = (str(c), str(k))
        if key not in unit_of:
            ranked = rg.matching_rules(*key)
            unit_of[key] = ranked[0][1] if ranked else ""
        current[i] = unit_of[key]
    private = rng.random(n) < 0.7  # JAKI reports are private by default since 2021
    who = rng.integers(len(NAMES), size=n)
    return pd.DataFrame(
        {
            "report_id": [
                f"JK{d.replace('-', '')[2:]}{i % 10000:04d}"
                for i, d in enumerate(np.datetime_as_string(created, unit="D").astype(str))
            ],
            "created_at": created_s,
            "lon": lon_s,
            "lat": lat_s,
            "accuracy_m": rng.choice([5, 10, 20, 50, 150], n),
            "claimed_kelurahan": names,
            "category": given,
            "text": text,
            "current_unit": current,
            "private": np.where(private, "true", "false"),
            "reporter_name": np.array(NAMES, dtype=object)[who],
            "reporter_phone": [f"08{rng.integers(10**9, 10**10)}" for _ in range(n)]
            if n <= 1_000_000
            else "081200000000",
        }
    )


BROKEN = [
    b'JK0000000000,2026-11-03T10:00:00+07:00,106.8,-6.2,10,"Gambir,garbage,"kutipan tak tertutup\n',
    b"JK0000000001,2026-11-03T10:00:00+07:00,106.8,-6.2,10,Gambir,garbage,terlalu,banyak,kolom\n",
    b"JK0000000002,2026-11-03T10:00:00+07:00,106.8,-6.2,10,Gambir,garbage,bukan utf8 \xff\xfe\n",
    b"\n",
    b"JK0000000003,2026-11-03T10:00:00+07:00,106.8\n",
    b'JK0000000004,2026-11-03T10:00:00+07:00,106.8,-6.2,10,Gambir,garbage,"teks "aneh" x",'
    b"kelurahan@31.71.01.1001,false,Budi,0812\n",
]


def write_csv(frame: pd.DataFrame, path: Path, broken: int = 0, seed: int = 1) -> None:
    """Write ``frame`` as CSV with ``broken`` raw broken lines spread through it."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    lines = buf.getvalue().encode("utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    rng = np.random.default_rng(seed)
    at = np.sort(rng.choice(len(body) + 1, size=broken, replace=True)) if broken else []
    with open(path, "wb") as fh:
        fh.write(header)
        j = 0
        for i, line in enumerate(body):
            while j < len(at) and at[j] == i:
                fh.write(BROKEN[j % len(BROKEN)])
                j += 1
            fh.write(line)
        for k in range(j, len(at)):
            fh.write(BROKEN[k % len(BROKEN)])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("-o", "--output", type=Path, default=Path("reports.csv"))
    parser.add_argument("--boundaries", type=Path, default=DEFAULT_BOUNDARIES)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--broken", type=int, default=0, help="raw broken lines to add")
    parser.add_argument("--fast", action="store_true", help="skip realistic claim modelling")
    args = parser.parse_args()
    frame = generate(args.n, args.boundaries, args.seed, args.fast)
    write_csv(frame, args.output, args.broken, args.seed)
    print(f"wrote {args.n} reports (+{args.broken} broken lines) to {args.output}")


if __name__ == "__main__":
    main()
