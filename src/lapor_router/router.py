"""The façade users import: :class:`Router` locates, routes and dispatches.

It holds a boundary index (:mod:`lapor_router.locate`), a rule graph, its calendar and
classifier (:mod:`lapor_router.route`), and delegates every call down the pipeline; the
file and batch stages take a Router.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import shapely

from .dispatch import route_frame
from .errors import PrivacyWarning
from .locate import (
    ASSET_STATUSES,
    AssetHits,
    AssetLayer,
    AssetMatch,
    BoundarySet,
    Locator,
    match_layers,
)
from .normalize import Columns
from .route import (
    CategoryClassifier,
    Classifier,
    Report,
    RoutingDecision,
    RuleGraph,
    WorkCalendar,
    decide,
    escalate,
    reopen,
    transfer,
)


class Router(Locator):
    """Locates reports in a boundary set and routes them through a rule graph.

    ``rules``: a :class:`RuleGraph`, a path to rule files, or None for the packaged Jakarta
    rules (compiled lazily for this router's kelurahan on the first routing call).
    ``classifier``: a category model file (``lapor-router category train``) used above
    its confidence threshold (``classifier_threshold`` overrides the file's), the keyword
    classifier below it; None: the keyword classifier alone. ``assets``: asset layers
    (roads, rivers, rail) whose features near a point the rules may match on
    (:meth:`default` loads the installed ones).

    >>> router = Router.default()
    >>> d = router.route(Report(106.8272, -6.1754, text="Jalan berlubang di depan halte"))
    >>> d.unit_name
    'Suku Dinas Bina Marga Kota Administrasi Jakarta Pusat'
    """

    def __init__(
        self,
        boundaries: BoundarySet | str | Path,
        context: BoundarySet | str | Path | None = None,
        gap_tolerance_m: float = 100.0,
        rules: RuleGraph | str | Path | None = None,
        accelerate: bool = True,
        classifier: str | Path | None = None,
        classifier_threshold: float | None = None,
        assets: Sequence[AssetLayer] = (),
    ) -> None:
        super().__init__(
            boundaries, context=context, gap_tolerance_m=gap_tolerance_m, accelerate=accelerate
        )
        self._rules_source = rules
        self._rules: RuleGraph | None = rules if isinstance(rules, RuleGraph) else None
        self._calendar: WorkCalendar | None = None
        self._classifier: CategoryClassifier | None = None
        self._model_source = (Path(classifier), classifier_threshold) if classifier else None
        self._rules_lock = threading.Lock()
        self.assets: tuple[AssetLayer, ...] = tuple(assets)
        self._land_cache: tuple[Any, float, float] | None = None
        self._prepared = False
        if self._model_source is not None:
            _ = self.classifier  # a damaged model file fails here, naming the file

    @classmethod
    def default(
        cls,
        *,
        context: bool | None = None,
        gap_tolerance_m: float = 100.0,
        assets: Sequence[AssetLayer] | None = None,
        **kwargs: Any,
    ) -> Self:
        """The installed Jakarta set (see :meth:`Locator.default`) with the installed asset
        layers (``lapor-router data install-layer``), each verified against its sha256;
        ``assets=()`` for none."""
        from .locate import load_installed_layers

        layers = load_installed_layers() if assets is None else tuple(assets)
        return super().default(
            context=context, gap_tolerance_m=gap_tolerance_m, assets=layers, **kwargs
        )

    @property
    def asset_layers(self) -> tuple[str, ...]:
        """``name@version`` of each asset layer, as decisions name them."""
        return tuple(layer.label for layer in self.assets)

    def asset_matches(self, lon: Any, lat: Any) -> AssetHits:
        """Per point (degrees): the nearest feature of each layer within the layer's
        distance (``.row(i)``: nearest first, equal distances in layer order)."""
        return match_layers(self.assets, lon, lat)

    def at_sea(self, lon: Any, lat: Any, outside: Any) -> np.ndarray:
        """Per point (degrees): True where ``outside`` (in no polygon of the set nor of the
        context set) and within the rule set's ``[waters]`` distance of the set's
        kelurahan. False everywhere without a context set: a point beyond the loaded land
        is not known to be at sea."""
        x = np.asarray(lon, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        out = np.zeros(len(x), dtype=bool)
        waters = self.rules.spec.waters
        rows = np.flatnonzero(np.asarray(outside, dtype=bool) & np.isfinite(x) & np.isfinite(y))
        if waters is None or self._context_source is None or not len(rows):
            return out
        land, kx, ky = self._land()
        pts = shapely.points(x[rows] * kx, y[rows] * ky)
        out[rows] = shapely.dwithin(land, pts, waters.max_km * 1000.0)
        return out

    def _land(self) -> tuple[Any, float, float]:
        """The set's kelurahan as one geometry in plane metres (degrees scaled at the set's
        middle latitude: within 1 % over Jakarta), prepared; and the scales."""
        if self._land_cache is None:
            from .locate.asset_kernels import metres_per_degree

            b = self.boundaries.bounds
            kx, ky = metres_per_degree((b[1] + b[3]) / 2.0)
            land = shapely.transform(
                shapely.union_all(self.boundaries.geoms), lambda c: c * [kx, ky]
            )
            shapely.prepare(land)
            self._land_cache = (land, kx, ky)
        return self._land_cache

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_rules_lock", None)
        state["_calendar"] = None  # rebuilt from the rule settings on first use
        state["_land_cache"] = None
        state["_prepared"] = False  # compiled kernels and caches belong to this process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._rules_lock = threading.Lock()

    def prepare(self) -> Self:
        """Build now what the first reports would otherwise build: the locator's
        accelerators and context set, the rule graph, calendar and classifier, the place
        finder, the land of the at-sea test, and the compiled kernels of routing (a
        built-in sample of reports in this boundary set, routed once; nothing of it is
        kept but caches). About 1 s, once per process: a long-lived caller calls it at
        start-up, and ``route_file(workers=N)`` calls it before it forks its workers, so
        that they share it. Returns ``self``."""
        super().prepare()
        if not self._prepared:
            self.load_context()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PrivacyWarning)
                sample = _sample_reports(self)
                self.route_frame(sample, _SAMPLE_COLUMNS, self.now())
                # and as a GeoParquet or GeoJSON file gives them: points, not lon/lat text
                points = sample.drop(columns=["lon", "lat"]).assign(
                    geometry=shapely.points(
                        pd.to_numeric(sample["lon"]).to_numpy(),
                        pd.to_numeric(sample["lat"]).to_numpy(),
                    )
                )
                route_frame(self, points, _SAMPLE_COLUMNS, self.now(), geometry="geometry")
            self._prepared = True
        return self

    @property
    def rules(self) -> RuleGraph:
        """The compiled rule graph (built on first use)."""
        if self._rules is None or self._calendar is None or self._classifier is None:
            with self._rules_lock:
                if self._rules is None:
                    src = self._rules_source
                    if isinstance(src, RuleGraph):
                        self._rules = src
                    elif src is None:
                        self._rules = RuleGraph.default(self.boundaries)
                    else:
                        self._rules = RuleGraph.load(src, self.boundaries)
                if self._calendar is None:
                    self._calendar = WorkCalendar(self._rules.settings)
                if self._classifier is None:
                    keywords = Classifier(self._rules.categories, self._rules.spec)
                    if self._model_source is None:
                        self._classifier = keywords
                    else:
                        from .route.model import ModelClassifier

                        path, threshold = self._model_source
                        self._classifier = ModelClassifier(path, keywords, threshold)
        return self._rules

    @property
    def calendar(self) -> WorkCalendar:
        """Working days and office hours of the rule set."""
        _ = self.rules
        assert self._calendar is not None
        return self._calendar

    @property
    def classifier(self) -> CategoryClassifier:
        """The category classifier of the rule set."""
        _ = self.rules
        assert self._classifier is not None
        return self._classifier

    def now(self) -> datetime:
        """The current time in the rule set's time zone."""
        return datetime.now(self.calendar.tz)

    def route_frame(
        self, frame: pd.DataFrame, columns: Columns | None = None, now: datetime | None = None
    ) -> pd.DataFrame:
        """Route a DataFrame of reports: every column of ``frame`` plus the routing columns,
        one row per input row, masked as a unit sees it (see
        :func:`lapor_router.dispatch.route_frame`)."""
        return route_frame(self, frame, columns, now=now)

    def route(
        self,
        report: Report,
        now: datetime | None = None,
        open_reports: pd.DataFrame | None = None,
    ) -> RoutingDecision:
        """Locate ``report`` and decide who must act on it. Never raises for bad report
        content: bad coordinates, categories or dates become flags. ``now`` (default: the
        current time) stands in for a missing ``created_at``. ``open_reports``
        (``report_id``, ``category``, ``lon``, ``lat`` and optionally ``created_at``): those
        of the decision's category within its duplicates radius and window come back as
        ``possible_duplicates``, nearest first (flag ``possible_duplicate``)."""
        decision = self._route(report, now)
        if open_reports is None or decision.category is None or not len(open_reports):
            return decision
        near = self.possible_duplicates(decision, open_reports)
        if not near:
            return decision
        return replace(
            decision, possible_duplicates=near, flags=decision.flags | {"possible_duplicate"}
        )

    def possible_duplicates(
        self, decision: RoutingDecision, open_reports: pd.DataFrame
    ) -> tuple[tuple[str, float], ...]:
        """(report id, metres) of the ``open_reports`` of ``decision``'s category within the
        category's duplicates radius (great-circle) and window of the report's time."""
        from .dispatch.duplicates import epoch_seconds, nearest

        cat = self.rules.categories.get(decision.category or "")
        loc = decision.location
        if cat is None or loc.lon is None or loc.lat is None:
            return ()
        same = open_reports[open_reports["category"] == cat.code]
        if not len(same):
            return ()
        tz = self.rules.settings.timezone
        t = epoch_seconds(same["created_at"], tz) if "created_at" in same else None
        created = decision.report.created_at if decision.report is not None else None
        t0 = epoch_seconds([created], tz)[0] if created is not None else None
        lon = pd.to_numeric(same["lon"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(same["lat"], errors="coerce").to_numpy(float)
        window = cat.duplicate_window_h
        t0 = None if t0 is None or t0 != t0 else float(t0)
        idx, dist = nearest(loc.lon, loc.lat, t0, lon, lat, t, cat.duplicate_radius_m, window)
        ids = same["report_id"].astype(str).to_numpy()
        return tuple((str(ids[i]), round(float(m), 1)) for i, m in zip(idx, dist, strict=True))

    def _route(self, report: Report, now: datetime | None) -> RoutingDecision:
        loc = self.locate(
            report.lon, report.lat, accuracy_m=report.accuracy_m, claimed=report.claimed
        )
        place = self.text_places([report.text])[0]
        if place.kode is None and report.address:  # the address as written names it
            place = self.text_places([report.address])[0]
        if loc.status == "invalid" and place.kode is not None:  # route by the named kelurahan
            loc = self.named_location(loc, place.kode)
        near: tuple[AssetMatch, ...] = ()
        if self.assets and loc.status in ASSET_STATUSES:
            near = self.asset_matches([loc.lon], [loc.lat]).row(0)
        sea = loc.status == "outside" and not loc.external_kode and loc.lon is not None
        if sea:
            sea = bool(self.at_sea([loc.lon], [loc.lat], [True])[0])
        return decide(
            self.rules, self.calendar, self.classifier, loc, report, now or self.now(), place,
            near, self.asset_layers, sea,
        )  # fmt: skip

    def transfer(self, decision: RoutingDecision, reason: str) -> RoutingDecision:
        """Pass a report the current unit says is not its authority to the next unit."""
        return transfer(self.rules, decision, reason)

    def escalate(self, decision: RoutingDecision, now: datetime | None = None) -> RoutingDecision:
        """Move an overdue report one step up its escalation chain."""
        return escalate(self.rules, self.calendar, decision, now or self.now())

    def reopen(
        self, decision: RoutingDecision, reason: str, now: datetime | None = None
    ) -> RoutingDecision:
        """A closed report back with its unit, with fresh deadlines from ``now``."""
        return reopen(self.rules, self.calendar, decision, reason, now or self.now())

    def group_names(self, by: str) -> dict[Any, str]:
        """Display names of the keys a stats grouping ``by`` uses: unit and category names
        from the rule set, kelurahan names from the boundary set; none for kota (its key is
        its name)."""
        rules = self.rules
        if by == "unit":
            return {u: rules.units[u].name for u in rules.units}
        if by == "category":
            return {c: cat.name for c, cat in rules.categories.items()}
        if by == "kelurahan":
            b = self.boundaries
            return dict(zip(b.codes.tolist(), b.names.tolist(), strict=True))
        return {}


_SAMPLE_COLUMNS = Columns(reporter=("reporter_name", "reporter_phone"))
_SAMPLE_TEXTS = (
    "jalan berlubang di {name} RT 0{i}/RW 0{j}, hubungi 08123456{k}",
    "banjir setinggi lutut dekat kel. {name}, sudah {i} hari",
    "sampah menumpuk di Jl. {name} Raya no. {k} #jakartabersih",
    "lampu jalan mati di gg {name} {i}, email warga{k}@contoh.id",
    "pohon tumbang menutup jalan di kelurahan {name}",
    "saluran got mampet bau, rw {j} {name}",
)


def _sample_reports(router: Router) -> pd.DataFrame:
    """Reports for :meth:`Router.prepare`: points on the set's kelurahan and off them (a
    gap's edge, beyond the set, at sea, missing), more distinct texts than the batch
    kernels' thresholds, claimed names, categories, private and public reporters; text
    columns Arrow-backed as the readers make them."""
    import pyarrow as pa

    from .normalize.strings import text_series

    bs = router.boundaries
    n = 96
    picks = np.arange(n) % len(bs)
    xy = shapely.get_coordinates(shapely.point_on_surface(bs.geoms[picks]))
    # odd rows on a vertex of their polygon: on or near a border, where the exact tests run
    edges = np.array([shapely.get_coordinates(g)[0] for g in bs.geoms[picks[1::2]]])
    xy[1::2] = edges + 1e-6
    minx, miny, maxx, maxy = bs.bounds
    west = shapely.get_coordinates(bs.geoms[int(np.argmin(shapely.bounds(bs.geoms)[:, 0]))])
    west = west[int(np.argmin(west[:, 0]))]
    # beyond the set, at sea, in the gap tolerance just outside its westmost vertex, none
    xy[-4:] = [
        [minx - 0.02, (miny + maxy) / 2],
        [(minx + maxx) / 2, maxy + 0.02],
        [west[0] - 0.0004, west[1]],
        [np.nan, np.nan],
    ]
    lon, lat = xy[:, 0], xy[:, 1]
    names = [str(v) for v in bs.names[picks]]
    categories = list(router.rules.spec.categories)
    cells = {
        "report_id": [f"SAMPLE{i:04d}" for i in range(n)],
        "created_at": [f"2026-01-{i % 28 + 1:02d}T{i % 24:02d}:15:00+07:00" for i in range(n)],
        "lon": [f"{v:.6f}" if np.isfinite(v) else "" for v in lon],
        "lat": [f"{v:.6f}" if np.isfinite(v) else "" for v in lat],
        "accuracy_m": [str(5 + i % 40) for i in range(n)],
        "claimed_kelurahan": [names[(i + i % 3) % n].upper() for i in range(n)],
        "category": [categories[i % len(categories)] if i % 4 else "" for i in range(n)],
        "text": [
            _SAMPLE_TEXTS[i % len(_SAMPLE_TEXTS)].format(
                name=names[i], i=i % 9 + 1, j=i % 7 + 1, k=f"{i:04d}"
            )
            for i in range(n)
        ],
        "current_unit": ["" for _ in range(n)],
        "private": ["true" if i % 2 else "false" for i in range(n)],
        "reporter_name": [f"Warga {names[i]}" for i in range(n)],
        "reporter_phone": [f"0812{i:08d}" for i in range(n)],
    }
    return pd.DataFrame({k: text_series(pa.array(v, pa.string())) for k, v in cells.items()})
