"""The registry of source specs: each source describes itself once, and the job reads it from there."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from pipelines.models import RAW_SCHEMAS
from pipelines.registry import SOURCES
from simulators.demo import simulator_env, start_simulators
from tests.conftest import REPO, cli, query


def test_the_nightly_package_imports_no_simulator() -> None:
    code = (
        "import importlib, pkgutil, sys, pipelines;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(pipelines.__path__, 'pipelines.')"
        " if m.name != 'pipelines.__main__'];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulators'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_every_spec_starts_its_simulator_and_its_env_passes_its_own_dry_run(db: Path) -> None:
    with ExitStack() as stack:
        sims = start_simulators(stack)
        assert set(sims) == set(SOURCES) == set(RAW_SCHEMAS)
        out = cli("run", "--dry-run", "--db", str(db), env=simulator_env(sims))
    assert out.returncode == 0, out.stdout + out.stderr
    assert [line.split()[:2] for line in out.stdout.splitlines()] == [[name, "ok"] for name in SOURCES]
    assert not db.exists()


def test_a_missing_key_reads_the_same_in_a_dry_run_as_in_a_run(db: Path) -> None:
    line = SOURCES["plugivery"].missing_config_line(["token"])
    assert line == (
        "plugivery: config: missing SOURCES__PLUGIVERY__TOKEN (fix: set it in .dlt/secrets.toml under "
        "[sources.plugivery] or as an environment variable)"
    )
    dry = cli("run", "--dry-run", "--sources", "plugivery", "--db", str(db))
    night = cli("run", "--sources", "plugivery", "--db", str(db), "--skip-models")
    assert line in dry.stdout
    assert line in night.stdout + night.stderr


def test_the_demo_takes_the_run_lock_and_leaves_a_warehouse_being_loaded_alone(db: Path) -> None:
    import duckdb

    from pipelines.lock import RunLock

    with duckdb.connect(str(db)) as con:
        con.execute("create table loading as select 42 as rows_so_far")
    with RunLock(db):
        out = cli("demo", "--db", str(db))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "another run (pid" in out.stderr
    assert query(db, "select rows_so_far from loading") == [(42,)]
