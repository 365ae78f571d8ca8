"""Throughput of PlaceFinder.find_many on complaint-like texts, and (with --csv) how well it
reads the places of a labelled complaint file.

Speed: --texts distinct synthetic texts of 80-300 characters (seeded, lengths spread
evenly), written the ways citizens write: prefixed and bare kelurahan/kecamatan names,
abbreviations and typos, RT/RW shapes,
streets, and texts that name no place at all. Reports texts per second (median of
--repeat runs, find_many remembers texts within one call only).

Quality: a CSV with columns id,text,...,kelurahan,kecamatan,rt,rw,street (blank where the
text names none). Per field: precision (right answers / answers given) and recall (right
answers / labelled values); names compare by name key, streets case- and dot-blind.

    python benchmarks/bench_places.py [--texts 200000] [--repeat 3] [--streets 5000]
        [--chars 80 300] [--csv FILE]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lapor_router._data import registry
from lapor_router.normalize import NamedPlace, PlaceFinder, name_key

FIELDS = ("kelurahan", "kecamatan", "rt", "rw", "street")

OPENINGS = [
    "Lapor pak,",
    "Mohon bantuannya,",
    "Selamat siang admin,",
    "Tolong ditindak,",
    "Warga mengeluhkan",
    "Sudah seminggu",
    "",
]
PROBLEMS = [
    "jalan rusak parah dan berlubang",
    "sampah menumpuk tidak diangkut",
    "lampu jalan mati sejak kemarin malam",
    "saluran air mampet sehingga banjir setiap hujan",
    "pohon tumbang menghalangi jalan",
    "parkir liar membuat macet",
    "pedagang kaki lima berjualan di trotoar",
    "genangan air tidak surut",
    "got tersumbat dan bau menyengat",
    "kabel menjuntai berbahaya bagi pengendara",
]
CLOSINGS = [
    "Mohon segera diperbaiki, terima kasih.",
    "Sudah dilaporkan ke pihak kelurahan tapi belum ada tindakan.",
    "Warga sangat resah.",
    "Terima kasih atas perhatiannya.",
    "Kejadian ini sudah berlangsung sejak bulan lalu dan makin parah setiap hari.",
    "Tolong dicek ke lokasi, kasihan anak-anak yang lewat setiap pagi ke sekolah.",
    "",
]
STREET_WORDS = ["Raya", "H.", "Haji", "Kampung", "Masjid", "Baru", "Swadaya", "Pemuda", "Nirbaya"]
ROMAN = ["", "", "", " II", " III", " IV", " VII", " XIII"]


def _street(rng: random.Random, kel: list[str]) -> str:
    words = [*rng.sample(STREET_WORDS, rng.randint(0, 2)), rng.choice(kel).split()[0]]
    return " ".join(words) + rng.choice(ROMAN)


def _place(rng: random.Random, kel: list[str], kec: list[str], streets: list[str]) -> str:
    parts = []
    if rng.random() < 0.6:
        prefix = rng.choice(["kel.", "Kel", "kelurahan", "KEL.", "di", "warga", ""])
        name = rng.choice(kel)
        if rng.random() < 0.05:  # a typo
            i = rng.randrange(len(name))
            name = name[:i] + name[i + 1 :]
        parts.append(f"{prefix} {name}".strip())
    if rng.random() < 0.4:
        parts.append(f"{rng.choice(['kec.', 'Kec', 'kecamatan'])} {rng.choice(kec)}")
    if rng.random() < 0.5:
        rt, rw = rng.randint(1, 20), rng.randint(1, 15)
        parts.append(
            rng.choice([f"RT {rt:02d}/{rw:02d}", f"rt {rt} rw {rw}", f"RT.{rt:03d}/RW.{rw:03d}"])
        )
    if rng.random() < 0.5:
        marker = rng.choice(["Jl.", "jln", "jalan", "gg.", "Jl"])
        parts.append(f"{marker} {rng.choice(streets)} no {rng.randint(1, 200)}")
    rng.shuffle(parts)
    return ", ".join(parts)


def synthetic_texts(
    n: int, seed: int = 7, streets: int = 5000, sizes: tuple[int, int] = (80, 300)
) -> list[str]:
    """``n`` distinct complaint-like texts, their lengths spread evenly over ``sizes``, the
    streets drawn from a city of ``streets`` street names."""
    rows = list(registry().values())
    kel = [r["kelurahan"] for r in rows]
    kec = sorted({r["kecamatan"] for r in rows})
    rng = random.Random(seed)
    city = sorted({_street(rng, kel) for _ in range(2 * streets)})[:streets]
    texts = []
    for i in range(n):
        size = rng.randint(*sizes)
        place = _place(rng, kel, kec, city) if rng.random() < 0.8 else ""
        text = " ".join(
            p
            for p in (
                rng.choice(OPENINGS),
                rng.choice(PROBLEMS),
                place and f"di {place}.",
                rng.choice(CLOSINGS),
            )
            if p
        )
        while len(text) < size:
            text += " " + rng.choice(PROBLEMS + CLOSINGS)
        tag = f" (laporan {i})"
        texts.append(text[: size - len(tag)] + tag)
    return texts


def speed(
    make: Callable[[], PlaceFinder], n: int, repeat: int, streets: int, sizes: tuple[int, int]
) -> None:
    texts = synthetic_texts(n, streets=streets, sizes=sizes)
    assert len(set(texts)) == n
    sizes = [len(t) for t in texts]
    print(f"{n} distinct texts, {min(sizes)}-{max(sizes)} characters "
          f"(mean {statistics.mean(sizes):.0f}), streets from a pool of {streets}")  # fmt: skip
    make().find_many(synthetic_texts(1000, seed=1))  # warm up the interpreter
    for label, fresh in (("new finder each run", True), ("one finder, warm", False)):
        finder = make()
        times = []
        for _ in range(repeat):
            if fresh:
                finder = make()
            t0 = time.perf_counter()
            finder.find_many(texts)
            times.append(time.perf_counter() - t0)
        median, best = statistics.median(times), min(times)
        print(f"find_many, {label}: {n / median:,.0f} texts/s "
              f"(median of {repeat}; best {n / best:,.0f})")  # fmt: skip


def _same(field: str, got: str | None, want: str) -> bool:
    if got is None:
        return False
    if field in ("kelurahan", "kecamatan"):
        return name_key(got) == name_key(want)
    if field == "street":
        return re.sub(r"[^a-z0-9]+", "", got.lower()) == re.sub(r"[^a-z0-9]+", "", want.lower())
    return got.lstrip("0") == want.strip().lstrip("0")


def quality(make: Callable[[], PlaceFinder], path: Path, n: int) -> None:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    many = [f"{texts[i % len(texts)]} (#{i})" for i in range(n)]  # distinct copies
    t0 = time.perf_counter()
    make().find_many(many)
    rate = n / (time.perf_counter() - t0)
    print(f"{path}: {len(rows)} texts; {n} distinct copies: {rate:,.0f} texts/s (new finder)")
    for split in (None, *sorted({r.get("split", "") for r in rows} - {""})):
        chosen = [r for r in rows if split is None or r.get("split") == split]
        _table(make().find_many([r["text"] for r in chosen]), chosen, split or "all")


def _table(found: list[NamedPlace], rows: list[dict[str, str]], label: str) -> None:
    print(f"{label}: {len(rows)} texts")
    print(f"{'field':<10} {'labelled':>8} {'given':>6} {'right':>6} {'precision':>9} {'recall':>7}")
    for field in FIELDS:
        labelled = given = right = 0
        for row, place in zip(rows, found, strict=True):
            want = (row.get(field) or "").strip()
            got = getattr(place, field)
            labelled += bool(want)
            given += got is not None
            right += bool(want) and _same(field, got, want)
        precision = right / given if given else float("nan")
        recall = right / labelled if labelled else float("nan")
        print(f"{field:<10} {labelled:>8} {given:>6} {right:>6} {precision:>9.3f} {recall:>7.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--streets", type=int, default=5000, help="street names in the city")
    parser.add_argument("--chars", type=int, nargs=2, default=(80, 300), help="text lengths")
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = list(registry().values())

    def make() -> PlaceFinder:
        return PlaceFinder([r["kelurahan"] for r in rows], [r["kecamatan"] for r in rows])

    t0 = time.perf_counter()
    make()
    print(f"PlaceFinder built in {(time.perf_counter() - t0) * 1000:.1f} ms")
    speed(make, args.texts, args.repeat, args.streets, tuple(args.chars))
    if args.csv is not None:
        quality(make, args.csv, args.texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
