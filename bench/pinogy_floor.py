"""The floor for a Pinogy full sync: fetch every page, parse JSON, build Arrow tables, insert into DuckDB.

The least work any loader must do (same HTTP client, page size and read-ahead as the real source, no
typing, no state, no merge). `python -m bench.pinogy_floor --db FILE` reads the API settings from the
environment.
"""

from __future__ import annotations

import argparse
import os

import duckdb
import pyarrow as pa

from sources.pinogy.client import PinogyClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    env = os.environ
    client = PinogyClient(
        env["SOURCES__PINOGY__API_HOST"],
        env["SOURCES__PINOGY__ACCESS_KEY"],
        env["SOURCES__PINOGY__SECRET_KEY"],
        env["SOURCES__PINOGY__PASSWORD"],
    )
    with duckdb.connect(args.db) as con, client:
        created = False
        for page in client.purchase_order_pages("id", "asc", 1000, read_ahead=lambda _page: True):
            lines = [line for po in page for line in po.pop("lines", [])]
            pos_table, lines_table = pa.Table.from_pylist(page), pa.Table.from_pylist(lines)  # noqa: F841
            if not created:
                con.execute("create table purchase_orders as select * from pos_table limit 0")
                con.execute("create table purchase_order_lines as select * from lines_table limit 0")
                created = True
            con.execute("insert into purchase_orders by name select * from pos_table")
            con.execute("insert into purchase_order_lines by name select * from lines_table")


if __name__ == "__main__":
    main()
