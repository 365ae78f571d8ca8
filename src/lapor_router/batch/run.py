"""The chunk loop of a file run, on the local engine (:mod:`.engine`) or on Dask (:mod:`.dask`).

``route_file`` streams an input file (CSV, JSON Lines, GeoJSON or GeoParquet, by extension)
in chunks, routes every parseable row with :func:`lapor_router.dispatch.route_frame`, writes
rows that cannot be parsed at all to a rejects file, and keeps a checkpoint per chunk so that
``resume=True`` continues an interrupted run. Outputs are assembled under a temporary name and
renamed only when complete.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, cast

from ..errors import BatchError, NothingToResumeError
from ..files import (
    PART_SUFFIX,
    READERS,
    REJECT_COLUMNS,
    Chunk,
    ConcatMerge,
    ParquetMerge,
    Tally,
    append_file,
    csv_chunk_bounds,
    csv_delimiter,
    csv_header,
    empty_output,
    file_format,
    fingerprint,
    merge_parts,
    output_lock,
    parquet_batches,
    parquet_chunk,
    save,
    text_encoding,
    writable_folder,
)
from ..normalize import Columns
from ..router import Router
from .engine import Batch, Done, LocalEngine, PartWriter, ProcessEngine, Span

if TYPE_CHECKING:
    from rich.progress import Progress


def route_file(
    input: str | Path,
    output: str | Path,
    rejects: str | Path | None = None,
    *,
    resume: bool = False,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    columns: Columns | None = None,
    chunk_rows: int | None = None,
    router: Router | None = None,
    progress: bool | None = None,
    now: datetime | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """Re-route every row of ``input`` into ``output`` (formats by extension) and return the
    summary, which is also written beside the output as ``OUTPUT.summary.json``.

    Every input row ends up exactly once in ``output`` or in ``rejects`` (default
    ``OUTPUT.rejects.csv``); ``row_id`` in the two together is exactly 0..N-1. Work goes
    chunk by chunk under ``OUTPUT.parts/``; nothing named ``output`` exists until the run is
    complete. ``resume=True`` continues an interrupted run from its last completed chunk
    (:class:`~lapor_router.errors.NothingToResumeError` when there is none).
    ``workers``: with the local engine, route and write chunks in that many processes on
    this machine (default 1: in this process; on Linux, with no other Python thread
    running, the workers are forked from this process and share its router, else each
    loads its own, ~400 MB);
    ``engine="dask"`` routes chunks on a dask.distributed cluster (``scheduler`` address, or
    a LocalCluster of ``workers`` processes). ``encoding``: of a CSV, JSON Lines or GeoJSON
    input (default UTF-8; e.g. ``cp1252`` for a spreadsheet saved on Windows).
    ``delimiter``: of a CSV input (``,`` ``;`` ``|`` or tab; default: the one its header uses);
    with another one than a comma, coordinates and accuracies may have a decimal comma.
    ``chunk_rows``: rows read, routed and written at a time (default :data:`CHUNK_ROWS`; a
    resumed run keeps the chunk size it was started with).
    """
    src, dest = Path(input), Path(output)
    if workers is not None and workers < 1:
        raise BatchError(f"workers must be at least 1, not {workers}")
    if chunk_rows is not None and not _is_row_count(chunk_rows):
        raise BatchError(f"chunk_rows must be a whole number of at least 1, not {chunk_rows!r}")
    if not src.is_file():
        raise BatchError(f"{src}: no such input file")
    in_fmt, out_fmt = file_format(src), file_format(dest)
    if in_fmt == "parquet" and encoding is not None:
        raise BatchError(f"{src}: Parquet text is UTF-8 by definition; give no encoding")
    if in_fmt != "csv" and delimiter is not None:
        raise BatchError(f"{src}: a delimiter is for CSV input only")
    options = {} if in_fmt == "parquet" else {"encoding": text_encoding(encoding)}
    if in_fmt == "csv":
        options["delimiter"] = csv_delimiter(src, delimiter)
    rej = Path(rejects) if rejects else dest.with_name(dest.name + ".rejects.csv")
    if file_format(rej) != "csv":
        raise BatchError(f"{rej}: rejects are written as CSV (use a .csv name)")
    for target in (dest, rej):
        writable_folder(target)
    router = router or _default_router()
    with output_lock(dest):
        try:
            return _run(
                src, dest, rej, in_fmt, out_fmt, resume, engine, workers, scheduler,
                columns or Columns(), chunk_rows, router, progress, now, options,
            )  # fmt: skip
        except BaseException as exc:
            _drop_unstarted(dest, rej)
            if isinstance(exc, OSError):
                raise _os_error(exc, dest) from exc
            raise


def _drop_unstarted(dest: Path, rej: Path) -> None:
    """After a failed run: remove its work folder and partial outputs when no chunk was
    completed (a refused run leaves nothing behind); a run with completed chunks, or one
    that was putting its finished outputs in place, keeps them for ``--resume``."""
    work = dest.with_name(dest.name + ".parts")
    if not work.is_dir():
        return
    try:
        state = json.loads((work / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    if state.get("chunks") or state.get("finished") or any(work.glob("part-*")):
        return
    shutil.rmtree(work, ignore_errors=True)
    for partial, _ in _renames(dest, rej, dest.with_name(dest.name + ".summary.json")):
        partial.unlink(missing_ok=True)


def _os_error(exc: OSError, dest: Path) -> BatchError:
    """An operating-system failure during a run, as one line that says what to do."""
    where = exc.filename or dest
    if exc.errno == errno.ENOSPC:
        if not dest.with_name(dest.name + ".parts").is_dir():
            return BatchError(
                f"{where}: no space left on device before any chunk was complete: free "
                "some space, then run the same command again"
            )
        return BatchError(
            f"{where}: no space left on device. Completed chunks are kept in "
            f"{dest.name}.parts/: free some space, then run the same command with --resume"
        )
    return BatchError(f"{where}: {exc.strerror or exc}")


def _run(
    src: Path,
    dest: Path,
    rej: Path,
    in_fmt: str,
    out_fmt: str,
    resume: bool,
    engine: str,
    workers: int | None,
    scheduler: str | None,
    columns: Columns,
    chunk_rows: int | None,
    router: Router,
    progress: bool | None,
    now: datetime | None,
    options: dict[str, str],
) -> dict[str, Any]:
    summary_path = dest.with_name(dest.name + ".summary.json")
    work = dest.with_name(dest.name + ".parts")
    progress_file = work / "progress.json"
    # the interrupted run's checkpoint (read once)
    state: dict[str, Any] | None = None
    if resume and progress_file.is_file():
        state = json.loads(progress_file.read_text(encoding="utf-8"))
    if chunk_rows is None:  # a resumed run goes on in the chunks it was started with
        chunk_rows = _started_chunk_rows(state)
    settings = {
        "input": fingerprint(src),
        "output_format": out_fmt,
        "chunk_rows": chunk_rows,
        "encoding": options.get("encoding"),
        "delimiter": options.get("delimiter"),
        "columns": asdict(columns),
        # what answered: a resumed run must not mix two rule sets or boundary sets
        "boundary_set": router.boundaries.id,
        "rule_set": router.rules.fingerprint,
        "classifier": router.classifier.name,
        "asset_layers": list(router.asset_layers),
    }
    renames = _renames(dest, rej, summary_path)
    if state is not None:
        if state.get("finished"):  # stopped while putting the finished outputs in place
            return _finish(state["summary"], renames, work, progress_file)
        was, now_settings = state["settings"], json.loads(json.dumps(settings))
        changed = [k for k, v in now_settings.items() if was.get(k) != v]
        if changed:
            what = ", ".join(k.replace("_", " ") for k in changed)
            detail = "; ".join(
                f"{k.replace('_', ' ')}: {was.get(k)} → {now_settings[k]}"
                for k in changed
                if k in _NAMED
            )
            raise BatchError(
                f"{src}: the {what} changed since the interrupted run"
                + (f" ({detail})" if detail else "")
                + "; run again without --resume"
            )
    elif resume and work.is_dir() and dest.is_file() and summary_path.is_file():
        # the run had finished and was stopped while removing its work folder
        summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
        return _finish(summary, renames, work, progress_file)
    elif resume:
        raise NothingToResumeError(dest, complete=dest.is_file())
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        state = {
            "settings": settings,
            "now": (now or router.now().replace(microsecond=0)).isoformat(),
            "chunks": [],
        }
        save(progress_file, state)
    assert state is not None
    for stale in work.glob("*.tmp"):
        stale.unlink()
    # the counts of the chunks done, summed as each one is checkpointed: a checkpoint that
    # kept each chunk's counts grew by ~120 kB a chunk, and saving it each chunk made a run
    # quadratic in its chunks (12 MB written per chunk by the 100th). Checkpoints of earlier
    # versions kept them per chunk: summed here once.
    total = Tally.from_dict(state.get("tally", {}))
    for d in state["chunks"]:
        if "tally" in d:
            total.add(Tally.from_dict(d.pop("tally")))
    state["tally"] = total.counts()
    run_now = datetime.fromisoformat(state["now"])
    done = state["chunks"]
    position = done[-1]["next_position"] if done else 0
    rows_before = done[-1]["rows_end"] if done else 0
    reader = READERS[in_fmt](src, chunk_rows, position, rows_before, columns, **options)
    engine_impl = _make_engine(engine, router, workers, scheduler)
    # the progress bar's thread starts after the first chunk is in the engine's hands, so
    # that worker processes forked at the first chunk inherit no thread of this run
    bar: Progress | None = None
    task, started = None, False
    header_cols: list[str] | None = state.get("columns")
    # chunks in flight, oldest first: each one's checkpoint is saved only once its part and
    # rejects are in place, so checkpoints stay in chunk order
    pending: deque[tuple[Future[Done], str]] = deque()

    def settle() -> None:
        """Wait for the oldest chunk in flight, then checkpoint it."""
        nonlocal header_cols
        written, part_name = pending.popleft()
        finished = written.result()
        if header_cols is None:
            header_cols = finished.columns
            state["columns"] = header_cols
        state["reporter_columns"] = finished.reporter
        done.append(
            {
                "part": part_name,
                "next_position": finished.next_position,
                "rows_end": (done[-1]["rows_end"] if done else 0) + finished.rows_read,
            }
        )
        total.add(Tally.from_dict(finished.tally))
        state["tally"] = total.counts()
        save(progress_file, state)
        stream(work / part_name)
        if bar is not None and task is not None:
            bar.update(
                task,
                completed=finished.next_position if in_fmt in ("csv", "jsonl") else None,
                advance=None if in_fmt in ("csv", "jsonl") else 1,
            )

    # a Parquet, CSV or JSON Lines output is written as the chunks are checkpointed (a
    # resumed run's earlier ones first, fed once the first chunk is submitted: its thread
    # starts after any fork); a GeoJSON one is merged from the parts at the end
    merge: ParquetMerge | ConcatMerge | None = None

    def stream(part: Path) -> None:
        nonlocal merge
        if merge is None and out_fmt == "parquet":
            merge = ParquetMerge(work / "output.parquet")
        elif merge is None and out_fmt in ("csv", "jsonl"):
            head = csv_header(header_cols or []) if out_fmt == "csv" else b""
            merge = ConcatMerge(work / f"output.{out_fmt}", head)
        if merge is not None:
            merge.add(part)

    routed_all = False
    chunks = _chunks(reader, engine_impl, src, in_fmt, chunk_rows, rows_before, options)
    try:
        for chunk in chunks:
            k = len(done) + len(pending)
            finish = PartWriter(
                part=work / f"part-{k:06d}{PART_SUFFIX[out_fmt]}",
                rejects=work / f"rejects-{k:06d}.csv",
                fmt=out_fmt,
            )
            pending.append((engine_impl.submit(chunk, columns, run_now, finish), finish.part.name))
            if not started:  # the first chunk is in the engine's hands (workers forked)
                started = True
                bar = _progress(progress)
                size = src.stat().st_size if in_fmt in ("csv", "jsonl") else None
                task = bar.add_task("routing", total=size) if bar else None
                for d in done:
                    stream(work / d["part"])
            while len(pending) > engine_impl.window:
                settle()
        while pending:
            settle()
        routed_all = True
    finally:
        chunks.close()  # the read-ahead thread ends and the input file closes, error or not
        engine_impl.close()
        if bar is not None:
            bar.stop()
        if merge is not None and not routed_all:  # stopped by an error: no thread left behind
            merge.close()
    private_rows = total.rows_private
    parts = [work / d["part"] for d in done]
    partial = dest.with_name(dest.name + ".partial")
    if merge is not None and parts and merge.finish():
        os.replace(merge.dest, partial)
    elif parts:
        merge_parts(parts, partial, out_fmt, header_cols or [])
    else:
        empty_output(src, partial, out_fmt, columns, **options)
    rej_partial = rej.with_name(rej.name + ".partial")
    with open(rej_partial, "wb") as out:
        out.write((",".join(REJECT_COLUMNS) + "\n").encode())
        for k in range(len(done)):
            append_file(out, work / f"rejects-{k:06d}.csv")
    summary = {
        "input": str(src),
        "output": str(dest),
        "rejects": str(rej),
        "encoding": options.get("encoding"),
        "delimiter": options.get("delimiter"),
        "boundary_set": router.boundaries.id,
        "rule_set": router.rules.version,
        "rule_set_fingerprint": router.rules.fingerprint,
        "asset_layers": list(router.asset_layers),
        "run_started_at": state["now"],
        "chunks": len(done),
        **total.as_dict(),
    }
    summary["rerouted_kelurahan"] = dict(list(summary["rerouted_kelurahan"].items())[:50])
    summary["rerouted_unit"] = dict(list(summary["rerouted_unit"].items())[:50])
    warnings = []
    if private_rows and not state.get("reporter_columns"):
        warnings.append(
            f"{private_rows} private row(s) but no reporter column was named or recognised: "
            "only phones, e-mails and NIKs were masked (name them with --reporter-cols)"
        )
    undecoded = total.reject_reasons.get("bad encoding", 0)
    if undecoded and options.get("encoding") == "utf-8":
        warnings.append(
            f"{undecoded} row(s) rejected as not UTF-8: if the file was saved by a spreadsheet "
            "on Windows, run again with --encoding cp1252"
        )
    if warnings:
        summary["warnings"] = warnings
    summary_tmp = summary_path.with_name(summary_path.name + ".partial")
    summary_tmp.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if summary["rows_read"] != summary["rows_written"] + summary["rows_rejected"]:
        raise BatchError("row accounting failed: read != written + rejected")  # never expected
    state["finished"], state["summary"] = True, summary
    save(progress_file, state)
    return _finish(summary, renames, work, progress_file)


def _is_row_count(rows: Any) -> TypeGuard[int]:
    """A whole number of rows, at least 1 (not a bool)."""
    return isinstance(rows, int) and not isinstance(rows, bool) and rows >= 1


def _started_chunk_rows(state: Any) -> int:
    """The chunk size an interrupted run's checkpoint names, else :data:`CHUNK_ROWS` (what
    else the checkpoint lacks is said where its settings are compared)."""
    settings = state.get("settings") if isinstance(state, dict) else None
    rows = settings.get("chunk_rows") if isinstance(settings, dict) else None
    return rows if _is_row_count(rows) else CHUNK_ROWS


_NAMED = (
    "boundary_set",
    "rule_set",
    "classifier",
    "asset_layers",
    "output_format",
    "chunk_rows",
    "encoding",
    "delimiter",
)


def _chunks(
    reader: Iterator[Chunk],
    engine: Any,
    src: Path,
    in_fmt: str,
    chunk_rows: int,
    rows_before: int,
    options: dict[str, str],
) -> Generator[Chunk | Span | Batch]:
    """The chunks to route: read here, or, for worker processes, the first one read here (a
    bad header is refused before any worker starts on it) and the others as spans of a
    UTF-8 CSV that each worker reads itself, or as Parquet record batches that each worker
    makes a chunk."""
    if isinstance(engine, ProcessEngine) and in_fmt == "parquet":
        # a Parquet chunk's position is its first row: the rows before it
        batches = parquet_batches(src, chunk_rows, rows_before)
        head = next(batches, None)
        if head is not None:
            yield parquet_chunk(*head)
        for batch, row, geometry in batches:
            yield Batch(batch, row, geometry)
        return
    if not isinstance(engine, ProcessEngine):
        yield from _read_ahead(reader)
        return
    if in_fmt != "csv" or options["encoding"] != "utf-8":
        yield from reader
        return
    first = next(reader, None)
    getattr(reader, "close", lambda: None)()  # its file: the workers read their own
    if first is None:
        return
    yield first
    for pos, before, end, rows in csv_chunk_bounds(
        src, chunk_rows, first.next_position, rows_before + first.rows_read,
        delimiter=options["delimiter"],
    ):  # fmt: skip
        yield Span(src, in_fmt, chunk_rows, pos, before, end, rows, options)


# rows a chunk holds by default: a 600,000-row CSV→CSV run peaks ~55 MB lower with 40,000
# than with 50,000 (675–697 against 732–751 MB) in the same CPU time; 32,000 costs ~4 % more
CHUNK_ROWS = 40_000

_T = TypeVar("_T")
_END = object()


def _read_ahead(items: Iterator[_T]) -> Generator[_T]:
    """``items`` in order, the next one read on a thread ("lapor-reader") while the caller
    routes this one: one ahead at most, so one more chunk in memory. The reader's error is
    raised where its item would have come; when the caller stops, the read in flight ends
    and ``items`` is closed (its file with it). The readers' compiled kernels and Arrow
    release the GIL, so the read overlaps the routing."""
    with ThreadPoolExecutor(1, thread_name_prefix="lapor-reader") as pool:
        try:
            ahead = pool.submit(next, items, _END)
            while (item := ahead.result()) is not _END:
                ahead = pool.submit(next, items, _END)
                yield cast(_T, item)
        finally:
            ahead.cancel()
            pool.shutdown(wait=True)  # no read in flight while the file closes
            getattr(items, "close", lambda: None)()


def _renames(dest: Path, rej: Path, summary: Path) -> list[tuple[Path, Path]]:
    """(written name, final name) of a run's three outputs, output last."""
    return [(p.with_name(p.name + ".partial"), p) for p in (rej, summary, dest)]


def _finish(
    summary: dict[str, Any], renames: list[tuple[Path, Path]], work: Path, progress_file: Path
) -> dict[str, Any]:
    """Put the finished outputs in place and remove the work folder. Safe to repeat after
    a stop at any point: the checkpoint says "finished" until every output is in place, and
    goes first when the work folder is removed."""
    for partial, final in renames:
        if partial.exists():
            os.replace(partial, final)
    progress_file.unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    return summary


def _default_router() -> Router:
    return Router.default()


def _progress(enabled: bool | None) -> Progress | None:
    import sys

    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    bar.start()
    return bar


def _make_engine(engine: str, router: Router, workers: int | None, scheduler: str | None) -> Any:
    if engine == "local":
        return (
            LocalEngine(router) if not workers or workers == 1 else ProcessEngine(router, workers)
        )
    if engine == "dask":
        from .dask import DaskEngine

        return DaskEngine(router, workers=workers, scheduler=scheduler)
    raise BatchError(f"unknown engine {engine!r}; use 'local' or 'dask'")
