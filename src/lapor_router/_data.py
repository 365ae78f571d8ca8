"""Where boundary data lives: the data directory, the manifest, installation and the registry."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ChecksumError, DataError, DataNotInstalledError

ENV_VAR = "LAPOR_ROUTER_DATA"
SUBDIR = "kelurahan_boundaries"


def data_dir() -> Path:
    """Directory holding installed boundary files: ``$LAPOR_ROUTER_DATA`` or a per-user dir."""
    env = os.environ.get(ENV_VAR)
    base = Path(env) if env else Path(platformdirs.user_data_dir("lapor_router"))
    return base / SUBDIR


def _packaged_dir() -> Path:
    """The committed manifest/registry directory (wheel copy, else the source checkout)."""
    wheel = Path(str(resources.files("lapor_router"))) / "_data" / SUBDIR
    if (wheel / "manifest.toml").is_file():
        return wheel
    checkout = Path(__file__).resolve().parents[2] / "data" / SUBDIR
    if (checkout / "manifest.toml").is_file():
        return checkout
    raise DataError(f"lapor_router's manifest.toml is missing (looked in {wheel} and {checkout})")


@cache
def manifest() -> dict[str, Any]:
    """The parsed ``manifest.toml``."""
    with open(_packaged_dir() / "manifest.toml", "rb") as fh:
        return tomllib.load(fh)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class InstalledFile:
    name: str
    path: Path
    sha256: str
    status: str  # "installed" | "already installed"


def set_files(set_name: str) -> dict[str, str]:
    """Role → file name of one manifest set (roles: kelurahan, kecamatan, kota, province)."""
    sets = manifest()["sets"]
    if set_name not in sets:
        raise DataError(f"unknown boundary set {set_name!r}; the manifest knows {sorted(sets)}")
    roles = ("kelurahan", "kecamatan", "kota", "province")
    return {r: sets[set_name][r] for r in roles if r in sets[set_name]}


def install(
    src_dir: str | Path, sets: list[str] | None = None, dest_dir: Path | None = None
) -> list[InstalledFile]:
    """Copy the files of ``sets`` (default: every non-optional set) from ``src_dir``.

    Each file is verified against the manifest's sha256 before it is moved into place, so
    the data directory never holds a file that looks installed but is not the release.
    Raises :class:`DataError` for a missing file and :class:`ChecksumError` for a mismatch.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise DataError(f"{src}: not a directory")
    man = manifest()
    chosen = sets or [n for n, s in man["sets"].items() if not s.get("optional", False)]
    names: list[str] = []
    for s in chosen:
        names += [f for f in set_files(s).values() if f not in names]
    dest = dest_dir or data_dir()
    dest.mkdir(parents=True, exist_ok=True)
    done: list[InstalledFile] = []
    for name in names:
        expected = man["files"][name]["sha256"]
        source = src / name
        if not source.is_file():
            raise DataError(f"{source}: not found (needed by boundary set(s) {chosen})")
        target = dest / name
        if target.is_file() and sha256_file(target) == expected:
            done.append(InstalledFile(name, target, expected, "already installed"))
            continue
        tmp = dest / f".{name}.partial"
        shutil.copyfile(source, tmp)
        actual = sha256_file(tmp)
        if actual != expected:
            tmp.unlink()
            raise ChecksumError(source, expected, actual)
        os.replace(tmp, target)
        done.append(InstalledFile(name, target, expected, "installed"))
    return done


def installed_path(name: str) -> Path:
    """Path of an installed manifest file, or :class:`DataNotInstalledError`."""
    path = data_dir() / name
    if not path.is_file():
        raise DataNotInstalledError(
            f"{path} is not installed; run `lapor-router data install "
            f"../shared/data/kelurahan_boundaries` (or set {ENV_VAR})"
        )
    return path


@dataclass(frozen=True)
class Region:
    kode: str
    nama: str
    level: str


@cache
def regions() -> dict[str, Region]:
    """Committed province/kota/kecamatan names keyed by Kemendagri code."""
    with open(_packaged_dir() / "regions.csv", encoding="utf-8", newline="") as fh:
        return {r["kode"]: Region(r["kode"], r["nama"], r["level"]) for r in csv.DictReader(fh)}


@cache
def registry() -> dict[str, dict[str, str]]:
    """Committed rows of Jakarta's 267 kelurahan (code, names, hierarchy), keyed by code."""
    with open(_packaged_dir() / "registry.csv", encoding="utf-8", newline="") as fh:
        return {r["kode"]: r for r in csv.DictReader(fh)}
