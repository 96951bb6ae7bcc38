"""Write `sql/` out as a dbt project, to measure dbt against our runner (README: "Why our runner").

    python -m bench.dbt_project /tmp/dbt-retail
    python -m venv /tmp/dbt && /tmp/dbt/bin/pip install 'dbt-core<1.12' dbt-duckdb dbt-postgres
    cd /tmp/dbt-retail && DBT_DUCKDB_PATH=copy-of-demo.duckdb /tmp/dbt/bin/dbt build --profiles-dir .
    DBT_PG_PORT=... DBT_PG_PASSWORD=... DBT_PG_DB=... /tmp/dbt/bin/dbt build --profiles-dir . -t postgres

Each model's `schema.relation` becomes `ref()` or `source()`; the key tests from `-- key:` headers and
the files in sql/tests become singular tests; seeds stay text. dbt is never a dependency of the project.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from pipelines.models import RAW_SCHEMAS, SQL_DIR, discover, key_test

_READS = re.compile(r"(?i)\b(from|join)\s+(\w+)\.(\w+)\b")
_FOLDERS = {"staging": "staging", "intermediate": "intermediate", "analytics": "marts"}
_PROFILES = """retail:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('DBT_DUCKDB_PATH') }}"
      threads: 1
    postgres:
      type: postgres
      host: 127.0.0.1
      port: "{{ env_var('DBT_PG_PORT') | int }}"
      user: retail
      password: "{{ env_var('DBT_PG_PASSWORD') }}"
      dbname: "{{ env_var('DBT_PG_DB') }}"
      schema: public
      threads: 1
"""
# dbt prefixes custom schemas with the target's; ours are the schemas themselves.
_SCHEMA_MACRO = (
    "{% macro generate_schema_name(custom_schema_name, node) -%}"
    "{{ custom_schema_name | trim }}{%- endmacro %}\n"
)


def write_project(out: Path) -> None:
    """Write the dbt project for the models in sql/ to `out` (replacing it)."""
    shutil.rmtree(out, ignore_errors=True)
    for folder in ("models/staging", "models/intermediate", "models/marts", "seeds", "tests", "macros"):
        (out / folder).mkdir(parents=True)
    models = discover()
    names = {m.name for m in models.values()}
    sources: dict[str, set[str]] = {}

    def to_dbt(sql: str) -> str:
        def reference(match: re.Match[str]) -> str:
            verb, schema, name = match.groups()
            if schema in RAW_SCHEMAS:
                sources.setdefault(schema, set()).add(name)
                return f"{verb} {{{{ source('{schema}', '{name}') }}}}"
            return f"{verb} {{{{ ref('{name}') }}}}" if name in names else match.group(0)

        return _READS.sub(reference, sql)

    seed_columns = {}
    for model in models.values():
        if model.kind == "seed":
            shutil.copy(model.path, out / "seeds" / model.path.name)
            seed_columns[model.name] = model.path.read_text().splitlines()[0].split(",")
            continue
        (out / "models" / _FOLDERS[model.schema] / model.path.name).write_text(to_dbt(model.path.read_text()))
        if model.key:
            test = key_test(model).replace(model.sql_name, model.relation)
            (out / "tests" / f"{model.name}__key_unique_not_null.sql").write_text(to_dbt(test))
    for path in (SQL_DIR / "tests").glob("*.sql"):
        (out / "tests" / path.name).write_text(to_dbt(path.read_text()))
    (out / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n"
        + "".join(
            f"  - name: {schema}\n    schema: {schema}\n    tables:\n"
            + "".join(f"      - name: {table}\n" for table in sorted(tables))
            for schema, tables in sorted(sources.items())
        )
    )
    seeds = "".join(
        f"    {name}:\n      +column_types:\n" + "".join(f"        {c}: varchar\n" for c in columns)
        for name, columns in seed_columns.items()
    )
    layers = "".join(
        f"    {folder}:\n      +materialized: {'view' if folder == 'staging' else 'table'}\n"
        f"      +schema: {schema}\n"
        for schema, folder in _FOLDERS.items()
    )
    (out / "dbt_project.yml").write_text(
        "name: retail\nversion: '1.0'\nprofile: retail\nconfig-version: 2\n"
        f"models:\n  retail:\n{layers}seeds:\n  retail:\n    +schema: seeds\n{seeds}"
    )
    (out / "profiles.yml").write_text(_PROFILES)
    (out / "macros" / "schema.sql").write_text(_SCHEMA_MACRO)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="the folder to write the dbt project to (replaced)")
    write_project(parser.parse_args().out)


if __name__ == "__main__":
    main()
