"""Checkpoints of a file run: the input's fingerprint, the counts of each completed chunk
(:class:`Tally`), atomic saves of the progress file, the lock on an output and the check
that its folder can be written."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import BatchError
from ..normalize import distinct_values, is_present, objects, private_flag
from ..normalize.strings import arrow_text


@dataclass
class Tally:
    """Counts that add up across chunks (and across an interrupted and a resumed run)."""

    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rows_rerouted: int = 0
    rows_private: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_flag: Counter[str] = field(default_factory=Counter)
    by_unit: Counter[str] = field(default_factory=Counter)
    rerouted_kelurahan: Counter[str] = field(default_factory=Counter)
    rerouted_unit: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)

    def _items(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def add(self, other: Tally) -> None:
        for k, v in other._items().items():
            if isinstance(v, dict):
                getattr(self, k).update(v)
            else:
                setattr(self, k, getattr(self, k) + v)

    @classmethod
    def of(
        cls,
        routed: pd.DataFrame,
        rejects: list[dict[str, Any]],
        read: int,
        claimed_col: str | None,
        unit_col: str | None,
        private_col: str | None = None,
    ) -> Tally:
        t = cls(rows_read=read, rows_written=len(routed), rows_rejected=len(rejects))
        # each count once per distinct value, weighted by how often it occurs
        if private_col:
            t.rows_private = sum(
                n for v, n in _distinct_counts(routed[private_col]) if private_flag(v) is not False
            )
        for status, n in _distinct_counts(routed["location_status"]):
            t.by_status[status] += n
        for flags, n in _distinct_counts(routed["flags"]):
            for f in flags:
                t.by_flag[f] += n
        for unit, n in _distinct_counts(routed["unit_id"]):
            t.by_unit[unit if isinstance(unit, str) else "(none)"] += n
        # the rerouted rows, and of them only the columns counted (not the whole frame)
        rr = np.flatnonzero(routed["reroute"].to_numpy(dtype=bool))
        t.rows_rerouted = len(rr)

        def at(column: str, rows: np.ndarray) -> pd.Series:
            return routed[column].iloc[rows]

        # once per distinct value, not per row
        flags = routed["flags"].to_numpy(dtype=object)[rr]
        fcodes, fsets = pd.factorize(flags, use_na_sentinel=False)
        mismatch = np.array(["claimed_mismatch" in f for f in fsets], dtype=bool)
        kel = rr[mismatch[fcodes]] if len(fsets) else rr[:0]
        t.rerouted_kelurahan.update(
            _pair_counts(at("claimed_kode", kel), at("kelurahan_kode", kel), str, str)
        )
        if unit_col:
            current = _per_value(at(unit_col, rr), _lower_present)
            new_id = _per_value(at("unit_id", rr), _lower_text)
            new_name = _per_value(at("unit_name", rr), _lower_text)
            unit = rr[(current != "") & (current != new_id) & (current != new_name)]
            t.rerouted_unit.update(
                _pair_counts(at(unit_col, unit), at("unit_id", unit), str, _unit_or_outside)
            )
        t.reject_reasons.update(r["reject_reason"].split(":")[0] for r in rejects)
        return t

    def counts(self) -> dict[str, Any]:
        """The counts as plain JSON values, in no order (for a checkpoint; :meth:`from_dict`
        reads them back)."""
        return {k: dict(v) if isinstance(v, dict) else v for k, v in self._items().items()}

    def as_dict(self) -> dict[str, Any]:
        """The counts as a summary shows them: each table largest first."""
        return {
            k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) if isinstance(v, dict) else v
            for k, v in self._items().items()
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tally:
        t = cls()
        for k, v in d.items():
            if isinstance(getattr(t, k), Counter):
                getattr(t, k).update(v)
            else:
                setattr(t, k, v)
        return t


def _lower_present(v: Any) -> str:
    return str(v).strip().lower() if is_present(v) else ""


def _lower_text(v: Any) -> str:
    return v.lower() if isinstance(v, str) else ""


def _unit_or_outside(u: Any) -> str:
    return u if isinstance(u, str) else "(outside Jakarta)"


def _cells(values: pd.Series) -> np.ndarray | pa.Array:
    """A column as :func:`distinct_values` takes it: Arrow text as it is (nulls: None),
    any other as objects."""
    text = arrow_text(values)
    return text if text is not None else values.to_numpy(dtype=object)


def _per_value(values: pd.Series, f: Callable[[Any], Any]) -> np.ndarray:
    """``f`` of each cell, computed once per distinct value (:func:`distinct`)."""
    codes, uniques = distinct_values(_cells(values))
    out: np.ndarray = objects([f(u) for u in uniques])[codes]
    return out


def _pair_counts(
    left: pd.Series, right: pd.Series, f: Callable[[Any], str], g: Callable[[Any], str]
) -> Counter[str]:
    """How many rows hold each ``f(left) → g(right)``, counted per distinct pair."""
    ca, ua = distinct_values(_cells(left))
    cb, ub = distinct_values(_cells(right))
    out: Counter[str] = Counter()
    if not len(ca):
        return out
    ta, tb = [f(u) for u in ua], [g(u) for u in ub]
    keys, counts = np.unique(ca * len(ub) + cb, return_counts=True)
    for k, n in zip(keys.tolist(), counts.tolist(), strict=True):
        out[f"{ta[k // len(ub)]} → {tb[k % len(ub)]}"] += n
    return out


def _distinct_counts(values: pd.Series) -> list[tuple[Any, int]]:
    """Each distinct cell (None and NaN as one missing value, None) with its count."""
    text = arrow_text(values)
    if text is not None:  # hashed by Arrow, nulls one value (None)
        tcodes, found = distinct_values(text)
        tcounts = np.bincount(tcodes, minlength=len(found)).tolist()
        return [(u, c) for u, c in zip(found, tcounts, strict=True) if c]
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1).tolist()
    out = [(u, c) for u, c in zip(uniques, counts[1:], strict=True) if c]
    return [(None, counts[0]), *out] if counts[0] else out


def fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(1 << 16)).hexdigest()
    return {
        "path": str(path.resolve()),
        "bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "head_sha256": head,
    }


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def writable_folder(path: Path) -> None:
    """Raise :class:`BatchError` unless files can be created beside ``path`` (checked by
    creating one), so that a run never routes a whole file to fail at its last step."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise BatchError(f"{path}: is a folder, not a file name")
    if not folder.is_dir():
        raise BatchError(f"{folder}: no such folder (for {path.name})")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lapor-router-probe-"):
            pass
    except OSError as exc:
        raise BatchError(f"{folder}: cannot write there ({exc.strerror or exc})") from exc


def _holder(lock: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process that took a lock still runs (assumed when it ran elsewhere)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, ValueError, TypeError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def output_lock(dest: Path) -> Iterator[Path]:
    """Hold ``DEST.lock`` (its holder's pid and host) while a run writes ``dest``. A second
    run is refused with the holder named; a lock left by a process that no longer runs
    (kill -9) is taken over."""
    lock = dest.with_name(dest.name + ".lock")
    mine = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is None or _alive(holder):
                who = (
                    f"process {holder.get('pid')} on {holder.get('host')}"
                    if holder
                    else "another run (its lock file is being written or is unreadable)"
                )
                raise BatchError(
                    f"{dest}: {who} is writing this output (lock {lock.name}); wait for it "
                    "to finish, or delete the lock file if that run is gone"
                ) from None
            lock.unlink(missing_ok=True)  # its holder is gone
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(mine, fh)
        break
    else:
        raise BatchError(f"{dest}: could not take the lock {lock.name}")
    try:
        yield lock
    finally:
        if _holder(lock) == mine:
            lock.unlink(missing_ok=True)
