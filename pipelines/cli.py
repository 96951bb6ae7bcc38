"""`python -m pipelines` (also installed as `retail-warehouse`): the nightly job's command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipelines.destinations import resolve_warehouse
from pipelines.logs import setup_logging
from pipelines.registry import SOURCES
from pipelines.warehouse import WarehouseError
from pipelines.warehouse_file import run_checked, warn_if_readable_by_others

DESCRIPTION = """Sync the retail APIs (Pinogy POS, Pinnacle Cart, Plugivery, PinMeTo) into a DuckDB warehouse.

Each source loads into its own schema of the DuckDB file. Credentials come from .dlt/secrets.toml
([sources.<name>]) or environment variables such as SOURCES__PINOGY__PASSWORD. The warehouse can be a
Postgres server (or MotherDuck) instead: [warehouse] destination = "postgres" and dlt's
[destination.postgres.credentials] (README: Another engine)."""

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
  python -m pipelines history                      # the last runs, per source, from ops.runs
  python -m pipelines dlt pipeline retail_pinogy info   # dlt's CLI on this warehouse's pipelines

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
    command: argparse.ArgumentParser, what: str = "DuckDB file", default: str | None = None
) -> None:
    """Give a command the `--db FILE` option: the warehouse it works on.

    Without a default, no `--db` means the configured warehouse (`[warehouse] destination`; a DuckDB
    file `warehouse.duckdb` unless configured otherwise): `resolve_warehouse` decides.
    """
    help_default = default or f"the configured warehouse, else {WAREHOUSE}"
    command.add_argument(
        "--db",
        type=Path,
        default=Path(default) if default else None,
        help=f"{what} (default: {help_default})",
    )


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

    history = commands.add_parser(
        "history",
        help="the last runs and, per run, each source's status, rows, API calls and error",
        description="Print the latest runs of ops.runs, newest first, each with its sources.",
    )
    add_db_option(history)
    history.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    history.add_argument("--json", action="store_true", help="print them as JSON")

    dlt_cli = commands.add_parser(
        "dlt",
        help="dlt's own CLI (dlt pipeline NAME info|trace|schema|drop ...) on this warehouse's pipelines",
        description="Run `dlt ARGS` with --pipelines-dir set to the warehouse's dlt working directory and "
        "the destination's credentials in dlt's environment, so `dlt pipeline retail_pinogy info`, "
        "`trace`, `schema` and `drop` find the pipelines and act on the right database. drop, sync and "
        "abort-packages hold the run lock meanwhile.",
    )
    add_db_option(dlt_cli)
    dlt_cli.add_argument("dlt_args", nargs=argparse.REMAINDER, metavar="ARGS", help="dlt's arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        resolve_warehouse(args)
    except WarehouseError as exc:  # credentials missing, an unknown engine: one line naming the setting
        logging.getLogger("retail").error("%s: %s", args.command, exc)
        return 1
    return run_checked(args, _command)  # paths checked, files private, misuse one line (warehouse_file.py)


def _command(args: argparse.Namespace) -> int:
    # Each command's modules load only now, after run_checked's checks: some read the cwd when imported.
    if args.command == "demo":
        # The demo alone needs the simulators: loaded here, so the nightly commands never import them.
        from simulators.demo import run_demo

        return run_demo(args.db)
    if args.command == "models":
        from pipelines.runner import build_models

        return build_models(args.target)
    if args.command == "history":
        from pipelines.history import print_history

        return print_history(args.target, args.limit, args.json)
    if args.command == "dlt":
        from pipelines.dlt_cli import run_dlt

        return run_dlt(args.target, args.dlt_args)
    if args.command == "export":
        from pipelines.export import export_command

        return export_command(args.target, args.to, args.format)
    if args.command == "report":
        from pipelines.report import write_report

        if not args.target.exists():
            logging.getLogger("retail").error("report: %s does not exist; run the nightly job first", args.db)
            return 1
        print(f"report written to {write_report(args.target, args.out)}")
        return 0
    if args.command == "sql":
        from pipelines.sql_shell import open_shell

        return open_shell(args.db, args.warehouse)
    if args.command == "migrate-storage":
        from pipelines.storage import migrate_storage

        return migrate_storage(args.db)
    if args.command == "status":
        from pipelines.status import print_status

        if args.db is not None:
            warn_if_readable_by_others(args.db)
        return print_status(args.target, args.sources, args.max_age_hours, args.json, args.verbose)
    from pipelines.runner import dry_run, run

    if args.dry_run:
        if not args.target.is_file:  # a server: reachable with these credentials? (else one line, exit 1)
            with args.target.connect(read_only=True):
                print(f"{'warehouse':<14} ok      {args.target.label}")
        return dry_run(args.sources)
    return run(args.target, args.sources, args.full_refresh, args.skip_models, args.allow_shrink)
