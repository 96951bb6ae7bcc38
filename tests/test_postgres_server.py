"""The scratch PostgreSQL server the Postgres tests use really starts, takes a password and a dlt load."""

from __future__ import annotations

from typing import Any

import dlt
import psycopg2
import pytest


def test_server_accepts_password_and_refuses_a_wrong_one(postgres_server: Any, postgres_dsn: str) -> None:
    with psycopg2.connect(postgres_dsn) as con, con.cursor() as cur:
        cur.execute("select current_setting('port')::int, version()")
        port, version = cur.fetchone()
    assert port == postgres_server.port and version.startswith("PostgreSQL")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(postgres_dsn.replace(postgres_server.password, "wrong"))


def test_dlt_loads_into_the_server(postgres_dsn: str, tmp_path: Any) -> None:
    pipeline = dlt.pipeline(
        pipeline_name="pg_smoke",
        destination=dlt.destinations.postgres(postgres_dsn),
        dataset_name="smoke",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    pipeline.run([{"id": 1, "amount": "1.50"}, {"id": 2, "amount": "2.25"}], table_name="rows")
    with psycopg2.connect(postgres_dsn) as con, con.cursor() as cur:
        cur.execute("select count(*) from smoke.rows")
        assert cur.fetchone() == (2,)
