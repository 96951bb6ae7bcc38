"""One nightly run at a time per warehouse: an advisory lock file beside the DuckDB file, or on Postgres
a Postgres advisory lock.

The kernel drops an `flock` when its process dies, so a run killed with SIGKILL never blocks the next
one; the PID written into the file only tells the next run whose lock it found (and that it was stale).
On Postgres, `pg_try_advisory_lock` is held by a connection of its own for the whole run; the server drops
it when that connection ends (the run exits or dies), and `pg_locks` + `pg_stat_activity` name the holder.
A MotherDuck warehouse is locked with a file beside dlt's working directory (one machine runs the nights).
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from pipelines.warehouse import POSTGRES, Warehouse, as_warehouse

log = logging.getLogger("retail.lock")


class LockBusy(RuntimeError):
    """Another run holds the warehouse."""


def lock_path_for(db_path: Path) -> Path:
    return db_path.parent / f".{db_path.stem}.lock"


def run_lock(warehouse: Warehouse | Path) -> AbstractContextManager[Any]:
    """The lock that keeps a second run off `warehouse` (or a DuckDB file's path) while this one runs."""
    warehouse = as_warehouse(warehouse)
    if warehouse.engine == POSTGRES:
        return AdvisoryLock(warehouse)
    if warehouse.is_file and warehouse.path is not None:
        return RunLock(warehouse.path)
    return RunLock(lock_file=warehouse.working_dir.with_name(f"{warehouse.working_dir.name}.lock"))


class RunLock:
    def __init__(self, db_path: Path | None = None, lock_file: Path | None = None) -> None:
        assert db_path is not None or lock_file is not None
        self.path = lock_file or lock_path_for(db_path)  # type: ignore[arg-type]
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockBusy(
                f"another run (pid {holder}) is loading this warehouse; lock file {self.path}"
            ) from None
        previous = os.read(fd, 64).decode(errors="replace").strip()
        if previous:
            log.warning("taking over a stale lock left by pid %s (that run was killed)", previous)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # a clean exit leaves no PID behind: only a killed run does
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# The advisory lock's key (two int4s, so `pg_locks` shows them as classid/objid with objsubid 2). Advisory
# locks are per database: two warehouses (databases) on one server never block each other.
LOCK_KEY = (0x52455441, 0x494C)  # "RETA", "IL"


class AdvisoryLock:
    """`pg_try_advisory_lock` on a connection held open for the run; a second run gets LockBusy."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._stack: ExitStack | None = None

    def __enter__(self) -> AdvisoryLock:
        stack = ExitStack()
        name = f"retail-warehouse run (pid {os.getpid()} on {socket.gethostname()})"[:63]
        con = stack.enter_context(self.warehouse.connect(application_name=name))
        got = con.fetchone("select pg_try_advisory_lock(?, ?)", list(LOCK_KEY))
        if not (got and got[0]):
            holder = con.fetchone(
                "select a.pid, a.application_name, a.client_addr, a.backend_start from pg_locks l "
                "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted "
                "and l.classid = ? and l.objid = ? and l.objsubid = 2 and l.database = "
                "(select oid from pg_database where datname = current_database())",
                list(LOCK_KEY),
            )
            stack.close()
            raise LockBusy(_holder_line(self.warehouse, holder)) from None
        self._stack = stack
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stack is not None:
            self._stack.close()  # the session ends, and the server releases its advisory locks
            self._stack = None


def _holder_line(warehouse: Warehouse, holder: tuple[Any, ...] | None) -> str:
    if holder is None:  # released between our try and our look: the next run will get it
        return f"another run held the advisory lock on {warehouse.label} a moment ago; retry"
    pid, application, client, since = holder
    who = f"{application}, " if application else ""
    where = f" from {client}" if client else ""
    return (
        f"another run ({who}Postgres backend pid {pid}{where}, since {since:%Y-%m-%d %H:%M:%S %Z}) is "
        f"loading {warehouse.label} (advisory lock {LOCK_KEY[0]},{LOCK_KEY[1]})"
    )
