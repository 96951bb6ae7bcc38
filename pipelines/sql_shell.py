"""`make sql` / `python -m pipelines sql`: DuckDB's own shell, read-only, on the serving file.

The shell comes from PyPI (`duckdb-cli`, a binary inside the wheel): history, line editing, tab
completion, `.tables`, `.mode`, `.maxrows`, and Ctrl-C cancels the running query, not the session. It
can open our files because they are written for DuckDB 1.4 and later (pipelines/storage.py).
This process replaces itself with the binary (not the wheel's Python wrapper, which would end the
session on Ctrl-C).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pipelines.publish import serving_path_for
from pipelines.storage import StorageError, is_compatible, storage_version

log = logging.getLogger("retail.sql")


def shell_binary() -> Path | None:
    """Return the `duckdb` shell that the duckdb-cli wheel installed, or None when it is not installed."""
    try:
        import duckdb_cli  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    binary = Path(duckdb_cli.__file__).with_name("duckdb")
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def open_shell(db_path: Path, warehouse: bool = False) -> int:
    """Exec the duckdb shell on the serving file of `db_path` (or the warehouse); return 1 if it cannot."""
    target = db_path if warehouse else serving_path_for(db_path)
    if not target.exists():
        log.error(
            "sql: %s does not exist; %s",
            target,
            "check --db"
            if warehouse
            else "a nightly run publishes it once the models pass (`make demo` writes demo.serving.duckdb)",
        )
        return 1
    try:
        version = storage_version(target)
    except StorageError as exc:
        log.error("sql: %s", exc)
        return 1
    if not is_compatible(version):  # the shell is DuckDB 1.4/1.5: it would refuse the file
        log.error(
            "sql: %s is in a storage format (%s) the duckdb shell cannot read; convert it once with "
            "`python -m pipelines migrate-storage --db %s`",
            target,
            version,
            target,
        )
        return 1
    binary = shell_binary()
    if binary is None:
        log.error("sql: the duckdb shell is not installed; install it with `pip install duckdb-cli`")
        return 1
    if sys.stdin.isatty():
        print(
            f"{target} (read-only). .tables lists relations, .maxrows N shows more rows, Ctrl-D leaves.",
            file=sys.stderr,
        )
        if warehouse:
            print("While this shell is open, a nightly run cannot write the warehouse.", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(binary, [str(binary), "-readonly", str(target)])
    return 1  # not reached
