"""No SQL statement pastes a path or name from the command line, config or files: odd text stays text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.models import build
from pipelines.publish import publish
from pipelines.warehouse import DUCKDB, Warehouse
from simulators.pinogy import PinogySimulator
from tests.conftest import REPO, cli, pinogy_env_for, query

# Quotes, a semicolon, spaces, an SQL comment and non-ASCII: everything a pasted path would trip on.
ODD = 'Bob\'s "share"; drop table x; -- é'


def test_every_path_option_takes_quotes_semicolons_spaces_dashes_and_non_ascii(
    tmp_path: Path, pinogy_sim: PinogySimulator
) -> None:
    folder = tmp_path / ODD
    folder.mkdir()
    db = folder / "ware'house; --é.duckdb"
    ran = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
    assert ran.returncode == 0, ran.stderr
    [(pos,)] = query(db, "select count(*) from pinogy.purchase_orders")
    assert pos > 0
    assert cli("models", "--db", str(db)).returncode == 0
    status = cli("status", "--db", str(db), "--sources", "pinogy", "--verbose")
    assert status.returncode == 0 and "fresh" in status.stdout, status.stderr

    to = folder / "out; '--"
    exported = cli("export", "--db", str(db), "--to", str(to))
    assert exported.returncode == 0, exported.stderr
    marts = [
        r[0]
        for r in query(
            db, "select table_name from information_schema.tables where table_schema = 'analytics'"
        )
    ]
    assert marts and sorted(p.stem for p in to.iterdir()) == sorted(marts)
    with duckdb.connect() as con:
        for mart in marts:
            [(n,)] = con.execute(
                "select count(*) from read_parquet(?)", [str(to / f"{mart}.parquet")]
            ).fetchall()
            assert [(n,)] == query(db, f'select count(*) from analytics."{mart}"')

    out = folder / "report 'é'; --.html"
    reported = cli("report", "--db", str(db), "--out", str(out))
    assert reported.returncode == 0, reported.stderr
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")

    prompt = subprocess.run(  # the raw schemas are in the warehouse itself, not in the serving file
        [sys.executable, "-m", "pipelines", "sql", "--db", str(db), "--warehouse"],
        input="select count(*) as n from pinogy.purchase_orders;\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert prompt.returncode == 0 and str(pos) in prompt.stdout, prompt.stderr
    for done in (ran, exported, reported, prompt):
        assert "Traceback" not in done.stdout + done.stderr


def test_a_crafted_to_runs_no_extra_sql(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.dim_thing as select 1 as thing_key")
    publish(db)  # export reads the published serving file
    evil = tmp_path / "evil.csv"
    # Pasted into `copy ... to '<--to>/.dim_thing.parquet.partial'` this closed the quote, ran a second COPY
    # writing a file of its own choosing, and commented the rest out.
    crafted = tmp_path / f"x' (format csv); copy (select 42 as pwned) to '{evil}' (format csv); --"
    out = cli("export", "--db", str(db), "--to", str(crafted))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert not evil.exists()
    assert [p.name for p in crafted.iterdir()] == ["dim_thing.parquet"]


def test_a_seed_file_name_cannot_end_the_statement(tmp_path: Path, db: Path) -> None:
    sql_dir = tmp_path / "sql"
    for folder in ("seeds", "staging", "marts", "tests"):
        (sql_dir / folder).mkdir(parents=True)
    (sql_dir / "seeds" / 'odd"; create table main.pwned as select 1; --.csv').write_text("a,b\n1,x\n")
    report = build(Warehouse(DUCKDB, path=db), sql_dir)
    assert report.built == ['seeds.odd"; create table main.pwned as select 1; --']
    tables = query(db, "select table_schema, table_name from information_schema.tables")
    assert tables == [("seeds", 'odd"; create table main.pwned as select 1; --')]
