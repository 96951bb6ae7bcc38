"""Everything the pipeline writes is readable by its owner only, unless `[warehouse] group_readable` says the
warehouse and exports may be read by the group; loaded packages (the rows, customer e-mails and all) are
deleted once loaded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb

from pipelines.nightly import pipelines_dir_for
from pipelines.publish import serving_path_for
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from tests.conftest import cli, pinnacle_cart_env_for, pinogy_env_for, query


def modes_under(root: Path, skip: set[Path]) -> dict[str, int]:
    """Return the permission bits of every file and directory under `root`, except the `skip` trees."""
    found = {}
    for path in root.rglob("*"):
        if any(path == s or s in path.parents for s in skip):
            continue
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_everything_a_run_writes_is_owner_only_and_loaded_packages_are_deleted(
    tmp_path: Path, db: Path, pinogy_sim: PinogySimulator, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    env = {**pinogy_env_for(pinogy_sim), **pinnacle_cart_env_for(pinnacle_cart_sim)}
    ran = cli("run", "--sources", "pinogy,pinnacle_cart", "--db", str(db), env=env)
    assert ran.returncode == 0, ran.stderr
    assert cli("export", "--db", str(db), "--to", str(tmp_path / "share")).returncode == 0
    assert cli("export", "--db", str(db), "--to", str(tmp_path / "csv"), "--format", "csv").returncode == 0
    assert cli("report", "--db", str(db), "--out", str(tmp_path / "report.html")).returncode == 0

    written = modes_under(tmp_path, skip={tmp_path / "project"})  # the test's own .dlt/ config folder
    for name in (
        db.name,
        "warehouse.serving.duckdb",
        ".warehouse.lock",
        ".warehouse.dlt/retail_pinogy/trace.pickle",
        "report.html",
    ):
        assert name in written
    assert any(name.startswith("share/") for name in written)
    open_to_others = {name: oct(mode) for name, mode in written.items() if mode & 0o077}
    assert not open_to_others

    # The rows went to the warehouse; the package files that carried them (with e-mails) are gone.
    [(email,)] = query(
        db, "select billing_email from pinnacle_cart.orders where billing_email like '%@%' limit 1"
    )
    working = pipelines_dir_for(db)
    assert not [p for p in working.rglob("*") if p.suffix in (".parquet", ".gz", ".jsonl")]
    holding = [p for p in working.rglob("*") if p.is_file() and email.encode() in p.read_bytes()]
    assert not holding


def test_group_readable_knob_shares_warehouse_and_exports_but_not_the_working_directory(
    tmp_path: Path, db: Path, pinogy_sim: PinogySimulator
) -> None:
    env = {**pinogy_env_for(pinogy_sim), "WAREHOUSE__GROUP_READABLE": "true"}
    assert cli("run", "--sources", "pinogy", "--db", str(db), env=env).returncode == 0
    exported = cli("export", "--db", str(db), "--to", str(tmp_path / "share"), env=env)
    assert exported.returncode == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
    assert stat.S_IMODE(serving_path_for(db).stat().st_mode) == 0o640  # what BI reads
    files = list((tmp_path / "share").iterdir())
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o640}
    assert stat.S_IMODE((tmp_path / "share").stat().st_mode) & 0o050 == 0o050
    private = modes_under(pipelines_dir_for(db), skip=set())
    assert private and not {n: oct(m) for n, m in private.items() if m & 0o077}
    status = cli("status", "--db", str(db), "--sources", "pinogy", env=env)
    assert "readable by other users" not in status.stderr


def test_files_left_readable_are_made_private_and_status_warns_until_then(tmp_path: Path, db: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with duckdb.connect(str(db)) as con:
            con.execute("create schema ops")
        trace = pipelines_dir_for(db) / "retail_pinogy" / "trace.pickle"
        trace.parent.mkdir(parents=True)
        trace.write_bytes(b"old trace")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(db.stat().st_mode) == 0o644
    status = cli("status", "--db", str(db), "--sources", "pinogy")
    warnings = [ln for ln in status.stderr.splitlines() if "readable by other users" in ln]
    assert len(warnings) == 1 and f"chmod 600 {db}" in warnings[0]

    assert cli("models", "--db", str(db)).returncode == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    assert stat.S_IMODE(trace.parent.stat().st_mode) == 0o700
    status = cli("status", "--db", str(db), "--sources", "pinogy")
    assert "readable by other users" not in status.stderr
