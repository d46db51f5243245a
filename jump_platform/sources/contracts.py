"""One declaration per source table: its columns, types, nullability and primary key.

The generator, the loader's validation, the asset checks and the dbt `sources:` entry all read
these contracts (the dbt side is checked against them in `test_contracts.py`), so they can never
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

AMOUNT_DTYPE = pl.Decimal(18, 2)

# Technical columns the loader adds to every row it writes into `sources`.
LOAD_METADATA_COLUMNS: dict[str, pl.DataType] = {
    "_batch_id": pl.String(),
    "_loaded_at": pl.Datetime("us", "UTC"),
    "_source_file": pl.String(),
}


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
        if isinstance(self.dtype, pl.Decimal):
            return f"decimal({self.dtype.precision},{self.dtype.scale})"
        return {pl.String: "varchar", pl.Date: "date", pl.Int32: "integer"}[type(self.dtype)]


@dataclass(frozen=True)
class TableContract:
    system: str
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Whether a delivery may carry columns beyond these (kept, on a snapshot only). Off for every
    # table: an unexpected column is refused, so a delivery never changes a table's schema.
    allow_extra_columns: bool = False

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
)

CONTRACTS: dict[str, TableContract] = {
    contract.table: contract for contract in (USERS, CLIENTS, JOB_CONTRACTS, INVOICES, CRM_CUSTOMERS)
}
