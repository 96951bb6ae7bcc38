"""Smoke runs of the bench scripts at a tiny scale, so they keep working (no thresholds here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from pipelines.models import MODEL_SCHEMAS, RAW_SCHEMAS, discover
from tests.conftest import REPO


def run_bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m bench.<script> <args>` from the repo at a tiny scale; fail with its stderr."""
    out = subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out


def test_pinogy_bench_runs_and_reports_every_figure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_bench("bench.pinogy_sync", "--scale", "0.001", "--no-second-size", "--results", str(tmp_path))
    runs = json.loads((tmp_path / "pinogy_sync.json").read_text())["runs"]
    assert [run["world"] for run in runs] == ["today", "scattered"]
    for run in runs:
        assert run["rows_loaded"] == run["purchase_orders"] + run["lines"]
        assert run["full"]["pages"] == run["minimum_pages_full"] == 1
        assert run["incremental"]["changed"]["new_pos"] > 0
        for key in ("full_over_floor", "incremental_over_full", "incremental_pos_served_over_full"):
            assert run[key] > 0
    assert "served" in out.stdout


def test_models_bench_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_bench("bench.models", "--scale", "0.001", "--results", str(tmp_path))
    result = json.loads((tmp_path / "models.json").read_text())
    assert result["models_skipped"] == 0 and result["tests_failed"] == 0
    assert result["fct_purchase_order_lines"] > 0
    duckdb, postgres = result["engines"]["duckdb"], result["engines"]["postgres"]
    assert postgres["models_skipped"] == 0 and postgres["tests_failed"] == 0
    assert postgres["fct_purchase_order_lines"] == duckdb["fct_purchase_order_lines"]
    assert "postgres" in out.stdout and "duckdb" in out.stdout


def test_pinnacle_benches_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}
    run_bench("bench.pinnacle_floor", "--orders", "150", env=env)
    [result] = json.loads((tmp_path / "pinnacle_floor.json").read_text())
    assert result["floor"]["rows"] == result["full"]["rows"] > 150  # orders, items and item options
    assert result["full"]["pages"] == result["minimum_pages_full"] == 1
    assert result["incremental"]["changed"]["new_orders"] > 0 and result["incremental"]["pages"] >= 1
    cart = run_bench("bench.pinnacle_cart", "150", env=env)
    assert "first run" in cart.stdout and "next night" in cart.stdout


def test_api_economy_bench_counts_every_source_against_its_minimum(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_bench("bench.api_economy", "--small", "--results", str(tmp_path))
    report = json.loads((tmp_path / "api_economy.json").read_text())
    assert set(report) == {"pinogy", "pinnacle_cart", "pinmeto", "plugivery"}
    for source, nights in report.items():
        assert nights["first run"]["status"] == nights["quiet night"]["status"] == "succeeded", source
    first = report["pinogy"]["first run"]["by_call"]
    assert first["GET purchase_orders"] == report["pinogy"]["first run minimum"]["GET purchase_orders"] == 1
    assert report["pinmeto"]["first run"]["by_call"] == {"token": 1, "locations page": 1}
    # A quiet Pinnacle night reads its orders at the minimum: the window's batches, no order count.
    cart_night, cart_minimum = report["pinnacle_cart"]["quiet night"]["by_call"], report["pinnacle_cart"]
    assert cart_night["GetOrders"] == cart_minimum["quiet night minimum"]["GetOrders"]
    assert "GetOrderCount" not in cart_night
    assert report["plugivery"]["quiet night"]["by_call"].get("get (read)", 0) == 0  # nothing changed upstream


def test_the_dbt_project_reads_every_relation_through_ref_or_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_bench("bench.dbt_project", str(tmp_path / "dbt"))
    models = list((tmp_path / "dbt" / "models").rglob("*.sql"))
    assert len(models) == sum(1 for m in discover().values() if m.kind != "seed")
    schemas = "|".join((*RAW_SCHEMAS, *MODEL_SCHEMAS.values()))
    for path in (*models, *(tmp_path / "dbt" / "tests").glob("*.sql")):
        assert not re.search(rf"(?i)\b(from|join)\s+({schemas})\.", path.read_text()), path.name
