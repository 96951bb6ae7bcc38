"""Running every night without a human: the lock, the run history, `status`, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.history import RunOutcome, finish_run, record_run
from pipelines.lock import RunLock, lock_path_for
from pipelines.nightly import SourceResult
from pipelines.publish import publish
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import cli, pinogy_env_for, plugivery_env_for, query


def test_a_second_run_while_one_holds_the_lock_exits_at_once(db: Path, pinogy_sim: PinogySimulator) -> None:
    with RunLock(db):
        out = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
    assert out.returncode == 3
    assert "another run (pid " in out.stderr and "exits without loading" in out.stderr
    assert pinogy_sim.calls == []


def test_a_killed_runs_stale_lock_is_taken_over(db: Path, pinogy_sim: PinogySimulator) -> None:
    # A run killed with SIGKILL leaves its PID in the lock file; the kernel already dropped its flock.
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    holder.kill()
    holder.wait()
    lock_path_for(db).write_text(str(holder.pid))
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
    assert out.returncode == 0, out.stderr
    assert f"taking over a stale lock left by pid {holder.pid}" in out.stderr
    assert lock_path_for(db).read_text() == ""  # a clean exit leaves no PID behind


def test_a_run_killed_before_closing_its_row_is_marked_killed_by_the_next(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    # What SIGKILL during the models leaves: the run's row opened (`running`) and never closed.
    dead = record_run(db, datetime.now(UTC), [])
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
    assert out.returncode == 0, out.stderr
    rows = dict(query(db, "select run_id, status from ops.runs"))
    assert rows.pop(dead) == "killed" and list(rows.values()) == ["succeeded"]
    (error,) = query(db, "select error from ops.runs where run_id = ?", [dead])[0]
    assert "ended without closing its row" in error and next(iter(rows)) in error
    assert cli("status", "--db", str(db), "--sources", "pinogy").returncode == 0  # the next night counts


def test_history_records_success_failure_and_deferral_with_row_counts(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    with PlugiverySimulator(token="TEST-PLUGIVERY-TOKEN-5f0d", now=1_795_000_000) as plugivery:
        plugivery.day_limit = 8  # the quota runs out mid-run: deferred
        env = {
            **pinogy_env_for(pinogy_sim),
            **plugivery_env_for(plugivery),
            "SOURCES__PINMETO__ACCOUNT_ID": "x",
            "SOURCES__PINMETO__APP_ID": "x",
            "SOURCES__PINMETO__APP_SECRET": "x",
            "SOURCES__PINMETO__API_URL": "http://127.0.0.1:9",
        }
        out = cli("run", "--sources", "pinogy,pinmeto,plugivery", "--db", str(db), "--skip-models", env=env)
    assert out.returncode == 1  # pinmeto failed
    rows = {
        r[0]: r[1:]
        for r in query(
            db, "select source, status, rows_total, api_calls, error, rows_written from ops.run_sources"
        )
    }
    assert rows["pinogy"][0] == "succeeded"
    [(pos,)] = query(db, "select count(*) from pinogy.purchase_orders")
    [(lines,)] = query(db, "select count(*) from pinogy.purchase_order_lines")
    assert rows["pinogy"][1] == pos + lines and json.loads(rows["pinogy"][4])["purchase_orders"] == pos
    assert rows["pinmeto"][0] == "failed" and rows["pinmeto"][3].startswith("pinmeto: POST /oauth/token")
    assert rows["plugivery"][0] == "deferred" and "error 472" in rows["plugivery"][3]
    assert rows["plugivery"][1] > 0


def test_status_is_fresh_after_a_run_and_stale_when_old(db: Path) -> None:
    now = datetime.now(UTC)
    record_run(db, now - timedelta(hours=1), [SourceResult("pinogy", rows={"purchase_orders": 3})])
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into ops.run_sources values ('old', 'plugivery', ?, ?, 'succeeded', '{}', 0, 1, null)",
            [now - timedelta(hours=50), now - timedelta(hours=49)],
        )
    db.chmod(0o600)  # else status warns (rightly) that others can read it
    fresh = cli("status", "--db", str(db), "--sources", "pinogy")
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (0, "", "")  # cron mails nothing
    assert "fresh" in cli("status", "--db", str(db), "--sources", "pinogy", "--verbose").stdout
    stale = cli("status", "--db", str(db), "--sources", "pinogy,plugivery,pinmeto")
    assert stale.returncode == 1
    assert "STALE" in stale.stdout and "never" in stale.stdout
    assert "stale sources (older than 26 h): plugivery, pinmeto" in stale.stderr


def test_json_logs_are_one_object_per_line_and_redacted(db: Path, pinogy_sim: PinogySimulator) -> None:
    env = {**pinogy_env_for(pinogy_sim), "SOURCES__PINOGY__PASSWORD": "TEST-JSON-WRONG-PW-99"}
    out = cli("--log-format", "json", "run", "--sources", "pinogy", "--db", str(db), env=env)
    entries = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert entries and len(entries) == len([ln for ln in out.stderr.splitlines() if ln.strip()])
    [error] = [e for e in entries if e["level"] == "ERROR"]
    assert error["source"] == "pinogy" and "POST /apps/any/sessions" in error["message"]
    assert "TEST-JSON-WRONG-PW-99" not in out.stderr


def test_dry_run_checks_each_source_with_one_cheap_call_and_loads_nothing(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    with PlugiverySimulator(token="TEST-PLUGIVERY-TOKEN-5f0d", now=1_795_000_000) as plugivery:
        env = {**pinogy_env_for(pinogy_sim), **plugivery_env_for(plugivery)}
        out = cli("run", "--dry-run", "--sources", "pinogy,plugivery,pinmeto", "--db", str(db), env=env)
        assert [c.params.get("act") for c in plugivery.calls] == ["info"]  # free: no read spent
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith("pinogy") and " ok " in lines[0]
    assert lines[1].startswith("plugivery") and " ok " in lines[1] and "reads today 0" in lines[1]
    assert lines[2].startswith("pinmeto") and "missing SOURCES__PINMETO__ACCOUNT_ID" in lines[2]
    assert [c.path for c in pinogy_sim.calls] == ["/apps/any/sessions", "/apps/any/sessions/mine"]
    assert not db.exists()


def test_export_writes_every_mart_atomically_and_row_for_row(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics")
        con.execute(
            "create table analytics.dim_thing as select range as thing_key, 'x' || range as name "
            "from range(250)"
        )
        con.execute(
            "create table analytics.fct_stuff as select range % 7 as thing_key, range * 1.5 as amount "
            "from range(1000)"
        )
    publish(db)  # export reads the published serving file
    for fmt in ("parquet", "csv"):
        out = cli("export", "--to", str(tmp_path / fmt), "--format", fmt, "--db", str(db))
        assert out.returncode == 0, out.stderr
        files = sorted(p.name for p in (tmp_path / fmt).iterdir())
        assert files == [f"dim_thing.{fmt}", f"fct_stuff.{fmt}"]  # no partial files left behind
        reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
        for table in ("dim_thing", "fct_stuff"):
            diff = query(
                db,
                f"select count(*) from (select * from analytics.{table} except all "
                f"select * from {reader}('{tmp_path / fmt / (table + '.' + fmt)}'))",
            )
            assert diff == [(0,)]


def test_runs_table_records_each_sources_times_and_the_models_and_tests_results(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    env = pinogy_env_for(pinogy_sim)
    first = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert first.returncode == 0, first.stderr
    [run] = query(
        db,
        "select run_id, started_at, ended_at, status, exit_code, models_built, models_skipped, tests_passed, "
        "tests_failed, failed_tests from ops.runs",
    )
    run_id, started, ended, status, exit_code, built, skipped, passed, failed, failed_tests = run
    assert (status, exit_code, failed, json.loads(failed_tests)) == ("succeeded", 0, 0, {})
    assert built > 0 and skipped > 0 and passed > 0  # one source: some marts need the others
    [(source_run, source_started, source_ended)] = query(
        db, "select run_id, started_at, ended_at from ops.run_sources"
    )
    assert source_run == run_id and started <= source_started < source_ended <= ended

    # The API serves a new purchase order without a supplier: dim_supplier's key test fails.
    new_po = pinogy_sim.open_po()
    pinogy_sim.pos[new_po]["entity_id"] = None  # before any page with it was served (and cached)
    second = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert second.returncode == 1
    runs = query(db, "select status, exit_code, tests_failed, failed_tests from ops.runs order by started_at")
    assert [r[:3] for r in runs] == [("succeeded", 0, 0), ("failed", 1, 1)]
    assert list(json.loads(runs[1][3])) == ["dim_supplier__key_unique_not_null"]
    status = cli("status", "--db", str(db), "--sources", "pinogy")
    assert status.returncode == 1  # fresh, but the marts BI reads failed their tests
    assert "SQL tests failed: dim_supplier__key_unique_not_null" in status.stdout


def test_status_shows_each_sources_last_error_and_speaks_json(db: Path) -> None:
    now = datetime.now(UTC)
    long_ago, lately = now - timedelta(hours=30), now - timedelta(hours=2)
    loaded = SourceResult("pinogy", rows={"purchase_orders": 3}, ended_at=long_ago)
    finish_run(db, record_run(db, long_ago, [loaded]), RunOutcome("succeeded", 0))
    failed = SourceResult(
        "pinogy", status="failed", error="pinogy: GET /api/purchase_orders: HTTP 503", ended_at=lately
    )
    deferred = SourceResult(
        "plugivery", status="deferred", error="plugivery: act=list: error 472 (quota)", ended_at=lately
    )
    record_run(db, lately, [failed, deferred])
    out = cli("status", "--db", str(db), "--sources", "pinogy,plugivery")
    assert out.returncode == 1
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert "STALE" in rows["pinogy"] and rows["pinogy"].endswith(
        "failed: pinogy: GET /api/purchase_orders: HTTP 503"
    )
    assert "fresh" in rows["plugivery"] and "deferred: plugivery: act=list: error 472" in rows["plugivery"]

    as_json = cli("status", "--db", str(db), "--sources", "pinogy,plugivery", "--json")
    assert as_json.returncode == 1
    state = json.loads(as_json.stdout)
    assert state["ok"] is False and state["problems"] == ["stale: pinogy"]
    by_source = {s["source"]: s for s in state["sources"]}
    assert by_source["pinogy"]["is_stale"] and by_source["pinogy"]["last_status"] == "failed"
    assert by_source["pinogy"]["last_error"] == "pinogy: GET /api/purchase_orders: HTTP 503"
    assert by_source["plugivery"]["is_stale"] is False and 1.9 < by_source["plugivery"]["age_hours"] < 2.5
    fresh = json.loads(cli("status", "--db", str(db), "--sources", "plugivery", "--json").stdout)
    assert fresh["ok"] is True and fresh["problems"] == []


def test_a_warehouse_from_before_keeps_working_and_is_migrated_in_place(db: Path) -> None:
    before = datetime.now(UTC) - timedelta(hours=3)
    with duckdb.connect(str(db)) as con:  # the history as the previous version wrote it
        con.execute(
            "create schema ops; create table ops.run_sources (run_id varchar not null, "
            "source varchar not null, started_at timestamptz not null, ended_at timestamptz not null, "
            "status varchar not null, "
            "rows_written json, rows_total bigint, api_calls bigint, error varchar)"
        )
        con.execute(
            "insert into ops.run_sources values ('old', 'pinogy', ?, ?, 'succeeded', '{}', 5, 2, null)",
            [before, before],
        )
    db.chmod(0o600)
    status = cli("status", "--db", str(db), "--sources", "pinogy")
    assert (status.returncode, status.stdout, status.stderr) == (0, "", "")
    run_id = record_run(db, datetime.now(UTC), [SourceResult("pinmeto", rows={"locations": 2})])
    finish_run(db, run_id, RunOutcome("succeeded", 0, models_built=3))
    assert query(db, "select run_id, source, rows_total from ops.run_sources order by started_at") == [
        ("old", "pinogy", 5),
        (run_id, "pinmeto", 2),
    ]
    assert query(db, "select run_id, status, models_built from ops.runs") == [(run_id, "succeeded", 3)]
    with duckdb.connect(str(db)) as con:  # an ops.runs from before a column was added gets it back
        con.execute("alter table ops.runs drop column failed_tests")
    finish_run(db, run_id, RunOutcome("failed", 1, tests_failed={"t": 2}))
    [(failed_tests,)] = query(db, "select failed_tests from ops.runs")
    assert json.loads(failed_tests) == {"t": 2}
