"""`python -m pipelines` (also installed as `retail-warehouse`): the nightly job's command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipelines.lock import LockBusy, RunLock
from pipelines.logs import setup_logging
from pipelines.registry import SOURCES
from pipelines.warehouse_file import run_checked, warn_if_readable_by_others

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


WAREHOUSE = "warehouse.duckdb"  # every command's default --db, beside where cron runs it


def _source_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown source(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SOURCES)}"
        )
    return names


def add_db_option(
    command: argparse.ArgumentParser, what: str = "DuckDB file", default: str = WAREHOUSE
) -> None:
    """Give a command the `--db FILE` option: the warehouse it works on."""
    command.add_argument("--db", type=Path, default=Path(default), help=f"{what} (default: {default})")


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
    add_db_option(run, "DuckDB file to load into")
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
    add_db_option(models)

    status = commands.add_parser(
        "status",
        help="silent when fresh; else each source's last load, age and last error, exit 1 (for cron)",
        description="Check the run history (ops schema). When every selected source loaded within "
        "--max-age-hours and the last run's SQL tests passed, print nothing and exit 0 (so cron mails only "
        "on trouble); otherwise print, per source, the last successful load, its age and its last error, "
        "post an alert if a webhook is configured, and exit 1.",
    )
    add_db_option(status)
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
    add_db_option(export)

    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report (spend, margins, MAP, stock cover, hours)",
        description="Write one HTML file with charts drawn inline (no network needed to view it).",
    )
    report.add_argument("--out", type=Path, default=Path("report.html"), help="file to write (report.html)")
    add_db_option(report)

    sql = commands.add_parser(
        "sql",
        help="the duckdb shell on the serving file (read-only)",
        description="Open DuckDB's own shell (history, line editing, Ctrl-C cancels a query) read-only "
        "on the serving file the last good night published: schemas analytics and ops.",
    )
    add_db_option(sql, "the warehouse's DuckDB file")
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
    add_db_option(migrate)

    demo = commands.add_parser(
        "demo",
        help="run the nightly job against local API simulators",
        description="Start local stand-ins of the APIs and load them into a fresh file.",
    )
    add_db_option(demo, default="demo.duckdb")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    return run_checked(args, _command)  # paths checked, files private, misuse one line (warehouse_file.py)


def _command(args: argparse.Namespace) -> int:
    # Each command's modules load only now, after run_checked's checks: some read the cwd when imported.
    if args.command == "demo":
        # The demo alone needs the simulators: loaded here, so the nightly commands never import them.
        from simulators.demo import run_demo

        return run_demo(args.db)
    if args.command == "models":
        from pipelines.runner import build_models

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
        from pipelines.status import print_status

        warn_if_readable_by_others(args.db)
        return print_status(args.db, args.sources, args.max_age_hours, args.json, args.verbose)
    from pipelines.runner import dry_run, run

    if args.dry_run:
        return dry_run(args.sources)
    return run(args.db, args.sources, args.full_refresh, args.skip_models, args.allow_shrink)


def migrate_storage(db: Path) -> int:
    """Rewrite `db` in the compatible storage format, holding the run lock so no night writes meanwhile."""
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
