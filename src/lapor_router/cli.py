"""``lapor-router``: thin command-line shells over the library (no logic of its own)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import _data
from .errors import LaporRouterError
from .locate import Location, check_boundaries
from .route import Report, RuleGraph, lint
from .router import Router

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Route geotagged public complaints in Jakarta."
)
data_app = typer.Typer(no_args_is_help=True, help="Install and inspect boundary data.")
boundaries_app = typer.Typer(no_args_is_help=True, help="Inspect boundary files.")
app.add_typer(data_app, name="data")
app.add_typer(boundaries_app, name="boundaries")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@data_app.command("install")
def data_install(
    src_dir: Annotated[Path, typer.Argument(help="Directory holding the boundary files.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Boundary set(s) to install (default: every non-optional set)."),
    ] = None,
) -> None:
    """Copy boundary files into the data directory, verifying each sha256 against the manifest."""
    try:
        done = _data.install(src_dir, set_)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    for f in done:
        out.print(f"{f.status:>17}  {f.name}  sha256 {f.sha256[:12]}…", highlight=False)
    out.print(f"data directory: {_data.data_dir()}", highlight=False)


@data_app.command("install-layer")
def data_install_layer(
    specs: Annotated[list[Path], typer.Argument(help="Layer spec file(s) (TOML, [layer]).")],
) -> None:
    """Check asset layers (roads, rivers, rail) and copy them into the data directory with
    their sha256; the router loads installed layers and verifies them on every start."""
    from .locate import install_layer

    for spec in specs:
        try:
            layer = install_layer(spec)
        except LaporRouterError as exc:
            raise _fail(exc) from exc
        out.print(
            f"installed  {layer.label}  {layer.asset}, {len(layer)} features, "
            f"{layer.max_distance_m:g} m, sha256 {layer.sha256[:12]}…",
            highlight=False,
        )


@data_app.command("layers")
def data_layers() -> None:
    """List the installed asset layers and their schemas."""
    from .locate import installed_schemas

    try:
        schemas = installed_schemas()
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    if not schemas:
        out.print("no asset layers installed", highlight=False)
    for s in schemas:
        out.print(f"{s['layer']}  asset={s['asset']}  owners={s.get('owners')}  "
                  f"classes={s.get('classes')}", highlight=False)  # fmt: skip


@data_app.command("path")
def data_path() -> None:
    """Print the data directory ($LAPOR_ROUTER_DATA or the per-user data dir)."""
    out.print(str(_data.data_dir()), highlight=False)


@boundaries_app.command("check")
def boundaries_check(
    path: Annotated[Path, typer.Argument(help="Kelurahan boundary file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts, invalid geometries, overlapping pairs and gaps (areas in m², EPSG:32748)."""
    try:
        report = check_boundaries(path).as_dict()
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Boundary check: {path}", show_header=False)
    for key in (
        "kelurahan",
        "kecamatan",
        "kota",
        "polygons",
        "multipolygons",
        "vertices",
        "area_km2",
        "overlapping_pairs",
        "overlap_area_m2",
        "holes",
        "mainland_holes",
        "mainland_hole_area_m2",
        "largest_hole_m2",
    ):
        table.add_row(key, str(report[key]))
    table.add_row("invalid geometries", str(len(report["invalid"])))
    out.print(table)
    for row in report["invalid"]:
        out.print(f"invalid {row['kode']}: {row['reason']}", highlight=False)
    for row in report["largest_overlaps"][:5]:
        out.print(f"overlap {row['a']} × {row['b']}: {row['area_m2']} m²", highlight=False)


def _location_dict(loc: Location) -> dict[str, Any]:
    d = asdict(loc)
    d["flags"] = sorted(loc.flags)
    d["candidates"] = list(loc.candidates)
    d["accuracy_shares"] = [{"kode": k, "share": s} for k, s in loc.accuracy_shares]
    return d


@app.command("locate", context_settings={"ignore_unknown_options": True})
def locate(
    lon: Annotated[str, typer.Argument(help="Longitude, degrees (or x in --crs).")],
    lat: Annotated[str, typer.Argument(help="Latitude, degrees (or y in --crs).")],
    accuracy: Annotated[
        float | None, typer.Option("--accuracy", help="GPS accuracy radius, metres.")
    ] = None,
    claimed: Annotated[
        str | None, typer.Option("--claimed", help="Kelurahan the report claims.")
    ] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="CRS of LON LAT.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print which kelurahan contains a point, and how sure that is."""
    try:
        loc = Router.default().locate(lon, lat, accuracy_m=accuracy, claimed=claimed, crs=crs)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(_location_dict(loc), ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False)
    for key, value in _location_dict(loc).items():
        if value not in (None, [], ()):
            table.add_row(key, str(value))
    out.print(table)


rules_app = typer.Typer(no_args_is_help=True, help="Check routing rule files.")
app.add_typer(rules_app, name="rules")
category_app = typer.Typer(no_args_is_help=True, help="Train and evaluate category models.")
app.add_typer(category_app, name="category")


def _labelled(path: Path, text_col: str, category_col: str, split: str | None) -> Any:
    import pandas as pd

    from .errors import BatchError

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in (text_col, category_col) if c not in frame]
    if missing:
        raise BatchError(f"{path}: no column(s) {missing}; columns: {list(frame.columns)}")
    if split and split != "all":
        if "split" not in frame:
            raise BatchError(f"{path}: --split {split} needs a 'split' column")
        frame = frame[frame["split"] == split]
    if frame.empty:
        raise BatchError(f"{path}: no labelled rows" + (f" in split {split!r}" if split else ""))
    return frame


def _keyword_classifier(rules: Path | None) -> Any:
    from .route import Classifier

    rg = RuleGraph.load(rules) if rules else RuleGraph.default()
    return rg, Classifier(rg.categories, rg.spec)


@category_app.command("train")
def category_train(
    labelled: Annotated[Path, typer.Argument(help="CSV with text and category columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model file to write.")],
    text_col: Annotated[str, typer.Option(help="Text column.")] = "text",
    category_col: Annotated[str, typer.Option(help="Category column.")] = "category",
    split: Annotated[
        str | None, typer.Option(help="Rows of this 'split' value only (default: train).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Confidence to use the model.")] = 0.5,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
) -> None:
    """Train a category model on labelled reports (needs lapor_router[model])."""
    from .route.model import train

    try:
        rg, keywords = _keyword_classifier(rules)
        frame = _labelled(labelled, text_col, category_col, split or _default_split(labelled))
        meta = train(
            frame[text_col].tolist(),
            frame[category_col].tolist(),
            keywords,
            output,
            rule_set=rg.fingerprint,
            threshold=threshold,
        )
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    out.print(
        f"wrote {output}: {meta['texts']} texts, {len(meta['classes'])} categories, "
        f"{meta['features']} features, temperature {meta['temperature']:.2f}, "
        f"threshold {meta['threshold']}, rule set {meta['rule_set']}",
        highlight=False,
    )


def _default_split(path: Path, want: str = "train") -> str | None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    return want if "split" in [h.strip() for h in header.split(",")] else None


@category_app.command("eval")
def category_eval(
    labelled: Annotated[Path, typer.Argument(help="CSV with text and category columns.")],
    classifier: Annotated[
        Path | None, typer.Option(help="A category model; default: the keyword classifier.")
    ] = None,
    text_col: Annotated[str, typer.Option(help="Text column.")] = "text",
    category_col: Annotated[str, typer.Option(help="Category column.")] = "category",
    split: Annotated[
        str | None, typer.Option(help="Rows of this 'split' value only (default: test).")
    ] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Precision, recall and F1 per category, a confusion table and the model's coverage."""
    from .route.model import ModelClassifier, evaluate

    try:
        rg, keywords = _keyword_classifier(rules)
        frame = _labelled(
            labelled, text_col, category_col, split or _default_split(labelled, "test")
        )
        model = ModelClassifier(classifier, keywords) if classifier else keywords
        texts, truth = frame[text_col].tolist(), frame[category_col].tolist()
        guesses = model.classify_many([None] * len(texts), texts)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    figures = evaluate(truth, [g.code for g in guesses], rg.categories)
    figures["classifier"] = model.name
    figures["texts"] = len(texts)
    if isinstance(model, ModelClassifier):
        best = model.probabilities(texts).max(axis=1)
        figures["threshold"] = model.threshold
        figures["coverage"] = float((best >= model.threshold).mean())
    if as_json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{figures['classifier']} on {len(texts)} texts")
    for name in ("category", "precision", "recall", "F1", "n"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for code, v in sorted(figures["per_category"].items()):
        table.add_row(
            code, f"{v['precision']:.2f}", f"{v['recall']:.2f}", f"{v['f1']:.2f}", str(v["support"])
        )
    out.print(table)
    line = (
        f"macro-F1 {figures['macro_f1']:.3f}; accuracy {figures['accuracy']:.3f}; "
        f"triage {figures['triage_rate']:.1%}"
    )
    if "coverage" in figures:
        line += f"; model coverage at {figures['threshold']:g}: {figures['coverage']:.1%}"
    out.print(line, highlight=False)
    pairs = sorted(
        ((n, t, p) for t, row in figures["confusion"].items() for p, n in row.items() if p != t),
        reverse=True,
    )
    if pairs:
        out.print("most confused (true → predicted):", highlight=False)
        for n, t, p in pairs[:15]:
            out.print(f"  {t} → {p}  ×{n}", highlight=False)


@rules_app.command("lint")
def rules_lint(
    path: Annotated[
        Path | None,
        typer.Argument(help="Rule directory or file (default: the packaged Jakarta rules)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Prove every category routes every kelurahan to exactly one unit, escalation chains
    are acyclic and end at a top unit, and nothing is unreachable."""
    try:
        boundaries = Router.default(context=False).boundaries
    except LaporRouterError:
        boundaries = None  # the committed registry names the 267 kelurahan just as well
    try:
        rg = RuleGraph.default(boundaries) if path is None else RuleGraph.load(path, boundaries)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    from .locate import installed_schemas

    try:
        layers = installed_schemas()
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    report = lint(rg, layers)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "coverage": report.coverage,
                    "messages": [str(m) for m in report.messages],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for m in report.messages:
            (err if m.severity == "error" else out).print(str(m), highlight=False)
        c = report.coverage
        out.print(
            f"{c['rule_set']}: {c['categories']} categories, {c['rules']} rules, "
            f"{c['units']} units ({c['unit_specs']} specs) over {c['kelurahan']} kelurahan; "
            f"{c['routed_pairs']}/{c['expected_pairs']} category × kelurahan pairs routed; "
            f"responsible level {c['by_level']}",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("route-one", context_settings={"ignore_unknown_options": True})
def route_one(
    lon: Annotated[str, typer.Option("--lon", help="Longitude, degrees.")],
    lat: Annotated[str, typer.Option("--lat", help="Latitude, degrees.")],
    category: Annotated[str | None, typer.Option(help="Category code or name.")] = None,
    text: Annotated[str, typer.Option(help="The report's text.")] = "",
    claimed: Annotated[str | None, typer.Option(help="Claimed kelurahan.")] = None,
    accuracy: Annotated[float | None, typer.Option(help="GPS accuracy, metres.")] = None,
    created_at: Annotated[str | None, typer.Option(help="ISO time (naive = WIB).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
    classifier: Annotated[
        Path | None, typer.Option(help="A category model (`lapor-router category train`).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the dispatch record.")] = False,
) -> None:
    """Route one report and print the decision with its explanation."""
    try:
        router = Router.default(rules=rules, classifier=classifier)
        decision = router.route(
            Report(
                lon,
                lat,
                category=category,
                text=text,
                claimed=claimed,
                accuracy_m=accuracy,
                created_at=created_at,
            )
        )
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(decision.dispatch_record(), indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{decision.unit_name or 'no Jakarta unit'}[/] ({decision.level or '-'})")
    out.print(
        f"category: {decision.category} ({decision.category_source}, {decision.classifier}); "
        f"flags: {', '.join(sorted(decision.flags)) or '-'}",
        highlight=False,
    )
    if decision.category_candidates:
        tops = ", ".join(f"{c} {v:g}" for c, v in decision.category_candidates)
        out.print(f"candidates: {tops}", highlight=False)
    if decision.emergency:
        out.print(f"[bold red]EMERGENCY: call {decision.emergency_number}[/]")
    for line in decision.explanation:
        out.print(f"- {line}", highlight=False)


def _summary_table(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['input']} → {summary['output']}")
    table.add_column("")
    table.add_column("rows", justify="right")
    for key in ("rows_read", "rows_written", "rows_rejected", "rows_rerouted"):
        table.add_row(key.replace("_", " "), f"{summary[key]:,}")
    for status, count in summary["by_status"].items():
        table.add_row(f"status {status}", f"{count:,}")
    for flag, count in list(summary["by_flag"].items())[:12]:
        table.add_row(f"flag {flag}", f"{count:,}")
    for reason, count in summary["reject_reasons"].items():
        table.add_row(f"rejected: {reason}", f"{count:,}")
    out.print(table)
    for title, key in (("kelurahan", "rerouted_kelurahan"), ("unit", "rerouted_unit")):
        for pair, count in list(summary[key].items())[:5]:
            out.print(f"rerouted {title}: {pair}  ×{count}", highlight=False)
    out.print(
        f"rejects: {summary['rejects']}; summary: {summary['output']}.summary.json", highlight=False
    )


@app.command("route")
def route_cmd(
    input: Annotated[Path, typer.Argument(help="Reports: .csv, .jsonl, .geojson or .parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Routed output file.")],
    rejects: Annotated[Path | None, typer.Option(help="Unparseable rows (.csv).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    engine: Annotated[str, typer.Option(help="local or dask.")] = "local",
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes: local (default 1: this process) or a Dask LocalCluster."
        ),
    ] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    lon_col: Annotated[str | None, typer.Option(help="Longitude column.")] = None,
    lat_col: Annotated[str | None, typer.Option(help="Latitude column.")] = None,
    category_col: Annotated[str | None, typer.Option(help="Category column.")] = None,
    text_col: Annotated[str | None, typer.Option(help="Free-text column.")] = None,
    claimed_col: Annotated[str | None, typer.Option(help="Current kelurahan column.")] = None,
    unit_col: Annotated[str | None, typer.Option(help="Current unit column.")] = None,
    private_col: Annotated[str | None, typer.Option(help="Private-report column.")] = None,
    reporter_cols: Annotated[
        str | None, typer.Option(help="Reporter identity columns, comma-separated.")
    ] = None,
    created_col: Annotated[str | None, typer.Option(help="Creation-time column.")] = None,
    accuracy_col: Annotated[str | None, typer.Option(help="GPS accuracy column.")] = None,
    chunk_rows: Annotated[
        int | None,
        typer.Option(help="Rows per chunk (default 40,000; a resumed run keeps its own)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the input (default utf-8; e.g. cp1252).")
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(help="CSV delimiter: , ; | or tab (default: the one the header uses)."),
    ] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
    classifier: Annotated[
        Path | None, typer.Option(help="A category model (`lapor-router category train`).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Re-route every row of a report file; unparseable rows go to REJECTS."""
    from .batch import route_file
    from .normalize import Columns
    from .normalize.memory import use_batch_pool

    use_batch_pool()  # this process runs a batch job: the leaner of Arrow's pools

    columns = Columns(
        lon=lon_col,
        lat=lat_col,
        category=category_col,
        text=text_col,
        claimed=claimed_col,
        unit=unit_col,
        private=private_col,
        created_at=created_col,
        accuracy=accuracy_col,
        reporter=tuple(c.strip() for c in reporter_cols.split(",") if c.strip())
        if reporter_cols
        else (),
    )
    try:
        router = Router.default(rules=rules, classifier=classifier)
        summary = route_file(
            input,
            output,
            rejects,
            resume=resume,
            engine=engine,
            workers=workers,
            scheduler=scheduler,
            columns=columns,
            chunk_rows=chunk_rows,
            router=router,
            encoding=encoding,
            delimiter=delimiter,
        )
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    for warning in summary.get("warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _summary_table(summary)


@app.command("cluster")
def cluster_cmd(
    input: Annotated[Path, typer.Argument(help="Reports (best: a routed file).")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".csv, .jsonl or .parquet")],
    category_col: Annotated[str | None, typer.Option(help="Category-code column.")] = None,
    lon_col: Annotated[str | None, typer.Option(help="Longitude column.")] = None,
    lat_col: Annotated[str | None, typer.Option(help="Latitude column.")] = None,
    created_col: Annotated[str | None, typer.Option(help="Creation-time column.")] = None,
    window: Annotated[
        bool, typer.Option(help="Link only reports within the category's time window.")
    ] = True,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Give each row a cluster id: reports of one category within its duplicates radius
    (metres) and window (hours) of each other, transitively."""
    from .batch import cluster_file
    from .normalize import Columns

    columns = Columns(category=category_col, lon=lon_col, lat=lat_col, created_at=created_col)
    try:
        graph = RuleGraph.load(rules) if rules else RuleGraph.default()
        summary = cluster_file(input, output, graph, columns=columns, window=window)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        for key, value in summary.items():
            out.print(f"{key:>24s}  {value}", highlight=False)


@app.command("report")
def report_cmd(
    routed: Annotated[Path, typer.Argument(help="An output file of `lapor-router route`.")],
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML map.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write a PNG picture.")] = None,
) -> None:
    """Map the reports per kelurahan and the claimed → located moves of rerouted ones."""
    from .maps import html_map, png_map, read_routed

    if html is None and png is None:
        raise _fail(LaporRouterError("nothing to do: give --html and/or --png"))
    try:
        frame = read_routed(routed)
        boundaries = Router.default(context=False).boundaries
        if html is not None:
            html_map(frame, boundaries, html)
            out.print(f"wrote {html}", highlight=False)
        if png is not None:
            png_map(frame, boundaries, png)
            out.print(f"wrote {png}", highlight=False)
    except LaporRouterError as exc:
        raise _fail(exc) from exc


_DB = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store URL: sqlite:///PATH (default: in the data directory) "
        "or postgresql://USER@HOST/DB.",
    ),
]


def _store(db: str | None, rules: Path | None = None) -> Any:
    try:
        from .service import ReportStore
    except ImportError as exc:
        raise _fail(
            LaporRouterError(f"the service needs pip install 'lapor_router[service]' ({exc})")
        ) from exc
    try:
        return ReportStore(Router.default(rules=rules), db)
    except LaporRouterError as exc:
        raise _fail(exc) from exc


@app.command("serve")
def serve_cmd(
    db: _DB = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8311,
    rules: Annotated[Path | None, typer.Option(help="Rule directory or file.")] = None,
    tiles: Annotated[
        str | None,
        typer.Option(help="Tile URL template ({z}/{x}/{y}) under the officers' page map."),
    ] = None,
    attribution: Annotated[str, typer.Option(help="The tiles' attribution.")] = "",
) -> None:
    """Serve Open311 GeoReport v2, the /v1/ lifecycle actions and the officers' page (/)
    over a report store."""
    from .service import serve

    store = _store(db, rules)
    err.print(f"serving {store.display_url()} on http://{host}:{port}", highlight=False)
    serve(store, host, port, tiles, attribution)


tokens_app = typer.Typer(no_args_is_help=True, help="Unit tokens for the service.")
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("add")
def tokens_add(
    unit_id: Annotated[str, typer.Argument(help="The unit the token acts for.")],
    db: _DB = None,
    label: Annotated[str | None, typer.Option(help="Who holds it (for you).")] = None,
) -> None:
    """Print a new token for UNIT_ID (shown once; the store keeps its hash only)."""
    store = _store(db)
    try:
        print(store.add_token(unit_id, label))
    except LaporRouterError as exc:
        raise _fail(exc) from exc


def _period(tz: Any, from_: str | None, to: str | None) -> tuple[Any, Any]:
    """--from/--to as aware datetimes (naive = WIB)."""
    from datetime import datetime as _dt

    try:
        start, end = ((_dt.fromisoformat(v) if v else None) for v in (from_, to))
    except ValueError as exc:
        raise _fail(LaporRouterError(f"--from/--to: {exc}")) from exc
    start, end = ((m if m is None or m.tzinfo else m.replace(tzinfo=tz)) for m in (start, end))
    return start, end


_FROM = Annotated[str | None, typer.Option("--from", help="Reports made from (ISO, WIB).")]
_TO = Annotated[str | None, typer.Option("--to", help="Reports made until (ISO, WIB).")]


@app.command("stats")
def stats_cmd(
    file: Annotated[
        Path | None,
        typer.Argument(help="A store export (`lapor-router export`) or a routed file."),
    ] = None,
    db: _DB = None,
    by: Annotated[str, typer.Option(help="unit, kelurahan, kota or category.")] = "unit",
    from_: _FROM = None,
    to: _TO = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write a bar chart (PNG).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Responsiveness of the reports in the store (--db) or in FILE: responded and resolved
    in time, office hours to respond and resolve, transfers, reopened, open and overdue.
    A routed file has no lifecycle columns: its reports count as open and the figures of
    response and resolution are left empty."""
    from .dispatch import stats_frame

    if file is not None and db is not None:
        raise _fail(LaporRouterError("give a FILE or --db, not both"))
    if file is not None:
        from .batch import stats_file

        router = Router.default()
        start, end = _period(router.calendar.tz, from_, to)
        try:
            rows, rejected = stats_file(file, router.calendar, by, start, end, router.now())
        except LaporRouterError as exc:
            raise _fail(exc) from exc
        if rejected:
            err.print(f"{rejected} record(s) of {file} could not be read (not counted)")
    else:
        store = _store(db)
        router = store.router
        start, end = _period(router.calendar.tz, from_, to)
        try:
            rows = store.stats(by, start, end)
        except LaporRouterError as exc:
            raise _fail(exc) from exc
    if csv_out is not None:
        stats_frame(rows, by).to_csv(csv_out, index=False)
    if png is not None:
        from .maps import stats_png

        stats_png(rows, by, png, router.group_names(by))
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(*(rows[0].keys() if rows else [by]))
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r.values()))
    out.print(table)


@app.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help=".csv, .jsonl or .parquet")],
    db: _DB = None,
    from_: _FROM = None,
    to: _TO = None,
) -> None:
    """Write the store's life table: one row per report with where it is, who holds it, its
    deadlines, first response, close, transfers and reopenings (no reporter, no text);
    `lapor-router stats FILE` computes the same figures from it as from the store."""
    from .files import write_table

    store = _store(db)
    start, end = _period(store.router.calendar.tz, from_, to)
    try:
        table = store.life_table(start, end)
        write_table(table, output)
    except LaporRouterError as exc:
        raise _fail(exc) from exc
    out.print(f"wrote {len(table)} report(s) to {output}", highlight=False)


@app.command("escalate-due")
def escalate_due_cmd(db: _DB = None) -> None:
    """Escalate every open report past its response deadline (idempotent; for cron)."""
    store = _store(db)
    done = store.escalate_due()
    out.print(
        f"escalated {len(done)} report(s)" + (f": {', '.join(done)}" if done else ""),
        highlight=False,
    )


def main() -> None:
    """Entry point of the ``lapor-router`` command."""
    try:
        app()
    except LaporRouterError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
