"""`make sql` / `python -m pipelines sql`: DuckDB's own shell on the serving file (issue 15 §3)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import duckdb

from pipelines.publish import publish
from pipelines.storage import create_database
from tests.conftest import REPO, cli


def make_warehouse(db: Path) -> None:
    create_database(db)
    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.t as select 42 as answer")
        con.execute("create table analytics.hundred as select range as n from range(100)")
        con.execute("create schema pinogy; create table pinogy.raw as select 'loader only' as note")
    publish(db)


def sql(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "sql", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_sql_answers_piped_statements_from_the_serving_file_read_only_without_a_row_cap(db: Path) -> None:
    make_warehouse(db)
    out = sql(
        "--db",
        str(db),
        stdin=".mode csv\nselect answer\nfrom analytics.t;\nselect n from analytics.hundred order by n;\n"
        "select count(*) as raw from information_schema.tables where table_schema = 'pinogy';\n"
        "create table analytics.mine (i int);\n",
    )
    lines = out.stdout.splitlines()
    assert lines[:2] == ["answer", "42"]
    assert lines[2:103] == ["n", *map(str, range(100))]  # every row, no cap
    assert lines[103:105] == ["raw", "0"]  # BI's file: marts and ops, not the loader's raw schemas
    assert "read-only" in out.stderr  # the shell cannot change what it serves
    raw = sql("--db", str(db), "--warehouse", stdin=".mode csv\nselect note from pinogy.raw;\n")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.splitlines() == ["note", "loader only"]


def test_sql_says_in_one_line_when_nothing_is_published_yet(db: Path) -> None:
    create_database(db)  # a warehouse, but no night has passed its SQL tests yet
    out = cli("sql", "--db", str(db))
    assert out.returncode == 1
    assert "warehouse.serving.duckdb does not exist; a nightly run publishes it" in out.stderr
    assert "Traceback" not in out.stderr
    db.unlink()
    duckdb.connect(str(db)).close()  # a warehouse created before `migrate-storage` existed
    out = cli("sql", "--db", str(db), "--warehouse")
    assert out.returncode == 1 and f"migrate-storage --db {db}" in out.stderr


class Terminal:
    """A pseudo-terminal running the shell, answering the few queries a terminal emulator answers."""

    REPLIES = {
        b"\x1b]11;?\x07": b"\x1b]11;rgb:0000/0000/0000\x1b\\",  # background colour
        b"\x1b[c": b"\x1b[?62;22c",  # device attributes
        b"\x1b[6n": b"\x1b[1;1R",  # cursor position
    }

    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the shell
            os.chdir(REPO)
            os.execv(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        self.screen, self.read_to = b"", 0
        self.answered = dict.fromkeys(self.REPLIES, 0)

    def expect(self, token: bytes, limit: float = 60.0) -> None:
        """Read until `token` appears after what was already expected; fail after `limit` seconds."""
        deadline = time.monotonic() + limit
        while token not in self.screen[self.read_to :]:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"{token!r} never appeared; the screen ends with {self.screen[-400:]!r}"
            try:
                self.screen += os.read(self.fd, 4096)
            except OSError:  # the shell has gone
                raise AssertionError(
                    f"the shell ended; the screen ends with {self.screen[-400:]!r}"
                ) from None
            for ask, reply in self.REPLIES.items():
                while self.screen.count(ask) > self.answered[ask]:
                    os.write(self.fd, reply)
                    self.answered[ask] += 1
        self.read_to = self.screen.index(token, self.read_to) + len(token)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_ctrl_c_cancels_the_running_query_and_the_session_goes_on(db: Path) -> None:
    make_warehouse(db)
    term = Terminal([sys.executable, "-m", "pipelines", "sql", "--db", str(db)])
    term.expect(b"usage hints")
    term.expect(b" D ")  # the prompt
    term.type(b"select sum(range) from range(10000000000000);\r")  # hours of work
    term.expect(b";\r")
    time.sleep(0.5)  # let the query start running
    term.type(b"\x03")
    term.expect(b" D ")  # back at the prompt, the query cancelled
    term.type(b"select answer * 10 as x from analytics.t;\r")
    term.expect(b"420")
    term.type(b".quit\r")
    assert term.wait() in (0, 1)  # the shell's own exit (1: a statement was interrupted), not a signal
    assert b"Traceback" not in term.screen
