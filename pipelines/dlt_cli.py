"""`python -m pipelines dlt pipeline retail_<source> info|trace|schema|drop|...`: dlt's own command line,
pointed at this warehouse's pipelines.

Plain `dlt pipeline retail_pinogy info` looks in ~/.dlt/pipelines, where our pipelines are not. And commands
that attach to the destination (`drop`, `sync`) take its credentials from config alone, because the run
passes them in code: for DuckDB that is `<cwd>/retail_pinogy.duckdb`, an empty file dlt creates, so a
`drop` would hit the wrong database. This pass-through adds `--pipelines-dir` (the warehouse's working
directory) and gives dlt the destination's credentials in its environment (never on a command line), the
way dlt reads them itself (`DESTINATION__<ENGINE>__CREDENTIALS`). Commands that change the warehouse or
its state hold the run lock meanwhile, so a nightly run and a `drop` never overlap.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.lock import LockBusy, run_lock
from pipelines.warehouse import Warehouse

log = logging.getLogger("retail.dlt")

# dlt pipeline commands that write the destination or the local state: they wait for no run, they refuse.
CHANGING = ("drop", "sync", "abort-packages", "drop-pending-packages")
EXIT_BUSY = 3


def dlt_command(warehouse: Warehouse, args: list[str]) -> list[str]:
    """Return the `dlt ...` command line for `args`, with `--pipelines-dir` after `pipeline`."""
    binary = Path(sys.executable).with_name("dlt")
    found = str(binary) if binary.exists() else shutil.which("dlt")
    if found is None:
        raise FileNotFoundError("dlt: the `dlt` command is not installed beside this Python; reinstall")
    if args[:1] == ["pipeline"] and "--pipelines-dir" not in args:
        args = ["pipeline", "--pipelines-dir", str(warehouse.working_dir), *args[1:]]
    return [found, *args]


def run_dlt(warehouse: Warehouse, args: list[str]) -> int:
    """Run dlt's command line on `warehouse`'s pipelines; return its exit status (3 while a run holds it)."""
    if not args:
        args = ["pipeline", "--list-pipelines"]
    command = dlt_command(warehouse, args)
    env = {**os.environ, **warehouse.credentials_env()}
    if not any(word in CHANGING for word in args):
        return subprocess.run(command, env=env).returncode
    try:
        with run_lock(warehouse):
            return subprocess.run(command, env=env).returncode
    except LockBusy as exc:
        log.error("dlt: %s; retry when it has finished", exc)
        return EXIT_BUSY
