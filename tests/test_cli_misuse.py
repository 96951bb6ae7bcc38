"""Every misuse of the command line is one line naming the path, the cause and the fix, and a non-zero exit.

Commands that read never create a warehouse; `run` never creates a missing directory; a warehouse held
open by another program names that program's PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, FaultRecord, cli, one_error_line

READERS = ["status", "export", "report", "models", "sql"]


def path_args(command: str, tmp_path: Path) -> list[str]:
    """The other path options a command needs, pointing somewhere harmless."""
    return {"export": ["--to", str(tmp_path / "out")], "report": ["--out", str(tmp_path / "r.html")]}.get(
        command, []
    )


def warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics; create table analytics.t as select 1 as a")
    return path


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=pytest.mark.fault("cli", f"{c} on a missing warehouse")) for c in READERS],
)
def test_commands_that_read_refuse_a_missing_warehouse_and_never_create_it(
    command: str, db: Path, tmp_path: Path, fault_record: FaultRecord
) -> None:
    out = cli(command, "--db", str(db), *path_args(command, tmp_path))
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    one_error_line(out, f"{command}: --db {db}: no warehouse there", "python -m pipelines run --db")
    assert not db.exists() and not Path(f"{db}.wal").exists()


@pytest.mark.fault("cli", "--db is a text file, not DuckDB")
@pytest.mark.parametrize("command", ["run", "models", "export"])
def test_a_db_that_is_not_duckdb_is_refused_untouched(
    command: str, tmp_path: Path, fault_record: FaultRecord
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    out = cli(command, "--db", str(notes), *path_args(command, tmp_path))
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    line = one_error_line(out, f"--db {notes}: is not a DuckDB database")
    assert "another program" not in line  # the old wrong guess
    assert notes.read_text() == "not a database\n"


@pytest.mark.fault("cli", "--db is a directory")
@pytest.mark.parametrize("command", ["run", "models"])
def test_a_db_that_is_a_directory_is_refused(command: str, tmp_path: Path, fault_record: FaultRecord) -> None:
    out = cli(command, "--db", str(tmp_path))
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    one_error_line(out, f"--db {tmp_path}: is a directory", str(tmp_path / "warehouse.duckdb"))


@pytest.mark.fault("cli", "--db under /proc")
@pytest.mark.parametrize(
    ("command", "path"), [("run", "/proc/warehouse.duckdb"), ("status", "/proc/self/status")]
)
def test_a_db_under_proc_is_refused(command: str, path: str, fault_record: FaultRecord) -> None:
    out = cli(command, "--db", path)
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    one_error_line(out, f"--db {path}: is under /proc")


@pytest.mark.fault("cli", "current directory deleted")
def test_a_deleted_current_directory_is_one_line(db: Path, tmp_path: Path, fault_record: FaultRecord) -> None:
    warehouse(db)
    gone = tmp_path / "gone"
    gone.mkdir()
    out = subprocess.run(
        [
            "sh",
            "-c",
            'cd "$1" && rmdir "$1" && exec "$2" -m pipelines status --db "$3"',
            "sh",
            gone,
            sys.executable,
            db,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    one_error_line(out, "the current directory no longer exists", "cd to the project directory")


@pytest.fixture
def held(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another program (a Python process here) holding the warehouse open for writing."""
    warehouse(db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    yield holder
    holder.communicate("", timeout=30)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(c, marks=pytest.mark.fault("cli", f"{c}: warehouse held open by another program"))
        # `export` is not here: it reads the published serving file, never the warehouse (test_serving.py).
        for c in ["models", "status", "report", "run"]
    ],
)
def test_a_warehouse_held_by_another_program_names_its_pid(
    command: str, db: Path, tmp_path: Path, held: subprocess.Popen[str], fault_record: FaultRecord
) -> None:
    out = cli(command, "--db", str(db), *path_args(command, tmp_path))
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 3
    one_error_line(out, f"{command}: {db} is open in another program", f"PID {held.pid}", "retry")


@pytest.mark.fault("cli", "run --db in a directory that does not exist")
def test_run_refuses_a_missing_directory_instead_of_creating_it(
    tmp_path: Path, fault_record: FaultRecord
) -> None:
    typo = tmp_path / "dta" / "retail.duckdb"
    out = cli("run", "--sources", "pinogy", "--db", str(typo))
    fault_record.record(exit_status=out.returncode)
    assert out.returncode == 2
    one_error_line(out, f"directory {typo.parent} does not exist", f"mkdir -p {typo.parent}")
    assert not typo.parent.exists()


def test_export_to_a_file_and_report_into_a_directory_are_refused(db: Path, tmp_path: Path) -> None:
    warehouse(db)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = cli("export", "--db", str(db), "--to", str(a_file))
    assert out.returncode == 2
    one_error_line(out, f"--to {a_file}: is a file, not a folder")
    out = cli("report", "--db", str(db), "--out", str(tmp_path))
    assert out.returncode == 2
    one_error_line(out, f"--out {tmp_path}: is a directory")
