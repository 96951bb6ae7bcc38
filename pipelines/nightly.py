"""Run the selected sources one after another into one warehouse, each in its own schema.

One failing source never stops the others; the run's exit status says whether all succeeded.
A stop signal does: under `stop_signals()`, SIGTERM or SIGINT makes the current source stop at dlt's next
safe point (the next extracted item, or between normalize/load jobs), and no further source starts. A load
package left pending is finished by the next run, as after a kill. A second signal stops at once.
Each source has its own dlt pipeline (`retail_<source>`) whose working directory belongs to the warehouse
(beside a DuckDB file, or `[warehouse] pipelines_dir`), so two warehouses never share incremental state;
if that directory is lost, dlt restores the state from the warehouse itself. The destination is the
warehouse's (`Warehouse.from_config`: DuckDB, Postgres or MotherDuck).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.exceptions import SignalReceivedException
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.logs import first_line, protect_dlt_logger
from pipelines.registry import SOURCES, SourceSpec
from pipelines.sql_names import quote_dlt_load_paths, quoted
from pipelines.warehouse import Warehouse, as_warehouse
from pipelines.warehouse_file import delete_completed_load_packages
from sources.http import CallCounter, SourceError, redact
from sources.integrity import take_notes

log = logging.getLogger("retail.nightly")

SUCCEEDED, FAILED, DEFERRED, INTERRUPTED = "succeeded", "failed", "deferred", "interrupted"


@dataclass
class SourceResult:
    source: str
    status: str = SUCCEEDED
    seconds: float = 0.0
    api_calls: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # rows written this run, per table
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # from the source's reconcile step, for the summary
    started_at: datetime | None = None
    ended_at: datetime | None = None


@contextmanager
def stop_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into a request to stop at the next safe point, for as long as the run lasts.

    dlt's own interception, held for the whole run rather than per step: its extract, normalize and load
    steps check the same flag, and `stop_requested()` tells the run not to start anything new.
    """
    with signals.intercepted_signals():
        yield


def stop_requested() -> int | None:
    """Return the stop signal this run received (SIGTERM or SIGINT), or None."""
    if not signals.was_signal_received():
        return None
    exc = signals.exception_for_signal()
    return exc.signal_code if isinstance(exc, SignalReceivedException) else None


def signal_name(code: int) -> str:
    return signal.Signals(code).name


def pipelines_dir_for(db_path: Path) -> Path:
    """Return the dlt working directory that belongs to this warehouse file (by default)."""
    return Warehouse(path=db_path).working_dir


def make_pipeline(source: str, warehouse: Warehouse | Path) -> dlt.Pipeline:
    """Return the dlt pipeline `retail_<source>` loading into `warehouse` (or a DuckDB file's path)."""
    warehouse = as_warehouse(warehouse)
    delete_completed_load_packages()
    quote_dlt_load_paths()
    pipeline = dlt.pipeline(
        pipeline_name=f"retail_{source}",
        destination=warehouse.destination(),
        dataset_name=source,
        pipelines_dir=str(warehouse.working_dir),
    )
    protect_dlt_logger()  # dlt sets up its log handler lazily, with the first pipeline
    return pipeline


def run_sources(
    warehouse: Warehouse | Path, names: list[str], full_refresh: bool = False, allow_shrink: bool = False
) -> list[SourceResult]:
    """Load each named source into `warehouse`; return one result per source run, failures included.

    After a stop signal no further source starts: the results end with the interrupted one.
    """
    results = []
    for name in names:
        code = stop_requested()
        if code:
            log.warning("run: stopped by %s; not starting %s", signal_name(code), name)
            continue
        results.append(run_source(SOURCES[name], warehouse, full_refresh, allow_shrink))
    return results


def run_source(
    spec: SourceSpec, warehouse: Warehouse | Path, full_refresh: bool, allow_shrink: bool = False
) -> SourceResult:
    warehouse = as_warehouse(warehouse)
    result = SourceResult(spec.name, started_at=datetime.now(UTC))
    take_notes(spec.name)
    started, counter = time.monotonic(), CallCounter()  # the source's session counts into it
    log.info(
        "%s: loading into %s (schema %s)%s",
        spec.name,
        warehouse.label,
        spec.name,
        " with a full refresh" if full_refresh else "",
    )
    try:
        pipeline = make_pipeline(spec.name, warehouse)
        pipeline = _finish_interrupted_load(pipeline, spec.name)
        source = spec.build(full_refresh, allow_shrink, counter=counter)
        info = pipeline.run(source)
        result.rows = rows_written(pipeline)
        if spec.reconcile is not None:
            result.notes = spec.reconcile(pipeline)
        deferred = deferral(pipeline, spec.name)
        if deferred:
            result.status, result.error = DEFERRED, deferred
        log.debug("%s: %s", spec.name, redact(info))
    except SignalReceivedException as exc:
        result.status, result.error = INTERRUPTED, f"{spec.name}: stopped by {signal_name(exc.signal_code)}"
    except Exception as exc:  # a bug must not stop the other sources; the traceback goes to DEBUG
        if not isinstance(exc, ConfigFieldMissingException | SourceError | PipelineStepFailed):
            log.debug("%s: unexpected error", spec.name, exc_info=True)
        result.status = FAILED
        result.error = failure_line(spec, exc, unexpected_hint=" (run with --log-level DEBUG)")
    result.notes.extend(take_notes(spec.name))  # future-dated records, rejected records
    code = stop_requested()
    if code and result.status in (FAILED, INTERRUPTED):  # whatever the step made of the signal
        result.status = INTERRUPTED
        result.error = (
            f"{spec.name}: stopped by {signal_name(code)}; nothing is lost: the next run finishes a load "
            "left pending and reads again what was not loaded"
        )
    result.seconds = time.monotonic() - started
    result.ended_at = datetime.now(UTC)
    result.api_calls = counter.value
    if result.status in (FAILED, INTERRUPTED):
        log.error("%s", result.error)
    else:
        log.info(
            "%s: %s in %.1fs, %d API calls, %d rows",
            spec.name,
            result.status,
            result.seconds,
            result.api_calls,
            sum(result.rows.values()),
        )
    return result


def deferral(pipeline: dlt.Pipeline, source: str) -> str | None:
    """Return why the source stopped early on purpose this run (a spent quota), or None.

    A source says so in its own result: `deferred` in a resource's `last_run` state, written every run.
    """
    resources = pipeline.state.get("sources", {}).get(source, {}).get("resources", {})
    reasons = [str((r.get("last_run") or {}).get("deferred") or "") for r in resources.values()]
    return "; ".join(reason for reason in reasons if reason) or None


def _finish_interrupted_load(pipeline: dlt.Pipeline, source: str) -> dlt.Pipeline:
    """Load what a killed run left extracted; if it cannot load, drop it and fall back to the warehouse state.

    A dropped package's state reaches the warehouse only with its data, so the next extract re-reads
    what that package held: nothing is lost, and merge keys keep it from doubling. (If a package loaded
    its state but not all its tables, the periodic full refresh heals it.)
    """
    if not pipeline.has_pending_data:
        return pipeline
    log.warning("%s: finishing a load left pending by an interrupted run", source)
    try:
        pipeline.normalize()
        pipeline.load()
    except PipelineStepFailed as exc:
        if stop_requested():
            raise  # stopped, not broken: the package stays for the next run
        log.warning(
            "%s: the pending load cannot finish (%s); discarding it and restoring state from the warehouse",
            source,
            type(_root_cause(exc)).__name__,
        )
        # dlt's abort removes the package and rewinds local state and schemas to before it.
        pipeline.abort_packages()
    return pipeline


def rows_written(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace else None
    counts = dict(info.row_counts) if info else {}
    return {t: n for t, n in sorted(counts.items()) if not t.startswith("_dlt")}


def failure_line(spec: SourceSpec, exc: BaseException, unexpected_hint: str = "") -> str:
    """The one line a failed source run prints: source, call and fix; no secret, no traceback.

    A missing setting names its key; a SourceError is already that line (also when a dlt step wraps it);
    anything else is its type and first line, redacted (`unexpected_hint` follows a bug's line).
    """
    cause = _root_cause(exc) if isinstance(exc, PipelineStepFailed) else exc
    if isinstance(cause, SourceError):
        return str(cause)
    if isinstance(cause, ConfigFieldMissingException):
        return spec.missing_config_line(cause.fields)
    if isinstance(exc, PipelineStepFailed):
        return redact(f"{spec.name}: {exc.step} step failed: {type(cause).__name__}: {first_line(cause)}")
    return redact(f"{spec.name}: unexpected {type(exc).__name__}: {first_line(exc)}{unexpected_hint}")


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen.__cause__ is not None or (seen.__context__ is not None and not seen.__suppress_context__):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
        if isinstance(seen, SourceError | ConfigFieldMissingException):
            return seen
    return seen


def table_totals(warehouse: Warehouse | Path, schemas: list[str]) -> dict[str, dict[str, int]]:
    """Return {schema: {table: rows}} for the data tables now in the warehouse."""
    warehouse = as_warehouse(warehouse)
    totals: dict[str, dict[str, int]] = {}
    if not warehouse.exists():
        return totals
    with warehouse.connect(read_only=True) as con:
        rows = con.fetchall(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(?) and table_name not like '\\_dlt%' escape '\\' "
            "order by 1, 2",
            [schemas],
        )
        for schema, table in rows:
            count = con.fetchone(f"select count(*) from {quoted(schema, table)}")
            totals.setdefault(schema, {})[table] = int(count[0]) if count else 0
    return totals


def format_summary(results: list[SourceResult], totals: dict[str, dict[str, int]], seconds: float) -> str:
    """Return the end-of-run table: per source its status, time and calls, per table rows written/held."""
    lines = [
        f"{'source':<14} {'status':<10} {'time':>7} {'calls':>6}  {'table':<30} {'written':>9} {'in db':>9}"
    ]
    for r in results:
        tables = sorted(set(r.rows) | set(totals.get(r.source, {}))) or ["-"]
        for i, table in enumerate(tables):
            head = (
                f"{r.source:<14} {r.status:<10} {r.seconds:>6.1f}s {r.api_calls:>6}" if i == 0 else " " * 39
            )
            written = r.rows.get(table, 0) if table != "-" else 0
            held = totals.get(r.source, {}).get(table, 0)
            lines.append(f"{head}  {table:<30} {written:>9} {held:>9}")
        if r.error:
            lines.append(f"{'':<14} error: {r.error}")
        lines.extend(f"{'':<14} note: {note}" for note in r.notes)
    ok = sum(r.status in (SUCCEEDED, DEFERRED) for r in results)
    lines.append(f"{ok}/{len(results)} sources loaded in {seconds:.1f}s")
    return "\n".join(lines)
