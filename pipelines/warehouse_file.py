"""The paths a command is given (`--db`, `--to`, `--out`), checked before anything opens them, and the modes
of what the pipeline writes.

Every command goes through `run_checked`: it makes new files private (umask 077), refuses a path it cannot
use with one line naming the path, the cause and the fix (exit 2), turns DuckDB's "Could not set lock"
into one line naming the program and PID that hold the file (exit 3), and afterwards sets the modes of the
warehouse, its WAL, dlt's working directory, exports and the report. Commands that read never create a
warehouse; `run` and `demo` create one only in a directory that already exists, so a typo in a crontab
fails instead of starting a full reload somewhere else.

`[warehouse] group_readable = true` (`.dlt/config.toml`, or `WAREHOUSE__GROUP_READABLE=true`) makes the
warehouse, exports and the report readable by the owner's group (0640), for a BI user in that group;
everything else (dlt's working directory with its state, traces and load packages) stays owner-only.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.logs import first_line, warn_if_secrets_readable
from pipelines.warehouse import WarehouseError, engine_errors

log = logging.getLogger("retail")

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
GROUP_FILE, GROUP_DIR = 0o640, 0o750
# Kernel interfaces, not storage: DuckDB cannot keep a database there, and writing there is never meant.
SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
# A DuckDB file starts with a checksum, then the magic bytes "DUCK" at offset 8.
DUCKDB_MAGIC, DUCKDB_MAGIC_AT = b"DUCK", 8
CREATES_WAREHOUSE = ("run", "demo")
LOCK_HELD = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
EXIT_USAGE, EXIT_BUSY = 2, 3


class PathError(RuntimeError):
    """A path option the command cannot use; the message is the one line to print."""


def run_checked(args: argparse.Namespace, command: Callable[[argparse.Namespace], int]) -> int:
    """Run `command(args)` with private file modes and checked paths; a misuse is one line, no traceback."""
    os.umask(0o077)
    name = args.command
    try:
        check_paths(args)
        if name in ("run", "models", "demo") and not getattr(args, "dry_run", False):
            set_modes(args)  # files an older version (or another umask) left readable
        try:
            return command(args)
        finally:
            set_modes(args)
    except PathError as exc:
        log.error("%s: %s", name, exc)
        return EXIT_USAGE
    except WarehouseError as exc:  # a server that cannot be reached, credentials missing: one line
        log.error("%s: %s", name, exc)
        return 1
    except duckdb.Error as exc:
        line, busy = describe_duckdb_error(getattr(args, "db", None), exc)
        log.error("%s: %s", name, line)
        return EXIT_BUSY if busy else 1
    except engine_errors() as exc:  # a server's error (DuckDB's are above): one line, no traceback
        log.error("%s: %s: %s", name, type(exc).__name__, first_line(exc))
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        log.error("%s: %s%s; check the path and its permissions", name, where, exc.strerror or exc)
        return 1


def check_paths(args: argparse.Namespace) -> None:
    """Raise PathError for the first path option of `args` that the command cannot use."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise PathError(
            "the current directory no longer exists (deleted or moved away); cd to the project directory "
            "(where .dlt/ is) and run again"
        ) from None
    warn_if_secrets_readable()  # first: worth saying even when the command then refuses its paths
    db = getattr(args, "db", None)
    if db is not None and not getattr(args, "dry_run", False):
        check_warehouse(db, may_create=args.command in CREATES_WAREHOUSE)
    to = getattr(args, "to", None)
    if to is not None:
        _refuse_system_tree(to, "--to")
        if to.exists() and not to.is_dir():
            raise PathError(f"--to {to}: is a file, not a folder; pass the folder to write the marts into")
    out = getattr(args, "out", None)
    if out is not None:
        _refuse_system_tree(out, "--out")
        if out.is_dir():
            raise PathError(f"--out {out}: is a directory; pass a file name, e.g. {out / 'report.html'}")
        if not out.absolute().parent.is_dir():
            raise PathError(
                f"--out {out}: directory {out.absolute().parent} does not exist; create it or fix the path"
            )


def check_warehouse(db: Path, may_create: bool = False) -> None:
    """Raise PathError unless `db` is a DuckDB file (or, if `may_create`, a new file in an existing dir)."""
    _refuse_system_tree(db, "--db")
    if db.is_dir():
        raise PathError(
            f"--db {db}: is a directory, not a DuckDB file; pass the file, e.g. {db / 'warehouse.duckdb'}"
        )
    if not db.exists():
        if not may_create:
            raise PathError(
                f"--db {db}: no warehouse there (only `run` creates one); check the path, or load it first "
                f"with `python -m pipelines run --db {db}`"
            )
        folder = db.absolute().parent
        if not folder.is_dir():
            raise PathError(
                f"--db {db}: directory {folder} does not exist, and a run never creates one (a typo would "
                "start a full reload elsewhere); check the path, or create it for a first run: "
                f"mkdir -p {folder}"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PathError(f"--db {db}: cannot create it, directory {folder} is not writable by this user")
        return
    if not db.is_file():
        raise PathError(f"--db {db}: is not a regular file (a device or pipe?); pass a DuckDB file")
    try:
        with db.open("rb") as fh:
            head = fh.read(DUCKDB_MAGIC_AT + len(DUCKDB_MAGIC))
    except PermissionError:
        raise PathError(
            f"--db {db}: permission denied; run as the warehouse's owner (or set [warehouse] group_readable "
            "and add this user to its group)"
        ) from None
    if head[DUCKDB_MAGIC_AT:] != DUCKDB_MAGIC:
        raise PathError(f"--db {db}: is not a DuckDB database (no DuckDB header); check the path")


def _refuse_system_tree(path: Path, option: str) -> None:
    resolved = Path(os.path.realpath(path))
    for tree in SYSTEM_TREES:
        if resolved == tree or tree in resolved.parents:
            raise PathError(
                f"{option} {path}: is under {tree}, a kernel interface, not storage; pick a path on a disk, "
                "e.g. /data/retail.duckdb"
            )


def describe_duckdb_error(db: Path | None, exc: duckdb.Error) -> tuple[str, bool]:
    """Return one line for a DuckDB error and whether it means another program holds the file."""
    text = first_line(exc)
    held = LOCK_HELD.search(text)
    if held:
        return (
            f"{db} is open in another program ({held['program']}, PID {held['pid']}); DuckDB lets one "
            f"process write or several read, not both: close that program or wait for it, then retry",
            True,
        )
    if "Could not set lock" in text:
        return f"{db} is locked by another program; close it or wait for it, then retry", True
    return f"{db}: {type(exc).__name__}: {text}", False


def group_readable() -> bool:
    """The knob: `[warehouse] group_readable` (default false) in .dlt/config.toml or the environment."""
    import dlt

    try:
        return bool(dlt.config.get("warehouse.group_readable", bool))
    except Exception:  # dlt raises its own types for a value it cannot read as a boolean
        raise PathError(
            "config: [warehouse] group_readable (WAREHOUSE__GROUP_READABLE) must be true or false"
        ) from None


def reader_file_mode() -> int:
    """The mode of files meant for readers (warehouse, exports, report): 0640 with the knob, else 0600."""
    return GROUP_FILE if group_readable() else PRIVATE_FILE


def set_reader_mode(path: Path) -> None:
    """Give a file meant for readers (e.g. a copy of the warehouse for BI tools) its mode; see the knob."""
    _chmod(path, reader_file_mode())


def set_modes(args: argparse.Namespace) -> None:
    """Give what this command writes its mode: owner-only, or group-readable where the knob allows it."""
    file_mode = reader_file_mode()
    shared = file_mode == GROUP_FILE
    db = getattr(args, "db", None)
    if db is not None and args.command in ("run", "models", "demo"):
        for path in (db, Path(f"{db}.wal")):
            _chmod(path, file_mode)
        from pipelines.lock import lock_path_for
        from pipelines.nightly import pipelines_dir_for

        _chmod(lock_path_for(db), PRIVATE_FILE)
        make_private(pipelines_dir_for(db))
        if args.command == "demo":
            _chmod(db.with_suffix(".html"), file_mode)
    target = getattr(args, "target", None)  # the resolved warehouse: its configured dlt working dir
    if target is not None and args.command in ("run", "models"):
        make_private(target.working_dir)
    out = getattr(args, "out", None)
    if out is not None:
        _chmod(out, file_mode)
    to = getattr(args, "to", None)
    if to is not None and to.is_dir():
        for path in to.glob(f"*.{args.format}"):
            _chmod(path, file_mode)
        if shared and to.stat().st_uid == os.getuid():
            to.chmod(to.stat().st_mode | 0o050)  # the group may list the folder; others keep what they had


def make_private(tree: Path) -> None:
    """Make a directory tree of ours owner-only: 0700 directories, 0600 files."""
    if not tree.is_dir():
        return
    _chmod(tree, PRIVATE_DIR)
    for folder, dirs, files in os.walk(tree):
        for name in dirs:
            _chmod(Path(folder, name), PRIVATE_DIR)
        for name in files:
            _chmod(Path(folder, name), PRIVATE_FILE)


def _chmod(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)


def warn_if_readable_by_others(db: Path) -> bool:
    """Warn when the warehouse can be read by more users than the knob allows; return True when it can."""
    try:
        mode = stat.S_IMODE(db.stat().st_mode)
    except OSError:
        return False
    allowed = reader_file_mode()
    if mode & ~allowed & 0o077:
        log.warning(
            "%s is readable by other users (mode %o) and holds customer data; run: chmod %o %s",
            db,
            mode,
            allowed,
            db,
        )
        return True
    return False


def probe_writable(db: Path) -> None:
    """Open an existing warehouse to write and close it: DuckDB raises its lock error if a program has it."""
    from pipelines.warehouse import Warehouse

    if db.exists():
        with Warehouse(path=db).connect():
            pass


def delete_completed_load_packages() -> None:
    """Have dlt delete a package's data files once loaded (they hold the rows, e-mails and all).

    dlt's `[load] delete_completed_jobs` is off by default; this turns it on unless config set it.
    """
    import dlt

    if dlt.config.get("load.delete_completed_jobs", bool) is None:
        dlt.config["load.delete_completed_jobs"] = True
