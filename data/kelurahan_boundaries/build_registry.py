"""Write registry.csv and regions.csv from the attribute columns of a boundary source.

Only codes and names (public administrative facts) are written, never geometry, so that
names and the kelurahan → kecamatan → kota hierarchy work without any boundary file.

    python data/kelurahan_boundaries/build_registry.py ../shared/data/kelurahan_boundaries
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).parent

# Kemendagri kab/kota codes of Jakarta's neighbour provinces (Jawa Barat 32, Banten 36), so a
# point outside Jakarta can be named by the government that serves it.
NEIGHBOUR_KOTA = {
    "32": "Provinsi Jawa Barat",
    "32.01": "Kabupaten Bogor",
    "32.02": "Kabupaten Sukabumi",
    "32.03": "Kabupaten Cianjur",
    "32.04": "Kabupaten Bandung",
    "32.05": "Kabupaten Garut",
    "32.06": "Kabupaten Tasikmalaya",
    "32.07": "Kabupaten Ciamis",
    "32.08": "Kabupaten Kuningan",
    "32.09": "Kabupaten Cirebon",
    "32.10": "Kabupaten Majalengka",
    "32.11": "Kabupaten Sumedang",
    "32.12": "Kabupaten Indramayu",
    "32.13": "Kabupaten Subang",
    "32.14": "Kabupaten Purwakarta",
    "32.15": "Kabupaten Karawang",
    "32.16": "Kabupaten Bekasi",
    "32.17": "Kabupaten Bandung Barat",
    "32.18": "Kabupaten Pangandaran",
    "32.71": "Kota Bogor",
    "32.72": "Kota Sukabumi",
    "32.73": "Kota Bandung",
    "32.74": "Kota Cirebon",
    "32.75": "Kota Bekasi",
    "32.76": "Kota Depok",
    "32.77": "Kota Cimahi",
    "32.78": "Kota Tasikmalaya",
    "32.79": "Kota Banjar",
    "36": "Provinsi Banten",
    "36.01": "Kabupaten Pandeglang",
    "36.02": "Kabupaten Lebak",
    "36.03": "Kabupaten Tangerang",
    "36.04": "Kabupaten Serang",
    "36.71": "Kota Tangerang",
    "36.72": "Kota Cilegon",
    "36.73": "Kota Serang",
    "36.74": "Kota Tangerang Selatan",
}


def _names(path: Path) -> dict[str, str]:
    table = pq.read_table(path, columns=["kode", "nama"])
    return dict(zip(table["kode"].to_pylist(), table["nama"].to_pylist(), strict=True))


def main(src: Path) -> None:
    kel = _names(src / "jakarta_kel.parquet")
    kec = _names(src / "jakarta_kec.parquet")
    kota = _names(src / "jakarta_kab.parquet")
    prov = _names(src / "jakarta_prov.parquet")
    with open(HERE / "registry.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "kode",
                "kelurahan",
                "kecamatan_kode",
                "kecamatan",
                "kota_kode",
                "kota",
                "provinsi_kode",
                "provinsi",
            ]
        )
        for code in sorted(kel):
            w.writerow(
                [
                    code,
                    kel[code],
                    code[:8],
                    kec[code[:8]],
                    code[:5],
                    kota[code[:5]],
                    code[:2],
                    prov[code[:2]],
                ]
            )
    with open(HERE / "regions.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["kode", "nama", "level"])
        rows = {**prov, **kota, **kec, **NEIGHBOUR_KOTA}
        for code in sorted(rows):
            level = {2: "provinsi", 5: "kabupaten_kota", 8: "kecamatan"}[len(code)]
            w.writerow([code, rows[code], level])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
