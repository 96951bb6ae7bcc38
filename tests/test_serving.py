"""The serving file BI tools read, and the DuckDB files every current DuckDB opens (issue 15 §1-2).

The older DuckDB is real: `make old-duckdb` (part of `make test`) installs duckdb 1.4.4, the engine BI
drivers bundle, into build/duckdb14/; these tests run that interpreter in a subprocess and fail when
it is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.publish import publish, serving_path_for
from simulators.demo import simulator_env, start_simulators
from simulators.pinogy import PinogySimulator
from tests.conftest import REPO, FaultRecord, cli, pinogy_env_for, query

OLD_PYTHON = REPO / "build" / "duckdb14" / "bin" / "python"

# Every table's rows as text, sorted and hashed: the same figures from any DuckDB release that reads the file.
DIGEST = """
import duckdb, hashlib, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set TimeZone = 'UTC'")
tables = {}
names = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
for schema, table in names:
    rows = con.execute(f'select columns(*)::varchar from "{schema}"."{table}"').fetchall()
    text = "\\n".join(sorted(repr(r) for r in rows))
    tables[f"{schema}.{table}"] = [len(rows), hashlib.sha256(text.encode()).hexdigest()]
print(json.dumps({"version": duckdb.__version__, "tables": tables}))
"""

# A dashboard: connects once, read-only, and answers the same question each time it is asked.
HOLDER = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
ask = '''select (select count(*) from analytics.fct_purchase_order_lines),
                (select published_at::varchar from ops.published)'''
print(json.dumps(con.execute(ask).fetchone()), flush=True)
for _ in sys.stdin:
    print(json.dumps(con.execute(ask).fetchone()), flush=True)
"""


def old_python() -> str:
    if not OLD_PYTHON.exists():
        pytest.fail("DuckDB 1.4 is missing: `make old-duckdb` (part of `make test`) creates build/duckdb14/")
    return str(OLD_PYTHON)


def digest(path: Path, python: str = sys.executable) -> dict[str, Any]:
    """Return {"version": ..., "tables": {schema.table: [rows, sha256]}} as `python`'s DuckDB reads `path`."""
    out = subprocess.run([python, "-c", DIGEST, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.fault("serving file", "a dashboard holds it open all night")
def test_a_duckdb_1_4_dashboard_holding_the_serving_file_open_never_blocks_a_night(
    db: Path, fault_record: FaultRecord
) -> None:
    with ExitStack() as stack:
        sims = start_simulators(stack)
        env = simulator_env(sims)
        first = cli("run", "--db", str(db), env=env)
        assert first.returncode == 0, first.stderr
        serving = serving_path_for(db)

        dashboard = subprocess.Popen(
            [old_python(), "-c", HOLDER, str(serving)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stack.callback(dashboard.kill)
        assert dashboard.stdout and dashboard.stdin
        yesterday = json.loads(dashboard.stdout.readline())

        pinogy = sims["pinogy"]
        assert isinstance(pinogy, PinogySimulator)
        pinogy.open_po(n_lines=3)
        night = cli("run", "--db", str(db), env=env)
        fault_record.record(exit_status=night.returncode)
        assert night.returncode == 0, night.stderr
        assert "published 12 marts" in night.stdout

        dashboard.stdin.write("again\n")
        dashboard.stdin.flush()
        assert json.loads(dashboard.stdout.readline()) == yesterday  # the held file is yesterday's, intact
        dashboard.stdin.close()
        assert dashboard.wait(timeout=60) == 0, dashboard.stderr.read() if dashboard.stderr else ""

    today = query(
        serving,
        "select (select count(*) from analytics.fct_purchase_order_lines), "
        "(select published_at::varchar from ops.published)",
    )[0]
    assert today[0] == yesterday[0] + 3 and today[1] > yesterday[1]
    fault_record.record(rows_expected=yesterday[0] + 3, rows_found=today[0])
    assert sorted(p.name for p in db.parent.iterdir() if "serving" in p.name) == [serving.name]

    # A new connection from DuckDB 1.4 reads tonight's file: every mart, row for row as DuckDB 2 reads it.
    old = digest(serving, old_python())
    assert old["version"].startswith("1.4.")
    marts = {t for t in old["tables"] if t.startswith("analytics.")}
    assert marts == {
        f"analytics.{name}"
        for (name,) in query(db, "select table_name from duckdb_tables() where schema_name = 'analytics'")
    }
    assert len(marts) == 12 and all(old["tables"][m][0] > 0 for m in marts)
    assert {t for t in old["tables"] if t.startswith("ops.")} == {"ops.source_freshness", "ops.published"}
    assert old["tables"] == digest(serving)["tables"]
    freshness = query(serving, "select source, last_run_status from ops.source_freshness order by 1")
    assert freshness == [(s, "succeeded") for s in ("pinmeto", "pinnacle_cart", "pinogy", "plugivery")]
    # The warehouse dlt created is readable too (raw schemas, dlt's tables): `sql --warehouse` works.
    assert digest(db, old_python())["tables"] == digest(db)["tables"]


@pytest.mark.fault("serving file", "an SQL test fails")
def test_a_night_whose_sql_tests_fail_leaves_yesterdays_serving_file_untouched(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord
) -> None:
    env = pinogy_env_for(pinogy_sim)
    assert cli("run", "--sources", "pinogy", "--db", str(db), env=env).returncode == 0
    serving = serving_path_for(db)
    before = (sha256(serving), serving.stat().st_ino)
    # Tonight the API sends a purchase order without its supplier: dim_supplier's key test fails.
    new_po = pinogy_sim.open_po(n_lines=2)
    with pinogy_sim._lock:
        pinogy_sim.pos[new_po]["entity_id"] = None
        pinogy_sim._invalidate()
    night = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    fault_record.record(exit_status=night.returncode)
    assert night.returncode == 1, night.stdout
    assert "FAILED test dim_supplier__key_unique_not_null" in night.stdout
    assert "published" not in night.stdout
    assert (sha256(serving), serving.stat().st_ino) == before
    assert sorted(p.name for p in db.parent.iterdir() if "serving" in p.name) == [serving.name]


@pytest.mark.fault("serving file", "its folder cannot be written")
def test_a_serving_file_that_cannot_be_written_fails_the_night_in_one_line(
    db: Path, tmp_path: Path, fault_record: FaultRecord
) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.t as select 1 as x")
    (tmp_path / "not-a-folder").write_text("")
    out = cli("models", "--db", str(db), env={"SERVING__FILE": str(tmp_path / "not-a-folder" / "s.duckdb")})
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if "publish:" in line]
    assert len(errors) == 1 and "the previous serving file is unchanged" in errors[0]
    assert "Traceback" not in out.stderr


def test_serving_file_is_set_in_config_and_never_the_warehouse(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.t as select 1 as x")
    target = tmp_path / "bi" / "retail.duckdb"
    (tmp_path / "project" / ".dlt" / "config.toml").write_text(f'[serving]\nfile = "{target}"\n')
    out = cli("models", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert query(target, "select x from analytics.t") == [(1,)]
    out = cli("models", "--db", str(db), env={"SERVING__FILE": str(db)})
    assert out.returncode == 1 and "is the warehouse itself" in out.stderr


def test_migrate_storage_makes_an_older_warehouse_readable_by_duckdb_1_4(
    db: Path, pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb.connect(str(db)).close()  # created as before this change: DuckDB 2's own format
    env = pinogy_env_for(pinogy_sim)
    assert cli("run", "--sources", "pinogy", "--db", str(db), env=env).returncode == 0
    refused = subprocess.run(
        [old_python(), "-c", DIGEST, str(db)], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0 and "version number" in refused.stderr
    before = digest(db)["tables"]

    out = cli("migrate-storage", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert "migrated" in out.stdout and "before-migration" in out.stdout
    assert digest(db, old_python())["tables"] == before  # every table, row for row
    assert digest(db.with_name("warehouse.before-migration.duckdb"))["tables"] == before
    assert not Path(f"{db}.wal").exists()

    again = cli("migrate-storage", "--db", str(db))
    assert again.returncode == 0 and "nothing to do" in again.stdout

    pinogy_sim.open_po(n_lines=2)  # the next night carries on incrementally from the migrated state
    night = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert night.returncode == 0, night.stderr
    lines, distinct = query(db, "select count(*), count(distinct id) from pinogy.purchase_order_lines")[0]
    assert lines == distinct == sum(len(v) for v in pinogy_sim.lines.values())


def test_export_reads_the_published_serving_file_not_the_warehouse(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.t as select range as x from range(10)")
    publish(db)
    with duckdb.connect(str(db)) as con:  # tonight's build, not yet published
        con.execute("insert into analytics.t select 99")
    out = cli("export", "--to", str(tmp_path / "out"), "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert query(db, f"select count(*) from read_parquet('{tmp_path / 'out' / 't.parquet'}')") == [(10,)]
    os.remove(serving_path_for(db))
    out = cli("export", "--to", str(tmp_path / "out"), "--db", str(db))
    assert out.returncode == 1 and "no serving file" in out.stderr
