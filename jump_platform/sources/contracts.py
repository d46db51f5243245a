"""One declaration per source table: its columns, types, nullability, keys and business rules.

The generator, the loader's validation and the dbt `sources:` entry all read these contracts: the
dbt file `dbt_project/models/staging/_sources.yml` is generated from them (`make sources-yml`,
`jump_platform/sources/dbt_sources.py`), with one dbt test per business rule, which dagster-dbt
shows as an asset check of the source table. So the four can never drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

AMOUNT_DTYPE = pl.Decimal(18, 2)
# The largest invoice amount the contract accepts (rule `amount_is_at_most_the_maximum`), so that a
# value the contract accepts never overflows a sum. Bounding the amount rather than widening the
# sums: the marts' enforced contracts keep their decimal(18,2) columns, which the dashboard, the
# exports and the analysts' queries read, and no engine is trusted with an overflow (Spark, outside
# ANSI mode, turns an overflowing decimal into a silent null). decimal(18,2) holds up to
# 9,999,999,999,999,999.99: a sum overflows only from 10^10 invoices at this maximum, a thousand
# times more than a lakehouse holds (the bench: ~10M invoices). A freelancer's invoice is a few
# thousand euros (the generator's largest, ~60,000); one of over a million is a typing error.
MAX_INVOICE_AMOUNT = Decimal("1000000.00")
# Jump's first business day: no data can exist before it. The one declaration of that fact: the
# generator's timeline starts there (HISTORY_START), the as-of date cannot precede it
# (sources/settings_checks.py), the plausible-date rules below start there and the dbt var
# `first_business_day`, where the marts' calendars start, equals it (a test checks).
FIRST_BUSINESS_DAY = dt.date(2019, 1, 1)
# Plausible dates (rules `<column>_is_plausible`): none before Jump's first business day, none more
# than this many years after the row was delivered (its `_loaded_at`: a fixed-term contract's end,
# an invoice issued in advance). Measured from the delivery rather than the run's as-of date, so a
# row is judged the same by every run, a backfill as of 2019 included. Refused rather than only
# warned: a date from before Jump existed, or a century ahead, is a typing error, and a row kept
# with it would stretch every calendar and month grid of the marts (a contract dated 0001 made
# dim_dates 39,057 days long). The marts' date spines start at the same first day (dbt var
# `first_business_day`) and reach further than this bound (var `spine_years_after_as_of`), which a
# test checks.
PLAUSIBLE_YEARS_AFTER_LOAD = 10
# An invoice reference: this prefix, then its number in the sequence, zero-padded to at least 5 digits.
REFERENCE_PREFIX = "JMP"
REFERENCE_MIN_DIGITS = 5
# Names of tables and columns reach the dbt tests' SQL as they are: they must be plain identifiers.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

# Technical columns the loader adds to every row it writes into `sources`.
LOAD_METADATA_COLUMNS: dict[str, pl.DataType] = {
    "_batch_id": pl.String(),
    "_loaded_at": pl.Datetime("us", "UTC"),
    "_source_file": pl.String(),
    "_source_line": pl.Int64(),
}
LOAD_METADATA_DESCRIPTIONS: dict[str, str] = {
    "_batch_id": "Id of the load batch that wrote the row.",
    "_loaded_at": "When the loader wrote the row (UTC).",
    "_source_file": "The landing-zone file the row was read from.",
    "_source_line": "Where in that file: the line of a CSV file (line 1 is its header), the row number of a Parquet "
    "file or SQLite table (from 1). A failed rule names it beside the file.",
}


def sql_type(dtype: pl.DataType) -> str:
    """A polars type as DuckDB (and dbt's `data_type`) name it."""
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamp with time zone" if dtype.time_zone else "timestamp"
    return {pl.String: "varchar", pl.Date: "date", pl.Int32: "integer", pl.Int64: "bigint"}[type(dtype)]


@dataclass(frozen=True)
class Column:
    """One column of a source table.

    `nullable`: whether a value may be missing (an empty field); a non-null column refuses empty
    values and the literal text NULL, and matches dbt's `not_null` test on the staging model.
    `uuid`: the value must be a UUID written 8-4-4-4-12 hex digits.
    """

    name: str
    dtype: pl.DataType
    description: str
    nullable: bool = False
    accepted_values: tuple[str, ...] | None = None
    uuid: bool = False

    @property
    def sql_type(self) -> str:
        """The column's type as DuckDB (and dbt) name it."""
        return sql_type(self.dtype)


@dataclass(frozen=True)
class Rule:
    """A business rule of a source table, judged by a dbt test on the source.

    `test` is the dbt generic test that judges it (`dbt_project/tests/generic/<test>.sql`), given
    `arguments` and, on a column, `column_name`; every test also gets the table's primary key
    (`key_columns`), returns one row per offending row (the key first, then what is wrong) and
    judges the latest version of each row, as staging keeps it. `name` is the dbt test's name and
    the Dagster asset check's. `blocking`: a failure stops the models that read the table and the
    publish (dbt severity `error`); otherwise it is a warning (`warn`).
    """

    name: str
    test: str
    description: str
    column: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    blocking: bool = True


@dataclass(frozen=True)
class TableContract:
    system: str
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Unique keys beyond the primary key, e.g. the CRM is matched to the app on (last name, first
    # name, email), so a freelancer must appear once per triple.
    unique_keys: tuple[tuple[str, ...], ...] = ()
    # The rules beyond those the keys and columns imply (see `rules`).
    other_rules: tuple[Rule, ...] = ()
    # Whether a delivery may carry columns beyond these (kept, on a snapshot only). Off for every
    # table: an unexpected column is refused, so a delivery never changes a table's schema.
    allow_extra_columns: bool = False

    def __post_init__(self) -> None:
        names = [self.system, self.name, *self.column_names]
        bad = [name for name in names if not _IDENTIFIER.fullmatch(name)]
        if bad:
            raise ValueError(f"{self.table}: names must be lower-case identifiers, got {bad}")

    @property
    def table(self) -> str:
        """Name of the table in the lakehouse's `sources` schema, e.g. `app__invoices`."""
        return f"{self.system}__{self.name}"

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {column.name: column.dtype for column in self.columns}

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every business rule of the table: its primary and unique keys are unique and never
        null within a delivery, its foreign keys point to an existing row, its columns with
        accepted values hold nothing else, then `other_rules`."""
        keys = [
            Rule(
                "primary_key_is_unique_and_not_null" if key == self.primary_key else f"{'_'.join(key)}_is_unique_and_not_null",
                "unique_and_not_null_per_delivery",
                f"{' + '.join(key)} identifies one row of {self.table}: never null, never twice within one "
                "delivery (a later delivery may bring a new version of a row).",
                arguments={"columns": list(key)},
            )
            for key in (self.primary_key, *self.unique_keys)
        ]
        references = [
            Rule(
                f"{column}_exists_in_{parent}",
                "exists_in",
                f"Every {self.table}.{column} points to an existing {parent}.{parent_column}"
                f"{' (or is null)' if self.column(column).nullable else ''}.",
                column=column,
                arguments={
                    "table": parent,
                    "field": parent_column,
                    **({"nullable": True} if self.column(column).nullable else {}),
                },
            )
            for column, (parent, parent_column) in self.foreign_keys.items()
        ]
        accepted = [
            Rule(
                f"{column.name}_is_accepted",
                "one_of",
                f"{self.table}.{column.name} is one of: {', '.join(column.accepted_values)}.",
                column=column.name,
                arguments={"values": list(column.accepted_values), **({"nullable": True} if column.nullable else {})},
            )
            for column in self.columns
            if column.accepted_values
        ]
        return (*keys, *references, *accepted, *self.other_rules)


def plausible_date(column: str, what: str) -> Rule:
    """The rule that `column` (a date; null passes) is a plausible date for `what`."""
    return Rule(
        f"{column}_is_plausible",
        "plausible_date",
        f"{what} is on or after {FIRST_BUSINESS_DAY}, Jump's first business day, and at most "
        f"{PLAUSIBLE_YEARS_AFTER_LOAD} years after the row was delivered (_loaded_at).",
        column=column,
        arguments={"first_day": FIRST_BUSINESS_DAY.isoformat(), "years_after_load": PLAUSIBLE_YEARS_AFTER_LOAD},
    )


USERS = TableContract(
    system="app",
    name="users",
    description="Freelancers registered in the Jump app, one row per user.",
    columns=(
        Column("id", pl.String(), "User id (uuid).", uuid=True),
        Column("first_name", pl.String(), "First name."),
        Column("last_name", pl.String(), "Last name."),
        Column("email", pl.String(), "Email address, the key shared with the CRM."),
    ),
    primary_key=("id",),
    unique_keys=(("last_name", "first_name", "email"),),
)

CLIENTS = TableContract(
    system="app",
    name="clients",
    description="Companies the freelancers invoice. One company may appear twice under two ids.",
    columns=(
        Column("id", pl.String(), "Client id (uuid).", uuid=True),
        Column("name", pl.String(), "Company name, as typed in the app."),
    ),
    primary_key=("id",),
)

JOB_CONTRACTS = TableContract(
    system="app",
    name="job_contracts",
    description="Permanent job contracts between Jump and a freelancer, under Jump Blue or Jump Green.",
    columns=(
        Column("id", pl.String(), "Job contract id (uuid).", uuid=True),
        Column("user_id", pl.String(), "The freelancer holding the contract (app__users.id).", uuid=True),
        Column("entity", pl.String(), "The Jump offer: blue or green.", accepted_values=("blue", "green")),
        Column("start_date", pl.Date(), "First day of the contract."),
        Column("end_date", pl.Date(), "Last day of the contract; null while it is open.", nullable=True),
    ),
    primary_key=("id",),
    foreign_keys={"user_id": ("app__users", "id")},
    other_rules=(
        Rule(
            "job_contracts_never_overlap",
            "periods_never_overlap",
            "One freelancer's job contracts never overlap (an open contract runs forever), so at most one of them is open.",
            arguments={"owner": "user_id", "start_column": "start_date", "end_column": "end_date"},
        ),
        Rule(
            "start_date_is_not_after_end_date",
            "not_before",
            "A job contract starts on or before the day it ends.",
            column="end_date",
            arguments={"other_column": "start_date"},
        ),
        Rule(
            "no_job_contract_starts_after_the_as_of_date",
            "not_after_the_as_of_date",
            "No job contract starts after the as-of date (JUMP_AS_OF); the marts hold such a contract as upcoming.",
            column="start_date",
            blocking=False,
        ),
        plausible_date("start_date", "A job contract's start_date"),
        plausible_date("end_date", "A job contract's end_date, when it has one,"),
    ),
)

INVOICES = TableContract(
    system="app",
    name="invoices",
    description="Invoices a freelancer issued to a client through Jump.",
    columns=(
        Column("id", pl.String(), "Invoice id (uuid).", uuid=True),
        Column("job_contract_id", pl.String(), "The contract it was issued under (app__job_contracts.id).", uuid=True),
        Column("client_id", pl.String(), "The invoiced client (app__clients.id).", uuid=True),
        Column("reference", pl.String(), "JMP followed by a zero-padded sequence in issue order."),
        Column("amount", AMOUNT_DTYPE, "Amount excluding tax, in euros, 2 decimals."),
        Column("issue_date", pl.Date(), "Date the invoice was issued."),
    ),
    primary_key=("id",),
    foreign_keys={"job_contract_id": ("app__job_contracts", "id"), "client_id": ("app__clients", "id")},
    other_rules=(
        Rule(
            "issue_date_is_inside_the_job_contract",
            "inside_the_period_of",
            "An invoice is issued between its job contract's start_date and end_date (open: no end). "
            "An invoice whose contract does not exist is left to job_contract_id_exists_in_app__job_contracts.",
            column="issue_date",
            arguments={
                "reference": "job_contract_id",
                "table": "app__job_contracts",
                "field": "id",
                "start_column": "start_date",
                "end_column": "end_date",
            },
        ),
        Rule(
            "amount_is_positive_with_two_decimals",
            "positive_with_at_most_decimals",
            "An invoice amount is greater than 0 and has at most 2 decimals.",
            column="amount",
            arguments={"decimals": 2},
        ),
        Rule(
            "amount_is_at_most_the_maximum",
            "at_most",
            f"An invoice amount is at most {MAX_INVOICE_AMOUNT:,} euros, so that no sum of amounts overflows "
            "the marts' decimal(18,2) (jump_platform/sources/contracts.py, MAX_INVOICE_AMOUNT).",
            column="amount",
            arguments={"max_value": str(MAX_INVOICE_AMOUNT)},
        ),
        Rule(
            "references_run_in_sequence",
            "runs_in_sequence",
            f"Invoice references are {REFERENCE_PREFIX} + digits and number 1, 2, 3... with no gap and no "
            "repeat; each row after a gap names the references missing before it. The amounts stay right.",
            column="reference",
            arguments={"prefix": REFERENCE_PREFIX, "min_digits": REFERENCE_MIN_DIGITS},
            blocking=False,
        ),
        Rule(
            "no_invoice_after_the_as_of_date",
            "not_after_the_as_of_date",
            "No invoice is issued after the as-of date (JUMP_AS_OF); the marts show such an invoice apart, as scheduled.",
            column="issue_date",
            blocking=False,
        ),
        plausible_date("issue_date", "An invoice's issue_date"),
    ),
)

CRM_CUSTOMERS = TableContract(
    system="crm",
    name="customers",
    description="Freelancers as the CRM knows them, with their satisfaction survey answer.",
    columns=(
        Column("last_name", pl.String(), "Last name."),
        Column("first_name", pl.String(), "First name."),
        Column("email", pl.String(), "Email address."),
        Column(
            "satisfaction_score",
            pl.Int32(),
            "Answer to 'would you recommend Jump?', 0 to 10; null when the freelancer did not answer.",
            nullable=True,
        ),
    ),
    primary_key=("last_name", "first_name", "email"),
    other_rules=(
        Rule(
            "satisfaction_score_is_between_0_and_10",
            "between",
            "A CRM satisfaction score, when present, is between 0 and 10.",
            column="satisfaction_score",
            arguments={"min_value": 0, "max_value": 10},
        ),
    ),
)

CONTRACTS: dict[str, TableContract] = {
    contract.table: contract for contract in (USERS, CLIENTS, JOB_CONTRACTS, INVOICES, CRM_CUSTOMERS)
}
