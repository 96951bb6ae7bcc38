"""`python -m pipelines` (also installed as `retail-warehouse`): the nightly job's command line."""

from __future__ import annotations

import argparse
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.logs import setup_logging
from pipelines.registry import SOURCES
from pipelines.warehouse_file import (
    describe_duckdb_error,
    probe_writable,
    run_checked,
    warn_if_readable_by_others,
)

DESCRIPTION = """Sync the retail APIs (Pinogy POS, Pinnacle Cart, Plugivery, PinMeTo) into a DuckDB warehouse.

Each source loads into its own schema of the DuckDB file. Credentials come from .dlt/secrets.toml
([sources.<name>]) or environment variables such as SOURCES__PINOGY__PASSWORD."""

EPILOG = """examples:
  python -m pipelines run                          # nightly: every source into warehouse.duckdb
  python -m pipelines run --sources pinogy --db /data/retail.duckdb
  python -m pipelines run --full-refresh           # re-read everything, drop what vanished upstream
  python -m pipelines run --dry-run                # check config and connectivity, load nothing
  python -m pipelines status --max-age-hours 26    # for cron/monitors: silent and 0 unless stale
  python -m pipelines status --json                # the same state as JSON, for dashboards
  python -m pipelines export --to /srv/share       # every mart as Parquet, replaced atomically
  python -m pipelines sql                          # the duckdb shell on the serving file (read-only)
  python -m pipelines migrate-storage --db X       # once: make an older warehouse readable by DuckDB 1.4+
  python -m pipelines report --out report.html     # a self-contained HTML report
  python -m pipelines demo                         # local simulators -> demo.duckdb + demo.html

exit status: 0 when every selected source loaded (or was deferred), 1 when any failed or an SQL test
failed, 2 on a usage error (a --db, --to or --out path that cannot be used: one line says why), 3 when
another run or program holds the warehouse (the line names its PID), 143/130 when SIGTERM/SIGINT stopped
the run; `status` exits 1 when a source is stale or the last run's SQL tests failed."""


def _source_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown source(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SOURCES)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on stderr (default INFO)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="text for people (default), json (one object per line) for log collectors",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="load the sources into the warehouse (the nightly job)",
        description="Load the selected sources into the DuckDB warehouse, then build the SQL models.\n\n"
        "settings each source needs (.dlt/secrets.toml or environment):\n"
        + "\n".join(f"  {name:<14} {', '.join(spec.config_keys)}" for name, spec in SOURCES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--db",
        type=Path,
        default=Path("warehouse.duckdb"),
        help="DuckDB file to load into (default: warehouse.duckdb)",
    )
    run.add_argument(
        "--sources",
        type=_source_list,
        default=list(SOURCES),
        help=f"comma-separated subset of: {', '.join(SOURCES)} (default: all)",
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="re-read everything from the APIs and drop rows that vanished upstream",
    )
    run.add_argument(
        "--allow-shrink",
        action="store_true",
        help="let a full read shrink a table by more than max_shrink (default 10%%); see README, Reliability",
    )
    run.add_argument("--skip-models", action="store_true", help="load only; do not rebuild the SQL models")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check configuration and connectivity of each source (one cheap call each); load nothing",
    )

    models = commands.add_parser(
        "models",
        help="build the SQL models (sql/) and run their tests",
        description="Build staging views and analytics marts in dependency order, then run the SQL "
        "tests. Models whose sources were never loaded are skipped with a note.",
    )
    models.add_argument(
        "--db", type=Path, default=Path("warehouse.duckdb"), help="DuckDB file (default: warehouse.duckdb)"
    )

    status = commands.add_parser(
        "status",
        help="silent when fresh; else each source's last load, age and last error, exit 1 (for cron)",
        description="Check the run history (ops schema). When every selected source loaded within "
        "--max-age-hours and the last run's SQL tests passed, print nothing and exit 0 (so cron mails only "
        "on trouble); otherwise print, per source, the last successful load, its age and its last error, "
        "post an alert if a webhook is configured, and exit 1.",
    )
    status.add_argument("--db", type=Path, default=Path("warehouse.duckdb"), help="DuckDB file")
    status.add_argument("--sources", type=_source_list, default=list(SOURCES), help="sources to check")
    status.add_argument(
        "--max-age-hours",
        type=float,
        default=26.0,
        help="older than this is stale (default 26: a nightly run plus slack)",
    )
    status.add_argument("--json", action="store_true", help="print the state as JSON (always, fresh or not)")
    status.add_argument(
        "-v", "--verbose", action="store_true", help="print the table even when everything is fresh"
    )

    export = commands.add_parser(
        "export",
        help="write every mart as a Parquet or CSV file (atomically replaced), for BI tools",
        description="Write every relation of the analytics schema to DIR/<mart>.<format>; each file is "
        "replaced atomically, so a tool reading the folder never sees half a file.",
    )
    export.add_argument("--to", type=Path, required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="default parquet")
    export.add_argument("--db", type=Path, default=Path("warehouse.duckdb"), help="DuckDB file")

    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report (spend, margins, MAP, stock cover, hours)",
        description="Write one HTML file with charts drawn inline (no network needed to view it).",
    )
    report.add_argument("--out", type=Path, default=Path("report.html"), help="file to write (report.html)")
    report.add_argument("--db", type=Path, default=Path("warehouse.duckdb"), help="DuckDB file")

    sql = commands.add_parser(
        "sql",
        help="the duckdb shell on the serving file (read-only)",
        description="Open DuckDB's own shell (history, line editing, Ctrl-C cancels a query) read-only "
        "on the serving file the last good night published: schemas analytics and ops.",
    )
    sql.add_argument("--db", type=Path, default=Path("warehouse.duckdb"), help="the warehouse's DuckDB file")
    sql.add_argument(
        "--warehouse",
        action="store_true",
        help="open the warehouse itself (raw and staging schemas too); a nightly run cannot start meanwhile",
    )

    migrate = commands.add_parser(
        "migrate-storage",
        help="rewrite a warehouse created before DuckDB 1.4 compatibility, so DuckDB 1.4+ opens it",
        description="Copy the warehouse into a new file in the storage format DuckDB 1.4 and later read, "
        "check every table's row count, and rename it over the old one (kept as "
        "<name>.before-migration.duckdb). Takes the run lock; close BI tools on the warehouse first.",
    )
    migrate.add_argument(
        "--db", type=Path, default=Path("warehouse.duckdb"), help="DuckDB file (default: warehouse.duckdb)"
    )

    demo = commands.add_parser(
        "demo",
        help="run the nightly job against local API simulators",
        description="Start local stand-ins of the APIs and load them into a fresh file.",
    )
    demo.add_argument(
        "--db", type=Path, default=Path("demo.duckdb"), help="DuckDB file (default: demo.duckdb)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    return run_checked(args, _command)  # paths checked, files private, misuse one line (warehouse_file.py)


def _command(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from pipelines.demo import run_demo

        return run_demo(args.db)
    if args.command == "models":
        return build_models(args.db)
    if args.command == "export":
        from pipelines.export import export_marts
        from pipelines.publish import serving_path_for

        serving = serving_path_for(args.db)
        if not serving.exists():
            logging.getLogger("retail").error(
                "export: no serving file %s yet; a nightly run publishes it once the models pass "
                "(or run `python -m pipelines models --db %s`)",
                serving,
                args.db,
            )
            return 1
        try:
            files = export_marts(serving, args.to, args.format)
        except FileNotFoundError as exc:
            logging.getLogger("retail").error("%s", exc)
            return 1
        print(f"exported {len(files)} marts to {args.to}")
        return 0
    if args.command == "report":
        from pipelines.report import write_report

        if not args.db.exists():
            logging.getLogger("retail").error("report: %s does not exist; run the nightly job first", args.db)
            return 1
        print(f"report written to {write_report(args.db, args.out)}")
        return 0
    if args.command == "sql":
        from pipelines.sql_shell import open_shell

        return open_shell(args.db, args.warehouse)
    if args.command == "migrate-storage":
        return migrate_storage(args.db)
    if args.command == "status":
        warn_if_readable_by_others(args.db)
        return print_status(args.db, args.sources, args.max_age_hours, args.json, args.verbose)
    if args.dry_run:
        return dry_run(args.sources)
    return run(args.db, args.sources, args.full_refresh, args.skip_models, args.allow_shrink)


def dry_run(sources: list[str]) -> int:
    """Check each source's configuration and connectivity; print one line per source."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    from sources.http import SourceError, redact

    failed = 0
    for name in sources:
        try:
            check = SOURCES[name].check
            print(f"{name:<14} ok      {check() if check else 'no dry-run call'}")
        except ConfigFieldMissingException as exc:
            print(f"{name:<14} FAILED  {SOURCES[name].missing_config_line(exc.fields)}")
            failed += 1
        except SourceError as exc:
            print(f"{name:<14} FAILED  {exc}")
            failed += 1
        except Exception as exc:  # an unexpected failure of one check must not hide the others
            print(f"{name:<14} FAILED  {redact(f'{type(exc).__name__}: {exc}')}")
            failed += 1
    return 1 if failed else 0


def run(
    db: Path, sources: list[str], full_refresh: bool, skip_models: bool, allow_shrink: bool = False
) -> int:
    """The nightly job: lock the warehouse, load, record the run, build the models, summarise.

    SIGTERM/SIGINT stop it at the next safe point: no further source or model starts, the history says
    interrupted, and the exit status is 128 + the signal (143, 130).
    """
    from pipelines.lock import LockBusy, RunLock
    from pipelines.nightly import format_summary, run_sources, stop_requested, stop_signals, table_totals

    try:
        with RunLock(db), stop_signals():
            # A program holding the file open: one line naming its PID, before any API call.
            probe_writable(db)
            started, started_at = time.monotonic(), datetime.now(UTC)
            results = run_sources(db, sources, full_refresh=full_refresh, allow_shrink=allow_shrink)
            run_id = _record(db, started_at, results)
            print(format_summary(results, table_totals(db, sources), time.monotonic() - started))
            ok = run_id is not None and all(r.status in ("succeeded", "deferred") for r in results)
            status, models = (0 if ok else 1), None
            if not skip_models and not stop_requested():
                models = _build_models(db)
                status = max(status, models[0])
            return _finish_run(db, run_id, results, status, models)
    except LockBusy as exc:
        logging.getLogger("retail").error("run: %s; this run exits without loading", exc)
        return 3
    except KeyboardInterrupt as exc:  # a second Ctrl-C: stop at once, as promised
        code = getattr(exc, "signal_code", signal.SIGINT)
        logging.getLogger("retail").error("run: stopped at once by %s", signal.Signals(code).name)
        return 128 + code


def _record(db: Path, started_at: datetime, results: list[Any]) -> str | None:
    """Append the run to the history; return its id, or None (said in one line) when the file is busy."""
    import duckdb

    from pipelines.history import record_run

    try:
        return record_run(db, started_at, results)
    except duckdb.Error as exc:
        line, _ = describe_duckdb_error(db, exc)  # names the PID when a program holds it; no guessing
        logging.getLogger("retail").error("run history: cannot write ops.run_sources: %s", line)
        return None


def _finish_run(
    db: Path, run_id: str | None, results: list[Any], status: int, models: tuple[int, Any, str | None] | None
) -> int:
    """Close the run's history row (models, tests, status), alert if a human is needed; return the exit."""
    import duckdb

    from pipelines.alerts import notify, run_alert
    from pipelines.history import RunOutcome, finish_run
    from pipelines.nightly import signal_name, stop_requested

    stop = stop_requested()
    if stop:
        status = 128 + stop
        logging.getLogger("retail").error(
            "run: stopped by %s; no further source or model started (exit %d); the next run finishes "
            "what this one left",
            signal_name(stop),
            status,
        )
    outcome = RunOutcome(
        status="interrupted" if stop else "succeeded" if status == 0 else "failed",
        exit_code=status,
        stop_signal=signal_name(stop) if stop else None,
    )
    if models is not None:
        report, outcome.error = models[1], models[2]
        if report is not None:
            outcome.models_built, outcome.models_skipped = len(report.built), len(report.skipped)
            outcome.tests_passed, outcome.tests_failed = len(report.tests_passed), dict(report.tests_failed)
            outcome.tests_skipped = len(report.tests_skipped)
    if run_id is not None:
        try:
            finish_run(db, run_id, outcome)
        except duckdb.Error as exc:
            line, _ = describe_duckdb_error(db, exc)
            logging.getLogger("retail").error("run history: cannot write ops.runs: %s", line)
            run_id, status = None, max(status, 1)
    message = run_alert(db, run_id, results, outcome)
    if message:
        notify(message)
    return status


def print_status(
    db: Path, sources: list[str], max_age_hours: float, as_json: bool = False, verbose: bool = False
) -> int:
    """Say nothing and return 0 when every source is fresh and the last run's SQL tests passed; else print
    each source's last load, age and last error, alert, and return 1. `as_json` always prints."""
    import json

    from pipelines.alerts import notify, staleness_alert
    from pipelines.history import freshness, last_run

    rows = freshness(db, sources, max_age_hours)
    run = last_run(db)
    stale = [f.source for f in rows if f.is_stale]
    run_trouble = _run_trouble(run)
    trouble = bool(stale or run_trouble)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": not trouble,
                    "max_age_hours": max_age_hours,
                    "sources": [
                        {
                            "source": f.source,
                            "last_loaded_at": f.last_loaded_at,
                            "age_hours": None if f.age_hours is None else round(f.age_hours, 2),
                            "is_stale": f.is_stale,
                            "last_status": f.last_status,
                            "last_attempt_at": f.last_attempt_at,
                            "last_error": f.last_error,
                        }
                        for f in rows
                    ],
                    "last_run": run,
                    "problems": ([f"stale: {', '.join(stale)}"] if stale else []) + run_trouble,
                },
                default=str,
                indent=2,
            )
        )
    elif trouble or verbose:
        print(f"{'source':<14} {'last successful load (UTC)':<27} {'age (h)':>8}  {'state':<6} last error")
        for f in rows:
            when = f.last_loaded_at.strftime("%Y-%m-%d %H:%M:%S") if f.last_loaded_at else "never"
            age = f"{f.age_hours:.1f}" if f.age_hours is not None else "-"
            error = f"{f.last_status}: {f.last_error}" if f.last_error else "-"
            print(f"{f.source:<14} {when:<27} {age:>8}  {'STALE' if f.is_stale else 'fresh':<6} {error}")
        for line in run_trouble:
            print(line)
    if stale:
        logging.getLogger("retail").warning(
            "stale sources (older than %.0f h): %s", max_age_hours, ", ".join(stale)
        )
        message = staleness_alert(db, rows, max_age_hours)
        if message:
            notify(message)
    return 1 if trouble else 0


def _run_trouble(run: dict[str, Any] | None) -> list[str]:
    """What the latest run's models and SQL tests need a human for (empty when they passed)."""
    if run is None:
        return []
    when = f"last run {run['run_id']} ({run['started_at']:%Y-%m-%d %H:%M} UTC)"
    out = []
    if run.get("failed_tests"):
        tests = ", ".join(f"{name} ({rows} rows)" for name, rows in run["failed_tests"].items())
        out.append(f"{when}: SQL tests failed: {tests}")
    if run.get("error"):
        out.append(f"{when}: {run['error']}")
    return out


def build_models(db: Path) -> int:
    """Build the models and print their summary; publish the serving file when every SQL test passes.

    Return 1 when a model or an SQL test fails, or the serving file cannot be written.
    """
    return _build_models(db)[0]


def _build_models(db: Path) -> tuple[int, Any, str | None]:
    """`build_models`, returning also the build report (None if a model failed) and that model's error."""
    from pipelines.models import ModelError, build
    from pipelines.warehouse import DUCKDB, Warehouse

    try:
        report = build(Warehouse(DUCKDB, path=db))
    except ModelError as exc:
        print(str(exc))
        return 1, None, str(exc)
    print(report.summary())
    if not report.ok:
        return 1, report, None  # publish nothing: BI keeps yesterday's serving file
    from pipelines.publish import publish_or_explain

    return publish_or_explain(db), report, None


def migrate_storage(db: Path) -> int:
    """Rewrite `db` in the compatible storage format, holding the run lock so no night writes meanwhile."""
    from pipelines.lock import LockBusy, RunLock
    from pipelines.storage import StorageError, migrate

    try:
        with RunLock(db):
            print(migrate(db))
    except LockBusy as exc:
        logging.getLogger("retail").error("migrate-storage: %s; retry when it has finished", exc)
        return 3
    except StorageError as exc:
        logging.getLogger("retail").error("%s", exc)
        return 1
    return 0
