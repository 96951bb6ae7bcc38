"""The nightly job as a Dagster code location: one asset group per source (dagster-dlt), the SQL models
downstream, a nightly schedule, and one run at a time.

Load it with `dagster dev -f deploy/dagster/definitions.py` (or `dagster code-server start -f ...`) from the
project directory, with `DAGSTER_HOME` holding `deploy/dagster/dagster.yaml`; see deploy/dagster/README.md.

- The warehouse is the CLI's: `Warehouse.from_config` (`[warehouse] destination` = duckdb, postgres or
  motherduck, with dlt's credentials), and `RETAIL_WAREHOUSE_DB` is the DuckDB shortcut the CLI's `--db` is.
  Each source's settings come from `.dlt/` or `SOURCES__*` env vars, as for the CLI.
- Each source's pipeline is `pipelines.nightly.make_pipeline`: the same name (`retail_<source>`), dataset
  and working directory as the cron job, so the two share state and either can run a night.
- Every asset is in the pool `retail_warehouse`; `dagster.yaml` limits that pool to one run at a time, and
  every step holds the CLI's `run_lock` (a lock file, or on Postgres an advisory lock) while it writes.
- A run writes the CLI's history (`ops.runs`, `ops.run_sources`) under the run id Dagster's UI shows, so
  `python -m pipelines status`, `history` and the alerts see Dagster's nights as they see cron's.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation at definition time.

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt import resource as dlt_resource  # `dlt` is the Dagster resource's name in the asset functions
from dlt.common.schema import Schema
from dlt.extract.resource import DltResource
from dlt.sources import DltSource

from pipelines.history import record_run
from pipelines.lock import LockBusy, run_lock
from pipelines.logs import first_line
from pipelines.models import discover
from pipelines.nightly import (
    DEFERRED,
    FAILED,
    SourceResult,
    deferral,
    failure_line,
    make_pipeline,
    rows_written,
)
from pipelines.registry import SOURCES, SourceSpec

# The CLI's own end of a run (runner.py): models, SQL tests, publish, the history's outcome and the alert.
from pipelines.runner import build_and_publish, finish_run_and_alert
from pipelines.warehouse import Warehouse, WarehouseError, engine_errors
from sources.http import CallCounter, redact
from sources.integrity import take_notes

DB_ENV = "RETAIL_WAREHOUSE_DB"
POOL = "retail_warehouse"  # every asset: dagster.yaml lets one run that holds it go at a time
NIGHTLY_CRON = "30 2 * * *"  # as deploy/crontab
JOB = "retail_nightly"
# The lock or the history cannot reach the warehouse (a server down, a login refused).
WAREHOUSE_ERRORS: tuple[type[BaseException], ...] = (WarehouseError, *engine_errors())


def configured_warehouse() -> Warehouse:
    """The CLI's warehouse: the DuckDB file `RETAIL_WAREHOUSE_DB` (as `--db`), else `[warehouse]`'s."""
    db = os.environ.get(DB_ENV)
    try:
        return Warehouse.from_config(Path(db) if db else None)
    except WarehouseError as exc:  # the code location shows this line instead of a stack
        raise dg.DagsterInvariantViolationError(str(exc)) from None


class SourceTables(DagsterDltTranslator):
    """Asset keys `<source>/<resource>` (the schema and the table the resource loads), in the source's group.

    No upstream assets: the APIs are outside Dagster.
    """

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        resource: DltResource = data.resource
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(key=dg.AssetKey([resource.source_name, resource.name]), deps=[])
        )


def named_source(spec: SourceSpec) -> DltSource:
    """A stand-in of the source with its name and its resources' names only, to name its assets when the
    code location loads: no settings read, no API called. Each run builds the real source."""
    return DltSource.from_data(
        Schema(spec.name), spec.name, [dlt_resource([], name=name) for name in spec.resources]
    )


def history_id(context: AssetExecutionContext) -> str:
    """The run's id in `ops.runs`: the first 8 characters of Dagster's run id, as its UI shows them."""
    return context.run.run_id[:8]


def run_started_at(context: AssetExecutionContext) -> datetime:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record else None
    return datetime.fromtimestamp(started, UTC) if started else datetime.now(UTC)


def source_assets(spec: SourceSpec, warehouse: Warehouse) -> dg.AssetsDefinition:
    """The source's resources as one multi-asset (group `<source>`), loaded by dagster-dlt's runner."""

    @dlt_assets(
        dlt_source=named_source(spec),
        dlt_pipeline=make_pipeline(spec.name, warehouse),
        name=spec.name,
        group_name=spec.name,
        dagster_dlt_translator=SourceTables(),
        pool=POOL,
    )
    def load(context: AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        # Built now, not at load: config read as the run starts, and a fresh source for every run.
        take_notes(spec.name)
        calls = CallCounter()  # the source's session counts its requests, retries included
        result = SourceResult(spec.name, started_at=datetime.now(UTC))
        try:
            with run_lock(warehouse):  # a cron run or the CLI on the same warehouse waits its turn too
                try:
                    pipeline = make_pipeline(spec.name, warehouse)
                    source = spec.build(False, counter=calls)
                    yield from dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline)
                    result.rows = rows_written(pipeline)
                    result.notes = spec.reconcile(pipeline) if spec.reconcile else []
                    deferred = deferral(pipeline, spec.name)
                    if deferred:
                        result.status, result.error = DEFERRED, deferred
                except Exception as exc:
                    result.status, result.error = FAILED, failure_line(spec, exc)
                result.ended_at, result.api_calls = datetime.now(UTC), calls.value
                record_source(context, warehouse, result)
        except LockBusy as exc:
            raise dg.Failure(description=f"{spec.name}: {exc}; this run loads nothing") from None
        except WAREHOUSE_ERRORS as exc:  # the lock or the history: the server is down
            raise dg.Failure(description=warehouse_line(spec.name, exc)) from None
        if result.status == FAILED:
            raise dg.Failure(description=result.error, metadata={"api_calls": calls.value})
        context.log.info(f"{spec.name}: {calls.value} API calls")
        for note in [*result.notes, *take_notes(spec.name)]:
            context.log.info(redact(f"{spec.name}: note: {note}"))
        if result.status == DEFERRED:
            context.log.warning(redact(f"{spec.name}: deferred: {result.error}"))

    return load


def warehouse_line(step: str, exc: BaseException) -> str:
    """One line for a warehouse that cannot be locked or written: the CLI's line, or the engine's first."""
    if isinstance(exc, WarehouseError):
        return f"{step}: {exc}"
    return redact(f"{step}: warehouse: {type(exc).__name__}: {first_line(exc)}")


def record_source(context: AssetExecutionContext, warehouse: Warehouse, result: SourceResult) -> None:
    """Add the source to the run's history; a failed source ends the run there: Dagster skips the models."""
    run_id = record_run(warehouse, run_started_at(context), [result], run_id=history_id(context))
    if result.status == FAILED:
        # The history says failed; the alert names every source of the run that did not succeed so far.
        finish_run_and_alert(warehouse, run_id, run_results(warehouse, run_id), 1, None)


def run_results(warehouse: Warehouse, run_id: str) -> list[SourceResult]:
    """The sources this run recorded, for its alert (a deferred source is one a human should know of)."""
    with warehouse.connect(read_only=True) as con:
        rows = con.fetchall("select source, status, error from ops.run_sources where run_id = ?", [run_id])
    return [SourceResult(source, status, error=error) for source, status, error in rows]


def model_specs(source_keys: Mapping[str, list[dg.AssetKey]], warehouse: Warehouse) -> list[dg.AssetSpec]:
    """One asset per model in `sql/` (`<schema>/<relation>`), depending on what its SQL reads.

    A raw table is a source's resource of the same name, else the whole source (a resource may load
    several tables, e.g. Pinogy's purchase orders and their lines).
    """
    models = discover()
    specs = []
    for model in models.values():
        deps: set[dg.AssetKey] = set()
        for relation in model.depends_on:
            schema, name = relation.split(".", 1)
            if relation in models:
                deps.add(dg.AssetKey([schema, name]))
            elif schema in source_keys:
                key = dg.AssetKey([schema, name])
                deps |= {key} if key in source_keys[schema] else set(source_keys[schema])
        specs.append(
            dg.AssetSpec(
                key=dg.AssetKey([model.schema, model.name]),
                deps=sorted(deps, key=str),
                group_name="models",
                description=f"{model.kind} built from sql/{model.path.parent.name}/{model.path.name}",
                kinds={warehouse.engine, "sql"},
                skippable=True,  # a model whose source never loaded is skipped, as in the nightly
            )
        )
    return specs


def models_asset(warehouse: Warehouse, source_keys: Mapping[str, list[dg.AssetKey]]) -> dg.AssetsDefinition:
    """Every model built in one step (marts swap in one transaction), then the SQL tests, then publish; the
    run's history row closed as the CLI closes it."""

    @dg.multi_asset(name="models", specs=model_specs(source_keys, warehouse), pool=POOL, can_subset=False)
    def models(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        try:
            with run_lock(warehouse):
                status, report, error = build_and_publish(warehouse)  # prints the CLI's summary
                run_id = record_run(warehouse, run_started_at(context), [], run_id=history_id(context))
                status = finish_run_and_alert(
                    warehouse, run_id, run_results(warehouse, run_id), status, (status, report, error)
                )
        except LockBusy as exc:
            raise dg.Failure(description=f"models: {exc}; no model built") from None
        except WAREHOUSE_ERRORS as exc:
            raise dg.Failure(description=warehouse_line("models", exc)) from None
        if report is None:
            raise dg.Failure(description=error or "models: a model failed")
        for relation, why in report.skipped.items():
            context.log.warning(f"models: skipped {relation} ({why})")
        for relation in report.built:
            yield dg.MaterializeResult(asset_key=dg.AssetKey(relation.split(".", 1)))
        if not report.ok:
            failed = ", ".join(f"{name} ({rows} rows)" for name, rows in report.tests_failed.items())
            raise dg.Failure(description=f"models: SQL tests failed: {failed}; serving file not published")
        if status:
            raise dg.Failure(description="models: built and tested, but not published (or not recorded)")

    return models


def build_definitions(warehouse: Warehouse | None = None) -> dg.Definitions:
    """The code location for `warehouse` (default: `configured_warehouse()`)."""
    warehouse = warehouse or configured_warehouse()
    sources = [source_assets(spec, warehouse) for spec in SOURCES.values()]
    source_keys = {name: sorted(a.keys, key=str) for name, a in zip(SOURCES, sources, strict=True)}
    nightly = dg.define_asset_job(
        JOB,
        selection=dg.AssetSelection.all(),
        # One process, one step at a time: DuckDB lets one process write the file; each step takes the lock.
        executor_def=dg.in_process_executor,
        description="Every source, then the models: the nightly job of deploy/crontab",
    )
    return dg.Definitions(
        assets=[*sources, models_asset(warehouse, source_keys)],
        jobs=[nightly],
        schedules=[
            dg.ScheduleDefinition(
                name="retail_nightly_schedule",
                job=nightly,
                cron_schedule=NIGHTLY_CRON,
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
        resources={"dlt": DagsterDltResource()},
    )


defs = build_definitions()
