"""The dbt `sources:` of the lakehouse, generated from the contracts: `make sources-yml`.

    python -m jump_platform.sources.dbt_sources          # write dbt_project/models/staging/_sources.yml
    python -m jump_platform.sources.dbt_sources --check  # exit 1 if the file is not what the contracts give

Each source table gets its description, its columns (the contract's, then the load metadata) with
their types and descriptions, the Dagster asset it maps to, and one dbt test per business rule
(`TableContract.rules`): on the column it judges, or on the table. dbt allows one definition per
source table, so the tests are written here too rather than in a second file. The file is
committed, so dbt and its docs work without Python; a test checks that it is current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from jump_platform import settings
from jump_platform.sources.contracts import (
    CONTRACTS,
    LOAD_METADATA_COLUMNS,
    LOAD_METADATA_DESCRIPTIONS,
    Rule,
    TableContract,
    sql_type,
)

SOURCES_YML = settings.DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
SOURCE_NAME = "sources"

HEADER = """\
# Generated from jump_platform/sources/contracts.py by `make sources-yml`
# (python -m jump_platform.sources.dbt_sources): edit the contracts, not this file.
#
# The source tables the Python loader writes into schema `sources`, each mapped to the Dagster asset
# that produces it, so dbt and Python share one lineage graph. Each business rule of a table is a dbt
# test on it (dbt_project/tests/generic/), which dagster-dbt shows as an asset check of the source
# asset: severity `error` blocks the models that read the table and the publish, `warn` warns.
# On PostgreSQL the loader writes the build's schema, `sources__build` (see
# macros/generate_schema_name.sql), which the publish renames to `sources`.
"""


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as dbt's own YAML files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def rule_test(rule: Rule, contract: TableContract) -> dict[str, Any]:
    """One rule as a dbt data test entry."""
    return {
        rule.test: {
            "name": rule.name,
            "description": rule.description,
            "arguments": {**rule.arguments, "key_columns": list(contract.primary_key)},
            "config": {"severity": "error" if rule.blocking else "warn"},
        }
    }


def _column(name: str, description: str, data_type: str, tests: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "description": description, "data_type": data_type}
    if tests:
        entry["data_tests"] = tests
    return entry


def source_table(contract: TableContract) -> dict[str, Any]:
    """A contract as a dbt source table: description, asset key, rules, columns."""
    rules = contract.rules
    unknown = {rule.column for rule in rules} - {None, *contract.column_names}
    if unknown:
        raise ValueError(f"{contract.table}: rules on unknown column(s) {sorted(unknown)}")
    columns = [
        _column(
            column.name,
            column.description,
            column.sql_type,
            [rule_test(rule, contract) for rule in rules if rule.column == column.name],
        )
        for column in contract.columns
    ]
    columns += [
        _column(name, LOAD_METADATA_DESCRIPTIONS[name], sql_type(dtype), []) for name, dtype in LOAD_METADATA_COLUMNS.items()
    ]
    table: dict[str, Any] = {
        "name": contract.table,
        "description": contract.description,
        "meta": {"dagster": {"asset_key": [SOURCE_NAME, contract.table]}},
    }
    table_tests = [rule_test(rule, contract) for rule in rules if rule.column is None]
    if table_tests:
        table["data_tests"] = table_tests
    table["columns"] = columns
    return table


def sources_yml() -> str:
    """The text of `_sources.yml`, from the contracts."""
    document = {
        "version": 2,
        "sources": [
            {
                "name": SOURCE_NAME,
                "schema": f"{{{{ '{SOURCE_NAME}__build' if target.type == 'postgres' else '{SOURCE_NAME}' }}}}",
                "description": (
                    "Extracts of the Jump app and the CRM, loaded as they are delivered by the Python loader, "
                    "plus load metadata. Incremental deliveries append rows, so a table may hold several "
                    "versions of one primary key: staging keeps the latest, and the rules judge it."
                ),
                "tables": [source_table(contract) for contract in CONTRACTS.values()],
            }
        ],
    }
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return f"{HEADER}\n{body}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    parser.add_argument("--path", type=Path, default=SOURCES_YML)
    args = parser.parse_args(argv)
    expected = sources_yml()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != expected:
            print(f"{args.path} is not what the contracts give: run `make sources-yml`.", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        args.path.write_text(expected, encoding="utf-8")
        print(f"Wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
