"""The locator: which kelurahan contains each point, and how sure we are.

The work is done on numpy arrays in three steps, each readable and testable alone:

1. spatial query: one compiled pass (:mod:`.kernels`) checks every point and looks it up
   in the coverage quadtree (:mod:`.quadtree`), which answers most points outright; points
   in exact cells are tested against their cells' candidates with GEOS' point-in-polygon
   rules (``Index.settle``). The unaccelerated reference path asks an STRtree (a
   bulk-loaded, packed R-tree) and shapely predicates instead (``Index.covering``);
2. resolution: the status and chosen kelurahan of every point (``_resolve``), including
   coordinate corrections, gaps (``Index.within``), GPS accuracy circles, claimed names
   and context areas;
3. presentation: a pandas DataFrame (:meth:`Locator.locate_many`) or one frozen
   :class:`Location` (:meth:`Locator.locate`, a thin wrapper over the same path).

Distances and areas are computed in metres in the UTM zone of each point (EPSG:32748 for
all of Jakarta).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from .. import _data
from ..errors import CoordinateError, DataNotInstalledError
from ..normalize import (
    MISSING,
    NOT_FINITE,
    OUT_OF_RANGE,
    REASONS,
    as_array,
    coerce_floats,
    distinct_values,
    name_key,
    scalar,
)
from ..normalize.strings import arrow_text
from . import quadtree
from .boundaries import BoundarySet, load_boundaries, load_installed, normalize_code, transformer
from .codes import GAP, INVALID, OUTSIDE, OVERLAP, STATUSES
from .index import Index, categorical_parts, utm_epsg
from .named import PlaceMatcher, TextPlaces

_EMPTY: frozenset[str] = frozenset()
#: The flags locating may set, one bit each in a row's flag mask (``cols["flags"]``).
LOCATE_FLAGS = (
    "swapped_coordinates",
    "latitude_sign_corrected",
    "invalid_coordinates",
    "invalid_accuracy",
    "near_boundary",
    "claimed_mismatch",
    "claimed_ambiguous",
    "claimed_unknown",
)
_BIT = {name: np.uint16(1 << k) for k, name in enumerate(LOCATE_FLAGS)}


@cache
def _flag_set(mask: int) -> frozenset[str]:
    """The flags of one mask."""
    return frozenset(name for name, bit in _BIT.items() if mask & int(bit))


def _flag(flags: np.ndarray, rows: np.ndarray | int, *names: str) -> None:
    """Set ``names`` on ``rows`` of a flag-mask column, in place."""
    for name in names:
        flags[rows] |= _BIT[name]


_CIRCLE_SEGMENTS = 16  # per quarter circle; the polygon's own area is used for shares
_FUZZY_CUTOFF = 0.8
_FUZZY_MARGIN = 0.05


@dataclass(frozen=True)
class Location:
    """Where a point is, and how sure we are.

    ``lon``/``lat`` are the degrees actually used (after any flagged correction).
    ``status`` is one of ``inside``, ``overlap``, ``gap``, ``outside``, ``invalid``.
    ``distance_m`` is the distance in metres to the chosen kelurahan (0 when covered).
    ``accuracy_shares`` lists, for a GPS accuracy circle, each kelurahan it touches with
    its share of the circle's area (0..1), largest first.
    """

    lon: float | None
    lat: float | None
    kode: str | None
    nama: str | None
    kecamatan_kode: str | None
    kecamatan: str | None
    kota_kode: str | None
    kota: str | None
    provinsi_kode: str | None
    provinsi: str | None
    status: str
    candidates: tuple[str, ...]
    distance_m: float | None
    flags: frozenset[str]
    claimed_kode: str | None
    accuracy_shares: tuple[tuple[str, float], ...]
    external_kode: str | None
    external_nama: str | None
    external_kota: str | None
    invalid_reason: str | None
    boundary_set: str


COLUMNS = tuple(f.name for f in fields(Location))


class Locator:
    """Locates report coordinates in a boundary set. :class:`lapor_router.Router` adds
    routing on top; use that.

    >>> router = Router.default()            # installed Jakarta set
    >>> router.locate(106.8272, -6.1754).nama  # Monas
    'Gambir'
    """

    def __init__(
        self,
        boundaries: BoundarySet | str | Path,
        context: BoundarySet | str | Path | None = None,
        gap_tolerance_m: float = 100.0,
        accelerate: bool = True,
    ) -> None:
        self.boundaries = (
            boundaries if isinstance(boundaries, BoundarySet) else load_boundaries(boundaries)
        )
        self.gap_tolerance_m = float(gap_tolerance_m)
        self.accelerate = accelerate
        self._index = Index(self.boundaries, accelerate, self.gap_tolerance_m)
        self._context_source = context
        self._context: Index | None = None
        self._context_lock = threading.Lock()
        self._name_rows: dict[str, tuple[int, ...]] = {}
        for i, name in enumerate(self.boundaries.names.tolist()):
            key = name_key(name)
            self._name_rows[key] = (*self._name_rows.get(key, ()), i)
        self._name_keys = list(self._name_rows)
        self._places: PlaceMatcher | None = None
        self._match_claim = lru_cache(maxsize=65536)(self._match_claim_uncached)
        bs = self.boundaries
        self._inside: list[tuple[Any, ...]] = [
            (
                *bs.hierarchy(i),
                "inside",
                (str(bs.codes[i]),),
                0.0,
                _EMPTY,
                None,
                (),
                None,
                None,
                None,
                None,
                bs.id,
            )
            for i in range(len(bs))
        ]
        self._singletons = np.empty(len(bs) + 1, dtype=object)
        self._singletons[:] = [(c,) for c in bs.codes.tolist()] + [()]
        self._code_tuples: dict[tuple[int, ...], tuple[str, ...]] = {}
        self._set_dtype = pd.CategoricalDtype(pd.Index([bs.id]))
        self._categories = {
            name: categorical_parts(getattr(bs, attr))
            for name, attr in (
                ("kode", "codes"),
                ("nama", "names"),
                ("kecamatan_kode", "kecamatan_codes"),
                ("kecamatan", "kecamatan_names"),
                ("kota_kode", "kota_codes"),
                ("kota", "kota_names"),
                ("provinsi_kode", "provinsi_codes"),
                ("provinsi", "provinsi_names"),
            )
        }

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without locks, caches or the tree (rebuilt on unpickling, e.g. on a dask
        worker); a context set already loaded travels as data, not as a path."""
        state = self.__dict__.copy()
        for key in ("_index", "_context_lock", "_match_claim", "_context", "_places"):
            state.pop(key, None)
        if self._context is not None:
            state["_context_source"] = self._context.bs
        # built accelerators travel: workers need no cache and no rebuild
        state["_quadtree"], state["_bands"] = self._index._qt, self._index._bands
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        qt, bands = state.pop("_quadtree", None), state.pop("_bands", None)
        self.__dict__.update(state)
        self._index = Index(self.boundaries, self.accelerate, self.gap_tolerance_m)
        self._index._qt, self._index._bands = qt, bands
        self._context = None
        self._context_lock = threading.Lock()
        self._match_claim = lru_cache(maxsize=65536)(self._match_claim_uncached)
        self._places = None

    @classmethod
    def default(
        cls, *, context: bool | None = None, gap_tolerance_m: float = 100.0, **kwargs: Any
    ) -> Self:
        """The installed default (Jakarta) set; with context boundaries when installed.

        ``context=None`` uses the installed context set (Jawa Barat/Banten/DKI desa) if
        present, loaded lazily on the first point outside Jakarta; ``True`` requires it.
        Raises :class:`~lapor_router.errors.DataNotInstalledError` when files are missing.
        """
        ctx: Path | None = None
        name = _data.set_files("context")["kelurahan"]
        try:
            ctx = _data.installed_path(name)
        except DataNotInstalledError:
            if context:
                raise
        if context is False:
            ctx = None
        return cls(load_installed(), context=ctx, gap_tolerance_m=gap_tolerance_m, **kwargs)

    # ------------------------------------------------------------------- named places

    @property
    def places(self) -> PlaceMatcher:
        """Reads the place complaint texts name and matches it to this set's kelurahan."""
        if self._places is None:
            self._places = PlaceMatcher(self.boundaries, self._match_claim)
        return self._places

    def text_places(self, texts: Any) -> TextPlaces:
        """The place each text names (kelurahan, kecamatan, RT/RW, street), the kelurahan
        matched to this set as a claimed name is."""
        text = texts if isinstance(texts, pa.Array) else arrow_text(texts)
        return self.places.of_many(text if text is not None else as_array(texts).tolist())

    def named_location(self, base: Location, kode: str) -> Location:
        """``base`` (a point that could not be located) moved to the kelurahan ``kode`` a
        text names: status ``named``, flagged ``location_named``; lon/lat stay as given."""
        row = self.boundaries.index_of(kode)
        if row is None:
            raise CoordinateError(f"{kode!r} is not a kelurahan of {self.boundaries.id}")
        h = self.boundaries.hierarchy(row)
        return replace(
            base,
            kode=h[0], nama=h[1], kecamatan_kode=h[2], kecamatan=h[3], kota_kode=h[4],
            kota=h[5], provinsi_kode=h[6], provinsi=h[7], status="named", candidates=(kode,),
            distance_m=None, flags=base.flags | {"location_named"},
        )  # fmt: skip

    def name_rows(self, frame: pd.DataFrame, rows: np.ndarray, kodes: Sequence[str]) -> None:
        """:meth:`named_location` for rows of a :meth:`locate_many` frame, in place."""
        if not len(rows):
            return
        bs = self.boundaries
        idx = frame.index[rows]
        hier = [bs.hierarchy(int(bs.index_of(k))) for k in kodes]  # type: ignore[arg-type]
        names = ("kode", "nama", "kecamatan_kode", "kecamatan", "kota_kode", "kota")
        for j, col in enumerate((*names, "provinsi_kode", "provinsi")):
            frame.loc[idx, col] = [h[j] for h in hier]
        frame.loc[idx, "status"] = "named"
        frame.loc[idx, "distance_m"] = np.nan
        cands = pd.Series([(k,) for k in kodes], index=idx, dtype=object)
        flags = pd.Series([f | {"location_named"} for f in frame.loc[idx, "flags"]], index=idx)
        frame["candidates"] = frame["candidates"].astype(object)
        frame.loc[idx, "candidates"] = cands
        frame.loc[idx, "flags"] = flags

    def prepare(self) -> Self:
        """Build (or load from the cache) the lookup accelerators now rather than on first
        use: the coverage quadtree and the polygons' ring bands. Returns ``self``."""
        if self.accelerate:
            _ = self._index.qt, self._index.bands
        return self

    # ------------------------------------------------------------------ context boundaries

    def load_context(self) -> None:
        """Load the context boundary set now instead of on first use, so that copies of this
        locator sent to worker processes carry it instead of each reading it again."""
        self._context_index()

    def _context_index(self) -> Index | None:
        if self._context_source is None:
            return None
        with self._context_lock:
            if self._context is None:
                src = self._context_source
                bs = src if isinstance(src, BoundarySet) else load_boundaries(src, repair=True)
                self._context = Index(bs)
            return self._context

    # ----------------------------------------------------------------------- claimed names

    def _match_claim_uncached(self, claim: str) -> tuple[int, ...]:
        """Rows a claimed code or name may mean; () when nothing matches confidently."""
        code_row = self.boundaries.index_of(claim)
        if code_row is not None:
            return (code_row,)
        key = name_key(claim)
        if not key:
            return ()
        if key in self._name_rows:
            return self._name_rows[key]
        scored = sorted(
            (
                (difflib.SequenceMatcher(None, key, k).ratio(), k)
                for k in difflib.get_close_matches(key, self._name_keys, n=3, cutoff=_FUZZY_CUTOFF)
            ),
            reverse=True,
        )
        if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < _FUZZY_MARGIN):
            return ()
        return self._name_rows[scored[0][1]]

    # ------------------------------------------------------------------------- the core

    def locate_many(
        self,
        lons: Any,
        lats: Any,
        accuracy_m: Any = None,
        claimed: Any = None,
        crs: str | None = None,
        shares: bool = True,
    ) -> pd.DataFrame:
        """Locate many points at once; one DataFrame row per input, in input order.

        ``lons``/``lats``: arrays, pandas columns or sequences in degrees (EPSG:4326), or in
        ``crs`` units (e.g. ``"EPSG:32748"`` metres). ``accuracy_m``: GPS accuracy radius in
        metres (scalar or array). ``claimed``: kelurahan code or name the report carries.
        Any container works: sequences, numpy (masked) arrays, pandas and pyarrow columns.
        Bad rows never raise: they get status ``invalid`` and an ``invalid_reason``. Shape
        mistakes raise :class:`~lapor_router.errors.CoordinateError`: ``lons`` and ``lats`` of
        different lengths, an ``accuracy_m`` or ``claimed`` whose length is neither 1 nor the
        number of points, an array of more than one dimension, a record array, a table of
        several columns, a set. ``shares=False`` leaves ``accuracy_shares`` empty and only
        flags ``near_boundary`` (the costly circle–polygon intersections are skipped).
        """
        cols = self._core(lons, lats, accuracy_m, claimed, crs, shares)
        return self._present(cols, len(cols["status"]))

    def locate(
        self,
        lon: Any,
        lat: Any,
        accuracy_m: float | None = None,
        claimed: str | None = None,
        crs: str | None = None,
    ) -> Location:
        """Locate one point (degrees); a thin wrapper over the :meth:`locate_many` core."""
        if (
            accuracy_m is None
            and claimed is None
            and crs is None
            and self.accelerate
            and isinstance(lon, float | int)
            and isinstance(lat, float | int)
            and not isinstance(lon, bool)
            and not isinstance(lat, bool)
        ):
            try:
                label = self._index.qt.lookup_one(lon, lat)
            except OverflowError:  # an int beyond float64: the core says out_of_range
                label = -1
            if label >= 0:  # inside one kelurahan: the vectorized core would say the same
                return Location(float(lon), float(lat), *self._inside[label])
        cols = self._core(
            [lon],
            [lat],
            None if accuracy_m is None else [accuracy_m],
            None if claimed is None else [claimed],
            crs,
        )
        return self._location(cols, 0)

    def _core(
        self,
        lons: Any,
        lats: Any,
        accuracy_m: Any,
        claimed: Any,
        crs: str | None,
        shares: bool = True,
    ) -> dict[str, Any]:
        lon_raw, lat_raw = _raw(lons, None, "lons"), _raw(lats, None, "lats")
        if len(lon_raw) != len(lat_raw):
            raise CoordinateError(f"{len(lon_raw)} longitudes but {len(lat_raw)} latitudes")
        n = len(lon_raw)
        # checked before any work: a shape mistake raises, whatever the coordinates
        acc_raw = None if accuracy_m is None else _raw(accuracy_m, n, "accuracy_m")
        claims = None if claimed is None else _raw(claimed, n, "claimed")
        reason: np.ndarray | None = None
        if (
            isinstance(lon_raw, np.ndarray)
            and isinstance(lat_raw, np.ndarray)
            and crs is None
            and _plain_numbers(lon_raw)
            and _plain_numbers(lat_raw)
        ):
            x, y = lon_raw.astype(np.float64, copy=False), lat_raw.astype(np.float64, copy=False)
        else:
            x, reason = coerce_floats(lon_raw)
            y, reason_y = coerce_floats(lat_raw)
            reason = np.where(reason == 0, reason_y, reason)
            if crs is not None:
                x, y, reason = self._from_crs(x, y, reason, crs)
        cols = self._resolve(x, y, reason, projected=crs is not None)
        if acc_raw is not None:
            self._accuracy(cols, acc_raw, shares)
        if claims is not None:
            self._claimed(cols, claims)
        return cols

    @staticmethod
    def _from_crs(
        x: np.ndarray, y: np.ndarray, reason: np.ndarray, crs: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        try:
            tr = transformer(crs, "EPSG:4326")
        except Exception as exc:
            raise CoordinateError(f"unknown CRS {crs!r} ({exc})") from exc
        ok = reason == 0
        lon, lat = np.full(len(x), np.nan), np.full(len(x), np.nan)
        if ok.any():
            lon[ok], lat[ok] = tr.transform(x[ok], y[ok])
        bad = ok & ~(np.isfinite(lon) & np.isfinite(lat))
        reason = reason.copy()
        reason[bad] = REASONS.index(NOT_FINITE)
        return lon, lat, reason

    def _resolve(
        self, x: np.ndarray, y: np.ndarray, reason: np.ndarray | None, projected: bool
    ) -> dict[str, Any]:
        """The core columns; ``reason`` None: x/y are float64 whose reasons (NaN, inf) the
        first pass derives."""
        n = len(x)
        index = self._index
        # one compiled pass: validity and range checks, tree lookups, the columns for
        # covered points
        reason, lon, lat, chosen, status, distance, exact, values, fixable, n_invalid = (
            index.first_pass(x, y, reason, fixable=not projected)
        )
        flags = np.zeros(n, dtype=np.uint16)  # one bit per LOCATE_FLAGS name
        # exact answers where the tree has none; lon/lat equal x/y at these (valid) points
        multi, (near_pt, near_poly) = index.settle(lon, lat, exact, values, chosen, status)
        distance[exact[status[exact] <= OVERLAP]] = 0.0

        # coordinate mistakes: fixed only when the fix lands inside the boundary set (the
        # first pass listed the points whose swapped or negated coordinates fall in its box)
        out_of_range = REASONS.index(OUT_OF_RANGE)
        suspect = fixable[(status[fixable] == OUTSIDE) | (reason[fixable] == out_of_range)]
        if suspect.size:
            sx, sy = x[suspect], y[suspect]
            done = np.zeros(len(suspect), dtype=bool)
            for fx, fy, names in (
                (sy, sx, ("swapped_coordinates",)),
                (sx, -sy, ("latitude_sign_corrected",)),
                (sy, -sx, ("swapped_coordinates", "latitude_sign_corrected")),
            ):
                cand = self._index.in_bounds(fx, fy)  # the set's box is within range
                cand = cand[~done[cand]]
                if cand.size == 0:
                    continue
                fix = self._index.resolve_covered(fx[cand], fy[cand])
                hit = fix.status != OUTSIDE
                done[cand[hit]] = True
                fixed = suspect[cand[hit]]
                chosen[fixed] = fix.chosen[hit]
                status[fixed] = fix.status[hit]
                distance[fixed] = 0.0
                lon[fixed], lat[fixed] = fx[cand[hit]], fy[cand[hit]]
                reason[fixed] = 0
                multi.update({int(suspect[cand[k]]): v for k, v in fix.multi.items()})
                _flag(flags, fixed, *names)

        # gaps: not covered, but a kelurahan lies within the tolerance (never for points the
        # quadtree knows to be far from every kelurahan, which are not exact points; for
        # points in cells no kelurahan meets, the tree's candidate list replaces the search)
        out = exact[status[exact] == OUTSIDE]
        still = status[near_pt] == OUTSIDE
        local = np.searchsorted(out, near_pt[still])
        pt, poly, dist = self._index.within(
            lon[out], lat[out], self.gap_tolerance_m, (local, near_poly[still])
        )
        pt = out[pt]
        if pt.size:
            # nearest per point (pairs come sorted by point, then polygon: ties go to the
            # smallest row, i.e. the smallest code)
            start = quadtree.run_starts(pt)
            counts = np.diff(np.append(start, len(pt)))
            nearest = np.minimum.reduceat(dist, start)
            at_min = np.flatnonzero(dist == np.repeat(nearest, counts))
            group = np.searchsorted(start, at_min, side="right") - 1
            best = at_min[quadtree.run_starts(group)]
            rows_gap = pt[start]
            chosen[rows_gap] = poly[best]
            status[rows_gap] = GAP
            distance[rows_gap] = nearest
            several = np.repeat(counts > 1, counts)
            mpt, mpoly, mdist = pt[several], poly[several], dist[several]
            order = np.lexsort((mpoly, mdist, mpt))
            for p, r in zip(mpt[order].tolist(), mpoly[order].tolist(), strict=True):
                multi[p] = (*multi.get(p, ()), r)

        external = None  # context set rows of points outside this set (none: no context)
        still_out = (
            np.flatnonzero(status == OUTSIDE)
            if self._context_source is not None
            else np.empty(0, np.int64)
        )
        ctx = self._context_index() if still_out.size else None
        if ctx is not None:
            external = np.full(n, -1, dtype=np.int64)
            external[still_out] = ctx.resolve_covered(lon[still_out], lat[still_out]).chosen
        if n_invalid[0]:
            _flag(flags, status == INVALID, "invalid_coordinates")
        return {
            "lon": lon,
            "lat": lat,
            "chosen": chosen,
            "status": status,
            "distance": distance,
            "multi": multi,
            "flags": flags,
            "reason": reason,
            "external": external,
            "context": ctx,
            "shares": {},
            "claimed": None,
        }

    def _accuracy(self, cols: dict[str, Any], acc_raw: np.ndarray | pa.Array, shares: bool) -> None:
        acc, bad = coerce_floats(acc_raw)
        given = bad != REASONS.index(MISSING)  # a missing accuracy is no accuracy
        with np.errstate(invalid="ignore"):
            invalid_acc = given & ((bad != 0) | ~(acc >= 0))
        _flag(cols["flags"], invalid_acc, "invalid_accuracy")
        lon, lat = cols["lon"], cols["lat"]
        use = np.flatnonzero(given & ~invalid_acc & (acc > 0) & np.isfinite(lon))
        if use.size == 0:
            return
        if not shares:  # the flag alone: a circle inside a cell one polygon covers crosses none
            r_deg = quadtree.degree_radius(lat[use], acc[use])
            near = use[~self._index.clear_of_boundaries(lon[use], lat[use], r_deg)]
            pt, _, crosses = self._crossings(cols, near, acc)
            _flag(cols["flags"], near[pt[crosses]], "near_boundary")
            return
        pt, poly, crosses = self._crossings(cols, use, acc)
        _flag(cols["flags"], use[pt[crosses]], "near_boundary")
        epsg = utm_epsg(lon[use], lat[use])
        with np.errstate(all="ignore"):  # degenerate circles near the poles give NaN shares
            for code in np.unique(epsg):
                mine = epsg[pt] == code
                self._shares(cols, use, pt[mine], poly[mine], crosses[mine], acc, f"EPSG:{code}")

    def _crossings(
        self, cols: dict[str, Any], rows: np.ndarray, acc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, polygon, crosses) for every polygon whose box meets the box of the
        accuracy circle of ``rows[point]``; ``crosses``: the polygon's boundary passes
        within the radius (metres in the point's UTM zone, the distance shapely measures to
        the projected ring), measured on the few segments near each point without building a
        geometry. A polygon whose box does not meet the circle's box lies beyond it."""
        lon, lat, radius = cols["lon"][rows], cols["lat"][rows], acc[rows]
        r_deg = quadtree.degree_radius(lat, radius)
        ix = self._index
        pt, poly = ix.boxes.query(lon - r_deg, lat - r_deg, lon + r_deg, lat + r_deg)
        with np.errstate(all="ignore"):  # UTM is undefined near the poles: no crossing there
            crosses = ix.boundary_distance(lon, lat, pt, poly, r_deg[pt]) < radius[pt]
        return pt, poly, crosses

    def _shares(
        self,
        cols: dict[str, Any],
        rows: np.ndarray,
        pt: np.ndarray,
        poly: np.ndarray,
        crosses: np.ndarray,
        acc: np.ndarray,
        crs: str,
    ) -> None:
        """Accuracy shares of the points ``rows[pt]`` over the polygons ``poly`` (pairs of
        :meth:`_crossings` whose point lies in the UTM zone ``crs``)."""
        bs, lon, lat = self.boundaries, cols["lon"][rows], cols["lat"][rows]
        points, at = np.unique(pt, return_inverse=True)
        mx, my = transformer("EPSG:4326", crs).transform(lon[points], lat[points])
        keep = (np.isfinite(mx) & np.isfinite(my))[at]  # UTM is undefined near the poles
        pt, poly, crosses, at = pt[keep], poly[keep], crosses[keep], at[keep]
        # a circle that crosses no boundary lies wholly inside (share 1) or wholly outside
        # (share 0) each candidate, so only crossing pairs need the (costly) intersection
        share = shapely.intersects_xy(bs.geoms[poly], lon[pt], lat[pt]).astype(float)
        if crosses.any():
            cut, first = np.unique(at[crosses], return_inverse=True)
            circles = shapely.buffer(
                shapely.points(mx[cut], my[cut]), acc[rows][points[cut]], quad_segs=_CIRCLE_SEGMENTS
            )[first]
            polys, _ = bs.metric(crs, poly[crosses])
            share[crosses] = shapely.area(shapely.intersection(circles, polys)) / shapely.area(
                circles
            )
        touch = share > 0
        order = np.lexsort((poly[touch], -share[touch], pt[touch]))
        p_t, poly_t, s_t = pt[touch][order], poly[touch][order], share[touch][order]
        for p, r, sh in zip(p_t.tolist(), poly_t.tolist(), s_t.tolist(), strict=True):
            key = int(rows[p])
            cols["shares"][key] = (
                *cols["shares"].get(key, ()),
                (str(bs.codes[r]), round(float(sh), 6)),
            )

    def _claimed(self, cols: dict[str, Any], claims: np.ndarray | pa.Array) -> None:
        n = len(claims)
        claimed = np.full(n, -1, dtype=np.int64)
        chosen, multi, flags = cols["chosen"], cols["multi"], cols["flags"]
        # each distinct claim is read and matched once; rows gather the matches
        # (1, 1.0 and True are one value to pandas, not to _claim_text: see distinct)
        codes, firsts = distinct_values(claims)
        matches = [self._match_claim(t) if (t := _claim_text(c)) else None for c in firsts]
        # the row a claim names when it names exactly one, else -1
        one = np.array(
            [m[0] if m is not None and len(m) == 1 else -1 for m in matches], dtype=np.int64
        )[codes]
        simple = (one >= 0) & ~np.isin(np.arange(n), np.fromiter(multi, dtype=np.int64))
        rows_s = np.flatnonzero(simple)
        claimed[rows_s] = one[rows_s]
        _flag(flags, rows_s[(chosen[rows_s] >= 0) & (chosen[rows_s] != one[rows_s])],
              "claimed_mismatch")  # fmt: skip
        # the few others: claims that name several kelurahan or none, points in several
        named = np.array([m is not None for m in matches], dtype=bool)[codes]
        for r in np.flatnonzero(~simple & named).tolist():
            rows = matches[codes[r]]
            assert rows is not None
            located = multi.get(r, (int(chosen[r]),) if chosen[r] >= 0 else ())
            if len(rows) > 1:  # one name, several kelurahan: the located one if it is among them
                rows = tuple(x for x in rows if x in located) or ()
                if not rows:
                    _flag(flags, r, "claimed_ambiguous")
            if len(rows) != 1:
                _flag(flags, r, "claimed_unknown")
                continue
            claimed[r] = rows[0]
            if located and rows[0] not in located:
                _flag(flags, r, "claimed_mismatch")
        cols["claimed"] = claimed

    def _location(self, cols: dict[str, Any], i: int) -> Location:
        bs, r = self.boundaries, int(cols["chosen"][i])

        def at(arr: np.ndarray) -> Any:
            return None if r < 0 or pd.isna(arr[r]) else str(arr[r])

        ext_kode = ext_nama = ext_kota = None
        ctx: Index | None = cols["context"]
        if ctx is not None and cols["external"][i] >= 0:
            e = int(cols["external"][i])
            ext_kode, ext_nama = str(ctx.bs.codes[e]), str(ctx.bs.names[e])
            region = _data.regions().get(ext_kode[:5])
            ext_kota = region.nama if region else None
        lon, lat, dist = (float(cols[k][i]) for k in ("lon", "lat", "distance"))
        multi = cols["multi"].get(i)
        claimed = cols["claimed"]
        return Location(
            lon=lon if np.isfinite(lon) else None,
            lat=lat if np.isfinite(lat) else None,
            kode=at(bs.codes),
            nama=at(bs.names),
            kecamatan_kode=at(bs.kecamatan_codes),
            kecamatan=at(bs.kecamatan_names),
            kota_kode=at(bs.kota_codes),
            kota=at(bs.kota_names),
            provinsi_kode=at(bs.provinsi_codes),
            provinsi=at(bs.provinsi_names),
            status=STATUSES[int(cols["status"][i])],
            candidates=(tuple(bs.codes[list(multi)].tolist()) if multi else self._singletons[r]),
            distance_m=dist if np.isfinite(dist) else None,
            flags=_flag_set(int(cols["flags"][i])),
            claimed_kode=None
            if claimed is None or claimed[i] < 0
            else str(self.boundaries.codes[claimed[i]]),
            accuracy_shares=cols["shares"].get(i, ()),
            external_kode=ext_kode,
            external_nama=ext_nama,
            external_kota=ext_kota,
            invalid_reason=REASONS[int(cols["reason"][i])],
            boundary_set=bs.id,
        )

    def _present(self, cols: dict[str, Any], n: int) -> pd.DataFrame:
        idx = cols["chosen"]  # -1 gathers the trailing missing value of each padded table

        def category(parts: tuple[pd.CategoricalDtype, np.ndarray], index: np.ndarray) -> Any:
            dtype, row_codes = parts
            return pd.Categorical.from_codes(row_codes[index], dtype=dtype, validate=False)

        candidates = self._singletons[idx]
        for r, rows in cols["multi"].items():
            candidates[r] = self._code_tuple(rows)
        masks, at = np.unique(cols["flags"], return_inverse=True)
        flags = np.fromiter(map(_flag_set, masks.tolist()), dtype=object, count=len(masks))[at]
        shares = _filled(n, ())
        for r, s in cols["shares"].items():
            shares[r] = s
        ctx: Index | None = cols["context"]
        ext_cols = (
            {
                name: category(parts, cols["external"])
                for name, parts in ctx.external_parts().items()
            }
            if ctx is not None
            else {
                name: pd.Categorical.from_codes(
                    np.full(n, -1, dtype=np.int8), dtype=parts[0], validate=False
                )
                for name, parts in _NO_EXTERNAL.items()
            }
        )
        lon, lat = cols["lon"], cols["lat"]
        claimed = cols["claimed"]
        data = {
            "lon": lon,
            "lat": lat,
            **{name: category(parts, idx) for name, parts in self._categories.items()},
            "status": pd.Categorical.from_codes(cols["status"], dtype=_STATUS, validate=False),
            "candidates": candidates,
            "distance_m": cols["distance"],
            "flags": flags,
            "claimed_kode": category(self._categories["kode"], claimed)
            if claimed is not None
            else pd.Categorical.from_codes(
                np.full(n, -1, dtype=self._categories["kode"][1].dtype),
                dtype=self._categories["kode"][0],
                validate=False,
            ),
            "accuracy_shares": shares,
            **ext_cols,
            "invalid_reason": pd.Categorical.from_codes(
                np.subtract(cols["reason"], 1, dtype=np.int8), dtype=_REASON, validate=False
            ),
            "boundary_set": pd.Categorical.from_codes(
                np.zeros(n, dtype=np.int8), dtype=self._set_dtype, validate=False
            ),
        }
        # copy=False: the columns are fresh arrays; consolidating them would copy each again
        return pd.DataFrame({c: _keep_object(data[c]) for c in COLUMNS}, copy=False)

    def _code_tuple(self, rows: tuple[int, ...]) -> tuple[str, ...]:
        """The codes of candidate rows, one shared tuple per distinct combination."""
        codes = self._code_tuples.get(rows)
        if codes is None:
            if len(self._code_tuples) > 100_000:
                self._code_tuples.clear()
            codes = self._code_tuples[rows] = tuple(self.boundaries.codes[list(rows)].tolist())
        return codes


def _raw(values: Any, n: int | None, name: str) -> np.ndarray | pa.Array:
    """An argument of :meth:`Locator.locate_many` as an array (:func:`as_array`), or, for a
    column of Arrow-backed text (a CSV's), its Arrow array: parsed and hashed by Arrow, not
    cell by cell."""
    text = arrow_text(values)
    if text is not None and (n is None or len(text) == n):
        return text
    return as_array(values, n, name)


def _plain_numbers(raw: np.ndarray) -> bool:
    """Integers or floats that float64 holds: converted at once, their NaN and inf left to
    the first pass."""
    return raw.dtype.kind in "fiu" and raw.dtype.itemsize <= 8


def _claim_text(claim: Any) -> str:
    """A claimed code or name as text; "" when there is none (None, NaN, NA, a null)."""
    claim = scalar(claim)
    if claim is None or claim is pd.NA or claim is pd.NaT:
        return ""
    if isinstance(claim, Decimal) and claim.is_nan():  # sNaN != sNaN would raise
        return ""
    if isinstance(claim, float | np.floating) and np.isnan(claim):
        return ""
    if isinstance(claim, bytes):
        claim = claim.decode("utf-8", "replace")
    return str(claim).strip()


def _keep_object(col: Any) -> Any:
    """Object arrays stay Python objects (pandas would otherwise infer a string dtype)."""
    return (
        pd.Series(col, dtype=object, copy=False)
        if isinstance(col, np.ndarray) and (col.dtype == object)
        else col
    )


_NO_EXTERNAL: dict[str, tuple[pd.CategoricalDtype, np.ndarray]] = {
    name: categorical_parts(np.empty(0, dtype=object), as_object=True)
    for name in ("external_kode", "external_nama", "external_kota")
}
_STATUS = pd.CategoricalDtype(pd.Index(STATUSES))
_ZERO_IF_COVERED = np.array([0.0, 0.0, np.nan, np.nan, np.nan])  # distance by status code
_REASON = pd.CategoricalDtype(pd.Index(REASONS[1:]))


def _filled(n: int, value: object) -> np.ndarray:
    """An object array of n references to one value (tuples and sets included)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _none_if_nan(v: Any) -> Any:
    return None if isinstance(v, float) and np.isnan(v) else v


def row_to_location(frame: pd.DataFrame, i: int) -> Location:
    """Row ``i`` of a :meth:`Locator.locate_many` frame as a :class:`Location`."""
    rec = {c: _none_if_nan(frame[c].iat[i]) for c in COLUMNS}
    for c in ("lon", "lat", "distance_m"):
        rec[c] = None if rec[c] is None else float(rec[c])
    return Location(**rec)


def locations(frame: pd.DataFrame) -> Iterable[Location]:
    """Each row of a :meth:`Locator.locate_many` frame as a :class:`Location`."""
    return (row_to_location(frame, i) for i in range(len(frame)))


__all__ = [
    "COLUMNS",
    "STATUSES",
    "Location",
    "Locator",
    "locations",
    "normalize_code",
    "row_to_location",
]
