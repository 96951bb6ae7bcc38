"""One nightly run at a time per warehouse: an advisory lock file beside the DuckDB file.

The kernel drops an `flock` when its process dies, so a run killed with SIGKILL never blocks the next
one; the PID written into the file only tells the next run whose lock it found (and that it was stale).
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

log = logging.getLogger("retail.lock")


class LockBusy(RuntimeError):
    """Another run holds the warehouse."""


def lock_path_for(db_path: Path) -> Path:
    return db_path.parent / f".{db_path.stem}.lock"


class RunLock:
    def __init__(self, db_path: Path) -> None:
        self.path = lock_path_for(db_path)
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
