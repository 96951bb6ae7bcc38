"""A real PostgreSQL server for the tests, started from the machine's server binaries on a free loopback port.

`initdb` + `pg_ctl` from Debian's `postgresql` package (found on PATH or under /usr/lib/postgresql/*/bin).
PostgreSQL refuses to run as root, so under root (CI) the server runs as the `postgres` system user,
which Debian's package creates. Password authentication (scram) on 127.0.0.1 only, fsync off: a scratch
server, gone when the tests end. If it cannot start, the tests that need it fail with the reason: they are
never skipped.

Run as a script it starts one and prints its DSN, for trying the Postgres path by hand:
    .venv/bin/python -m tests.postgres_server     # Ctrl-C stops it
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

USER = "retail"
PASSWORD = "TEST-PG-PASSWORD-6c1d"  # distinctive: the leak checks look for it


class PostgresUnavailable(RuntimeError):
    """The machine cannot start a PostgreSQL server: the Postgres tests fail with this line."""


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    datadir: Path
    bindir: Path
    run_as: str | None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its DSN."""
        import psycopg2

        con = psycopg2.connect(self.dsn())
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{name}"')
            cur.execute(f'create database "{name}"')
        con.close()
        return self.dsn(name)

    def stop(self) -> None:
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"], self.run_as)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb) on this machine; install them: apt-get install -y postgresql"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], run_as: str | None) -> subprocess.CompletedProcess[str]:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def start() -> PostgresServer:
    """Initialise and start a scratch server; raise PostgresUnavailable with the reason if it cannot."""
    bindir = find_bindir()
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="retail-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root and there is no `postgres` user to run the server as"
            ) from None
        run_as = "postgres"
        os.chown(root, account.pw_uid, account.pw_gid)
    datadir, pwfile = root / "data", root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam(run_as).pw_uid, -1)
    init = _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        run_as,
    )
    pwfile.unlink()
    if init.returncode:
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    last_error = ""
    for _ in range(3):  # a free port can be taken between choosing and binding it
        port = free_port()
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        started = _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(root / "log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            run_as,
        )
        if started.returncode == 0:
            return PostgresServer("127.0.0.1", port, USER, PASSWORD, datadir, bindir, run_as)
        last_error = (root / "log").read_text()[-500:] if (root / "log").exists() else started.stderr
    raise PostgresUnavailable(f"postgres did not start: {last_error.strip()}")


def load_sources(dsn: str, names: Iterable[str], pipelines_dir: Path) -> None:
    """Load each named source into the Postgres database at `dsn` through the nightly's own path
    (`run_sources`); raise with the failures' lines if a source fails.

    The SOURCES__* settings must point at running simulators.
    """
    from pipelines.nightly import FAILED, run_sources
    from pipelines.warehouse import POSTGRES, Warehouse

    warehouse = Warehouse(POSTGRES, dsn=dsn, pipelines_dir=pipelines_dir)
    failed = [r.error or r.source for r in run_sources(warehouse, list(names)) if r.status == FAILED]
    if failed:
        raise RuntimeError("; ".join(failed))


if __name__ == "__main__":
    server = start()
    print(server.dsn(), flush=True)
    try:
        signal_wait = __import__("signal").pause
        signal_wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
