"""`make sql`: an interactive SQL prompt on the warehouse (read-only).

DuckDB's own shell is on PyPI (`duckdb-cli`), but its newest release is 1.5 and cannot open files
written by the DuckDB 2.0 library this project loads with ("version number 69 ... only 64 to 68"), so
this small prompt stands in: statements end with `;`, `.tables` lists relations, `.quit` leaves.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import duckdb

HELP = "statements end with ';'   .tables lists relations   .quit leaves"


def run_prompt(db_path: Path, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    if not db_path.exists():
        print(
            f"sql: {db_path} does not exist; run `make demo` or `python -m pipelines run` first",
            file=sys.stderr,
        )
        return 1
    interactive = stdin.isatty()
    con = duckdb.connect(str(db_path), read_only=True)
    if interactive:
        print(f"{db_path} (read-only). {HELP}", file=stdout)
    buffer = ""
    while True:
        if interactive:
            print("sql> " if not buffer else "...> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit"):
            break
        if not buffer and stripped == ".tables":
            stripped = (
                "select table_schema || '.' || table_name as relation from information_schema.tables "
                "where table_schema not like '%\\_staging' escape '\\' "
                "and table_name not like '\\_dlt%' escape '\\' order by 1;"
            )
        buffer += stripped + "\n"
        if not buffer.rstrip().endswith(";"):
            continue
        statement, buffer = buffer, ""
        try:
            relation = con.sql(statement)
            if relation is not None:
                print(relation, file=stdout)
        except duckdb.Error as exc:
            print(f"error: {str(exc).splitlines()[0]}", file=stdout)
    con.close()
    return 0
