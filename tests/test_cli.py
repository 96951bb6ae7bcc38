"""The command line as cron runs it: exit status, one readable error line, no secret anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.nightly import pipelines_dir_for
from simulators.pinogy import PinogySimulator
from tests.conftest import PINOGY_SECRETS, cli, one_error_line, pinogy_env_for, query


def test_help_lists_commands_and_options() -> None:
    out = cli("run", "--help")
    assert out.returncode == 0
    for text in ("--db", "--sources", "--full-refresh", "warehouse.duckdb", "pinogy"):
        assert text in out.stdout


def test_unknown_source_is_a_usage_error() -> None:
    out = cli("run", "--sources", "pinogy,nosuch")
    assert out.returncode == 2
    assert "unknown source(s) nosuch" in out.stderr


def test_wrong_password_is_one_clear_line_and_a_failed_exit(pinogy_sim: PinogySimulator, db: Path) -> None:
    env = {**pinogy_env_for(pinogy_sim), "SOURCES__PINOGY__PASSWORD": "TEST-WRONG-PASSWORD-0b1d"}
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert out.returncode == 1
    one_error_line(out, "pinogy: POST /apps/any/sessions: login is incorrect", "SOURCES__PINOGY__PASSWORD")
    assert "TEST-WRONG-PASSWORD-0b1d" not in out.stderr + out.stdout
    assert "failed" in out.stdout  # the summary still prints


def test_missing_config_key_names_it(pinogy_sim: PinogySimulator, db: Path) -> None:
    env = pinogy_env_for(pinogy_sim)
    del env["SOURCES__PINOGY__PASSWORD"]
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert out.returncode == 1
    assert "pinogy: config: missing SOURCES__PINOGY__PASSWORD" in out.stderr
    assert "Traceback" not in out.stderr


def test_plain_http_to_a_remote_host_is_refused(db: Path) -> None:
    env = {
        "SOURCES__PINOGY__API_HOST": "http://pos.example.com",
        **{f"SOURCES__PINOGY__{k.upper()}": v for k, v in PINOGY_SECRETS.items()},
    }
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=env)
    assert out.returncode == 1
    assert "uses plain http for pos.example.com" in out.stderr


def test_secrets_never_leak_into_output_files_or_tables(
    pinogy_sim: PinogySimulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**pinogy_env_for(pinogy_sim), "SOURCES__PINOGY__PAGE_SIZE": "60"}
    pinogy_sim.expire_sessions_after = 4  # several logins: several session tokens to leak
    pinogy_sim.faults.add("status", status=503, times=1)
    out = cli("--log-level", "DEBUG", "run", "--sources", "pinogy", "--db", str(db), env=env)
    assert out.returncode == 0, out.stderr
    secrets = [*PINOGY_SECRETS.values(), *pinogy_sim.issued_tokens]
    assert len(pinogy_sim.issued_tokens) >= 2
    captured = out.stdout + out.stderr
    assert "GET" in captured  # DEBUG output did include request lines
    for secret in secrets:
        assert secret not in captured
    # Every file dlt and we wrote: the DuckDB file and the pipeline working directory.
    for path in [db, *pipelines_dir_for(db).rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret} found in {path}"
    # And every text column of every table, dlt's state and trace tables included.
    columns = query(
        db,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('VARCHAR', 'JSON')",
    )
    for schema, table, column in columns:
        for secret in secrets:
            hits = query(
                db, f'select count(*) from "{schema}"."{table}" where "{column}" like ?', [f"%{secret}%"]
            )
            assert hits == [(0,)], f"{secret} in {schema}.{table}.{column}"


def test_run_loads_then_builds_models(pinogy_sim: PinogySimulator, db: Path) -> None:
    out = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
    assert out.returncode == 0, out.stderr
    assert "models:" in out.stdout
    assert query(db, "select count(*) > 1 from analytics.dim_supplier") == [(True,)]
    out = cli("models", "--db", str(db))
    assert out.returncode == 0 and "0 failed" in out.stdout


def test_cli_warns_when_secrets_file_is_readable_by_others(tmp_path: Path) -> None:
    secrets = tmp_path / "project" / ".dlt" / "secrets.toml"
    secrets.write_text('[sources.pinogy]\npassword = "x"\n')
    secrets.chmod(0o644)
    out = cli("run", "--help", env={"DLT_PROJECT_DIR": str(tmp_path / "project")})
    assert out.returncode == 0
    out = cli(
        "models", "--db", str(tmp_path / "w.duckdb"), env={"DLT_PROJECT_DIR": str(tmp_path / "project")}
    )
    assert "is readable by other users" in out.stderr and "chmod 600" in out.stderr
    secrets.chmod(0o600)
    out = cli(
        "models", "--db", str(tmp_path / "w.duckdb"), env={"DLT_PROJECT_DIR": str(tmp_path / "project")}
    )
    assert "readable by other users" not in out.stderr


def test_a_redirect_is_refused_so_credentials_never_follow_it(pinogy_sim: PinogySimulator, db: Path) -> None:
    with PinogySimulator(n_pos=5) as elsewhere:
        pinogy_sim.faults.add(
            "status",
            status=302,
            headers={"Location": f"{elsewhere.url}/api/purchase_orders"},
            path_contains="/api/purchase_orders",
        )
        out = cli("run", "--sources", "pinogy", "--db", str(db), env=pinogy_env_for(pinogy_sim))
        assert out.returncode == 1
        assert "pinogy: GET /api/purchase_orders: unexpected redirect (HTTP 302)" in out.stderr
        assert elsewhere.calls == []
