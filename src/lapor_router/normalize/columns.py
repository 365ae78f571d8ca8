"""Which columns of a report table hold what: named by the caller, or guessed from the
names real exports use (``lon``/``longitude``/``bujur``, ``kategori``, ``deskripsi``...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BatchError
from ..privacy import is_identity_column

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "ya", "private", "privat", "on", "rahasia"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "tidak", "public", "publik", "off", "umum"})


def private_flag(value: Any) -> bool | None:
    """A private column's cell as a flag: True, False (also blank), or None when it cannot
    be read (which callers treat as private)."""
    if value is None or value != value:
        return False
    word = str(value).strip().lower()
    if not word or word in FALSE_WORDS:
        return False
    return True if word in TRUE_WORDS else None


_GUESSES = {
    "lon": ("lon", "longitude", "lng", "long", "x", "bujur"),
    "lat": ("lat", "latitude", "y", "lintang"),
    "category": ("category", "kategori", "service_code"),
    "text": ("text", "description", "deskripsi", "isi", "keterangan", "laporan"),
    "claimed": ("claimed_kelurahan", "claimed", "kelurahan", "kelurahan_kode"),
    "accuracy": ("accuracy_m", "accuracy", "akurasi"),
    "created_at": ("created_at", "created", "requested_datetime", "tanggal", "waktu"),
    "unit": ("unit", "unit_id", "current_unit", "agency_responsible"),
    "private": ("private", "privat", "is_private"),
    "report_id": ("report_id", "service_request_id", "id"),
}


@dataclass(frozen=True)
class Columns:
    """Which input columns hold what. None: guess from common names (see ``_GUESSES``).

    ``reporter``: the columns that identify the reporter; columns whose names say so
    (``nama_pelapor``, ``no_hp``, ``email``, ``nik``... see
    :data:`lapor_router.privacy.IDENTITY_COLUMNS`) are added to those given."""

    lon: str | None = None
    lat: str | None = None
    category: str | None = None
    text: str | None = None
    claimed: str | None = None
    accuracy: str | None = None
    created_at: str | None = None
    unit: str | None = None
    private: str | None = None
    report_id: str | None = None
    reporter: tuple[str, ...] = ()

    def resolve(self, names: Sequence[str]) -> Columns:
        """Explicit names checked against ``names``; the others guessed."""
        lower = {n.lower(): n for n in names}
        chosen: dict[str, Any] = {}
        for key, guesses in _GUESSES.items():
            given = getattr(self, key)
            if given is not None:
                if given not in names:
                    raise BatchError(
                        f"column {given!r} (for {key}) is not in the input; columns: {list(names)}"
                    )
                chosen[key] = given
            else:
                chosen[key] = next((lower[g] for g in guesses if g in lower), None)
        missing = [c for c in self.reporter if c not in names]
        if missing:
            raise BatchError(f"reporter column(s) {missing} are not in the input")
        roles = set(chosen.values())
        guessed = [
            n for n in names if is_identity_column(n) and n not in roles and n not in self.reporter
        ]
        return Columns(**chosen, reporter=(*self.reporter, *guessed))
