"""Build the SQL models in `sql/` on the warehouse, in dependency order, then run the SQL tests.

Plain SQL files, one relation per file, so they read as SQL and could move to dbt-duckdb unchanged:
- `sql/seeds/<name>.csv`        → table `seeds.<name>` (hand-kept crosswalks)
- `sql/staging/<name>.sql`      → view `staging.<name>`
- `sql/intermediate/int_<name>.sql` → table `intermediate.int_<name>` (building blocks, not served)
- `sql/marts/<name>.sql`        → table `analytics.<name>`
- `sql/tests/<model>__<check>.sql`  a query returning offending rows; zero rows passes.

Every staging view, intermediate and mart states its grain and key once, in its header (`-- grain: ...`,
`-- key: col[, col]`); the runner turns the key into the test `<model>__key_unique_not_null`, which runs
and reports like a file test.

Dependencies are the `schema.relation` names a file mentions. A model whose upstream relation does not
exist (a source never loaded) is skipped with a note, and so is everything downstream of it; the
rest still builds. Marts are rebuilt inside one transaction, so a dashboard never sees half a build
(Postgres DDL is transactional too).

The same files build on DuckDB and on Postgres: they are written in DuckDB's dialect, inside the
portable subset of sql/README.md, and `pipelines.warehouse` transpiles them with sqlglot for Postgres.
The runner itself only drops and creates (neither engine needs `create or replace table`) and loads
seeds through Python, not `read_csv`.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import sqlglot

from pipelines.registry import SOURCES
from pipelines.sql_names import quoted
from pipelines.warehouse import POSTGRES, Connection, Warehouse

log = logging.getLogger("retail.models")

# Beside the package in a checkout (or an editable install); else in the working directory (a container).
SQL_DIR = next(
    (d for d in (Path(__file__).resolve().parent.parent / "sql", Path.cwd() / "sql") if d.is_dir()),
    Path("sql"),
)
RAW_SCHEMAS = tuple(SOURCES)  # each source loads into the schema of its name
MODEL_SCHEMAS = {"seeds": "seeds", "staging": "staging", "intermediate": "intermediate", "marts": "analytics"}
TABLE_FOLDERS = ("intermediate", "marts")  # built as tables; staging as views; each SQL model states its key
# Tables earlier versions built that no file defines any more: dropped, so BI never reads them stale.
RETIRED = ("analytics.product_matches",)  # now intermediate.int_product_matches
# A relation is read where it follows FROM or JOIN (CTE aliases such as `pinogy.x` elsewhere are not).
_REFERENCE = re.compile(
    r"(?i)\b(?:from|join)\s+(" + "|".join((*RAW_SCHEMAS, *MODEL_SCHEMAS.values())) + r")\.(\w+)\b"
)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_KEY = re.compile(r"(?im)^--\s*key:\s*(\w+(?:\s*,\s*\w+)*)\s*$")


def _sql_errors() -> tuple[type[Exception], ...]:
    """The errors a model's SQL can raise: from sqlglot (transpiling) or either engine."""
    errors: tuple[type[Exception], ...] = (duckdb.Error, sqlglot.errors.SqlglotError)
    try:
        import psycopg2  # the `postgres` extra
    except ImportError:
        return errors
    return (*errors, psycopg2.Error)


SQL_ERRORS = _sql_errors()


@dataclass
class Model:
    name: str
    schema: str
    path: Path
    kind: str  # seed | view | table
    depends_on: set[str] = field(default_factory=set)  # "schema.relation"
    key: tuple[str, ...] = ()  # from the header's `-- key:` line

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql_name(self) -> str:
        """The relation as SQL text names it (quoted: a seed's file name cannot end a statement)."""
        return quoted(self.schema, self.name)


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # relation -> why
    tests_passed: list[str] = field(default_factory=list)
    tests_failed: dict[str, int] = field(default_factory=dict)  # test -> offending rows
    tests_skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.tests_failed

    def summary(self) -> str:
        lines = [
            f"models: {len(self.built)} built, {len(self.skipped)} skipped; tests: "
            f"{len(self.tests_passed)} passed, {len(self.tests_failed)} failed, "
            f"{len(self.tests_skipped)} skipped ({self.seconds:.1f}s)"
        ]
        lines += [f"  skipped {rel}: {why}" for rel, why in self.skipped.items()]
        lines += [f"  FAILED test {name}: {n} offending rows" for name, n in self.tests_failed.items()]
        return "\n".join(lines)


def discover(sql_dir: Path = SQL_DIR) -> dict[str, Model]:
    """Return every model under `sql_dir` by relation name, with the relations each one reads."""
    models: dict[str, Model] = {}
    for path in sorted((sql_dir / "seeds").glob("*.csv")):
        model = Model(path.stem, "seeds", path, "seed")
        models[model.relation] = model
    for folder, kind in (("staging", "view"), *((f, "table") for f in TABLE_FOLDERS)):
        for path in sorted((sql_dir / folder).glob("*.sql")):
            sql = path.read_text()
            model = Model(path.stem, MODEL_SCHEMAS[folder], path, kind, references(sql), declared_key(sql))
            model.depends_on.discard(model.relation)
            if not model.key:
                raise ModelError(
                    f"models: sql/{folder}/{path.name} must state its key once: one `-- key: col[, col]` "
                    "line (and a `-- grain: ...` line) in its header"
                )
            models[model.relation] = model
    return models


def declared_key(sql: str) -> tuple[str, ...]:
    """Return the key columns a model's `-- key: col[, col]` header line states (none: empty)."""
    found = _KEY.findall(sql)
    return tuple(c.strip() for c in found[0].split(",")) if len(found) == 1 else ()


def key_test(model: Model) -> str:
    """Return the test query for a model's key: rows whose key repeats or has a null part."""
    cols = ", ".join(model.key)
    nulls = " or ".join(f"{c} is null" for c in model.key)
    return (
        f"select {cols}, count(*) as n\nfrom {model.sql_name}\n"
        f"group by {cols}\nhaving {nulls} or count(*) > 1"
    )


def references(sql: str) -> set[str]:
    """Return the `schema.relation` names an SQL text reads (comments ignored)."""
    return {f"{schema}.{name}" for schema, name in _REFERENCE.findall(_COMMENT.sub(" ", sql))}


def build(warehouse: Warehouse, sql_dir: Path = SQL_DIR) -> BuildReport:
    """Build every model that can be built on `warehouse`, then run the SQL tests; return what happened."""
    started = time.monotonic()
    report = BuildReport()
    models = discover(sql_dir)
    try:
        order = list(
            TopologicalSorter({rel: m.depends_on & models.keys() for rel, m in models.items()}).static_order()
        )
    except CycleError as exc:
        raise ValueError(f"models: dependency cycle between {exc.args[1]}") from None
    with warehouse.connect() as con:
        existing = con.relations()
        for schema in MODEL_SCHEMAS.values():
            con.execute(f"create schema if not exists {quoted(schema)}")
        with con.transaction():
            for rel in RETIRED:
                con.execute(f"drop table if exists {quoted(*rel.split('.'))}")
            for rel in order:
                model = models[rel]
                missing = sorted(
                    d
                    for d in model.depends_on
                    if d in report.skipped or (d not in models and d not in existing)
                )
                if missing:
                    report.skipped[rel] = "needs " + ", ".join(missing)
                    con.execute(f"drop {_kind_sql(model)} if exists {model.sql_name}")
                    continue
                _build_one(con, model)
                report.built.append(rel)
        _run_tests(con, sql_dir, models, report)
    report.seconds = time.monotonic() - started
    for rel, why in report.skipped.items():
        log.info("models: skipped %s (%s)", rel, why)
    return report


def _kind_sql(model: Model) -> str:
    return "view" if model.kind == "view" else "table"


def _build_one(con: Connection, model: Model) -> None:
    """Drop and create the model's relation (Postgres has no `create or replace table`)."""
    try:
        con.execute(f"drop {_kind_sql(model)} if exists {model.sql_name}")
        if model.kind == "seed":
            _load_seed(con, model)
        else:
            con.execute(f"create {_kind_sql(model)} {model.sql_name} as\n{model.path.read_text()}")
        if model.kind != "view" and con.dialect == POSTGRES:
            # A new table has no statistics on Postgres until autovacuum comes by; without them its
            # planner picks nested loops (a foreign-key test took 5 s instead of 0.05 s on the demo world).
            # DuckDB keeps statistics as it writes.
            con.execute(f"analyze {model.sql_name}")
    except SQL_ERRORS as exc:
        raise ModelError(
            f"models: building {model.relation} from {model.path.name} failed: {_first_line(exc)}"
        ) from None


def _load_seed(con: Connection, model: Model) -> None:
    """Create a seed's table from its CSV: every column text, an empty field NULL (as DuckDB reads it)."""
    with model.path.open(newline="") as fh:
        header, *rows = list(csv.reader(fh))
    con.execute(f"create table {model.sql_name} ({', '.join(f'{quoted(c)} varchar' for c in header)})")
    if rows:
        row_marks = "(" + ", ".join("?" * len(header)) + ")"
        con.execute(
            f"insert into {model.sql_name} values {', '.join([row_marks] * len(rows))}",
            [value or None for row in rows for value in row],
        )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ModelError(RuntimeError):
    """A model's SQL does not run: a bug in `sql/`, reported as one line naming the file."""


def _run_tests(con: Connection, sql_dir: Path, models: dict[str, Model], report: BuildReport) -> None:
    existing = con.relations()
    tests = {f"{m.name}__key_unique_not_null": (key_test(m), {m.relation}) for m in models.values() if m.key}
    for path in sorted((sql_dir / "tests").glob("*.sql")):
        sql = path.read_text()
        tests[path.stem] = (sql, references(sql))
    for name, (sql, reads) in sorted(tests.items()):
        missing = sorted(d for d in reads if d in report.skipped or d not in existing)
        if missing:
            report.tests_skipped[name] = "needs " + ", ".join(missing)
            continue
        try:
            offending = con.fetchall(f"select * from (\n{sql}\n) as offending limit 6")
        except SQL_ERRORS as exc:
            raise ModelError(f"models: test {name} does not run: {_first_line(exc)}") from None
        if offending:
            count = con.fetchone(f"select count(*) from (\n{sql}\n) as offending")
            report.tests_failed[name] = int(count[0]) if count else len(offending)
            log.error("models: test %s failed; first offending rows: %s", name, offending[:5])
        else:
            report.tests_passed.append(name)
