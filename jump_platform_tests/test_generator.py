"""The demo generator respects the Jump business rules, is deterministic and never rewrites history."""

import datetime as dt
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.generator import GeneratorParams, encoding, freelancers, generate_tables
from jump_platform.sources.generator.pools import EmailAddresses, make_pools

AS_OF = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return generate_tables(GeneratorParams(seed=42, as_of=AS_OF))


def test_tables_have_exactly_the_contract_columns_and_types(tables: dict[str, pl.DataFrame]) -> None:
    for name, contract in CONTRACTS.items():
        assert tables[name].schema == pl.Schema(contract.schema), name


def test_default_scale_matches_the_previous_platform(tables: dict[str, pl.DataFrame]) -> None:
    assert tables["app__users"].height == 1_000
    assert tables["app__clients"].height == 20
    assert 4_000 <= tables["app__invoices"].height <= 6_000


def test_primary_keys_are_unique(tables: dict[str, pl.DataFrame]) -> None:
    for name, contract in CONTRACTS.items():
        keys = tables[name].select(contract.primary_key)
        assert not keys.is_duplicated().any(), name
        assert keys.null_count().sum_horizontal().item() == 0, name


def test_ids_are_uuids(tables: dict[str, pl.DataFrame]) -> None:
    pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    for name in ("app__users", "app__clients", "app__job_contracts", "app__invoices"):
        assert tables[name]["id"].str.contains(pattern).all(), name


def test_contracts_of_one_freelancer_never_overlap_and_at_most_one_is_open(tables: dict[str, pl.DataFrame]) -> None:
    contracts = tables["app__job_contracts"].sort("user_id", "start_date")
    with_next = contracts.with_columns(next_start=pl.col("start_date").shift(-1).over("user_id"))
    overlapping = with_next.filter(
        pl.col("next_start").is_not_null() & (pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("next_start")))
    )
    assert overlapping.is_empty()
    assert contracts.filter(pl.col("end_date").is_null()).group_by("user_id").len()["len"].max() == 1


def test_contract_dates_are_ordered_and_not_in_the_future(tables: dict[str, pl.DataFrame]) -> None:
    contracts = tables["app__job_contracts"]
    assert (contracts["start_date"] <= AS_OF).all()
    assert contracts.filter(pl.col("end_date") < pl.col("start_date")).is_empty()
    assert contracts.filter(pl.col("end_date") > AS_OF).is_empty()
    assert set(contracts["entity"].unique()) == {"blue", "green"}
    assert contracts["user_id"].is_in(tables["app__users"]["id"].implode()).all()


def test_invoices_fall_inside_their_contract_with_a_known_client_and_positive_amount(
    tables: dict[str, pl.DataFrame],
) -> None:
    invoices = tables["app__invoices"].join(tables["app__job_contracts"], left_on="job_contract_id", right_on="id", how="left")
    assert invoices["start_date"].null_count() == 0
    outside = invoices.filter(
        (pl.col("issue_date") < pl.col("start_date"))
        | (pl.col("end_date").is_not_null() & (pl.col("issue_date") > pl.col("end_date")))
        | (pl.col("issue_date") > AS_OF)
    )
    assert outside.is_empty()
    assert invoices["client_id"].is_in(tables["app__clients"]["id"].implode()).all()
    assert (invoices["amount"] > 0).all()


def test_references_follow_issue_order_without_gaps(tables: dict[str, pl.DataFrame]) -> None:
    invoices = tables["app__invoices"].sort("reference")
    expected = [f"JMP{n:05d}" for n in range(1, invoices.height + 1)]
    assert invoices["reference"].to_list() == expected
    assert invoices["issue_date"].is_sorted()


def test_some_clients_share_a_name_under_different_ids(tables: dict[str, pl.DataFrame]) -> None:
    clients = tables["app__clients"]
    assert clients["name"].n_unique() < clients.height


def test_crm_holds_most_users_with_the_same_identity_and_half_answered(tables: dict[str, pl.DataFrame]) -> None:
    users, crm = tables["app__users"], tables["crm__customers"]
    matched = users.join(crm, on=["last_name", "first_name", "email"], how="inner")
    assert matched.height >= 0.8 * users.height
    crm_only = crm.join(users, on=["last_name", "first_name", "email"], how="anti")
    assert crm_only.height > 0
    answered = matched["satisfaction_score"].is_not_null().mean()
    assert 0.4 <= answered <= 0.6
    scores = crm["satisfaction_score"].drop_nulls()
    assert scores.min() >= 0 and scores.max() <= 10


def test_same_seed_and_as_of_give_identical_tables(tables: dict[str, pl.DataFrame]) -> None:
    again = generate_tables(GeneratorParams(seed=42, as_of=AS_OF))
    for name in CONTRACTS:
        assert_frame_equal(tables[name], again[name])


def test_another_seed_gives_other_data(tables: dict[str, pl.DataFrame]) -> None:
    other = generate_tables(GeneratorParams(seed=7, as_of=AS_OF))
    assert not other["app__invoices"].equals(tables["app__invoices"])


def test_history_up_to_an_earlier_as_of_date_is_never_rewritten(tables: dict[str, pl.DataFrame]) -> None:
    earlier_date = dt.date(2024, 6, 15)
    earlier = generate_tables(GeneratorParams(seed=42, as_of=earlier_date))
    for name in ("app__users", "app__clients", "crm__customers"):
        assert_frame_equal(earlier[name], tables[name])
    assert_frame_equal(
        earlier["app__invoices"],
        tables["app__invoices"].filter(pl.col("issue_date") <= earlier_date),
    )
    later_contracts = tables["app__job_contracts"].filter(pl.col("start_date") <= earlier_date)
    both = earlier["app__job_contracts"].join(later_contracts, on="id", how="full", suffix="_later")
    assert both["id"].null_count() == 0 and both["id_later"].null_count() == 0
    changed = both.filter(~pl.col("end_date").eq_missing(pl.col("end_date_later")))
    # The one change allowed: a contract open at the earlier date that has ended since.
    assert changed["end_date"].null_count() == changed.height
    assert (changed["end_date_later"] > earlier_date).all()
    for column in ("user_id", "entity", "start_date"):
        assert both[column].equals(both[f"{column}_later"], check_names=False)


def test_scale_multiplies_freelancers_clients_and_invoices() -> None:
    small = generate_tables(GeneratorParams(seed=1, as_of=AS_OF, scale=0.1))
    assert small["app__users"].height == 100
    assert small["app__clients"].height == 2
    assert 300 <= small["app__invoices"].height <= 700


def test_freelancers_drawn_in_several_chunks_keep_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freelancers, "FREELANCERS_PER_CHUNK", 150)
    tables = generate_tables(GeneratorParams(seed=3, as_of=AS_OF, scale=0.5))

    assert tables["app__users"].height == 500
    for name, contract in CONTRACTS.items():
        assert not tables[name].select(contract.primary_key).is_duplicated().any(), name
    assert not tables["app__users"]["email"].is_duplicated().any()
    # Every invoice names a contract of the cut timeline, drawn in whichever chunk.
    assert tables["app__invoices"]["job_contract_id"].is_in(tables["app__job_contracts"]["id"].implode()).all()
    assert tables["app__job_contracts"]["user_id"].is_in(tables["app__users"]["id"].implode()).all()
    assert tables["app__invoices"]["reference"].str.slice(3).cast(pl.Int64).sort().to_list() == list(
        range(1, tables["app__invoices"].height + 1)
    )


def test_an_address_taken_in_an_earlier_chunk_gets_the_next_number() -> None:
    pools = make_pools(GeneratorParams(seed=42, as_of=AS_OF))
    addresses = EmailAddresses(pools, pl.Series(["example.com"]))
    same_name = (np.array([0, 0]), np.array([0, 0]), np.array([0, 0]))

    first = addresses.hand_out(*same_name).to_list()
    then = addresses.hand_out(*same_name).to_list()

    local = f"{pools.first_parts[int(pools.first_part_of[0])]}.{pools.last_parts[int(pools.last_part_of[0])]}"
    assert first + then == [f"{local}@example.com", f"{local}1@example.com", f"{local}2@example.com", f"{local}3@example.com"]


def test_email_addresses_hold_only_ascii_letters_dots_and_digits(tables: dict[str, pl.DataFrame]) -> None:
    emails = pl.concat([tables["app__users"]["email"], tables["crm__customers"]["email"]])
    assert emails.str.contains(r"^[a-z]+\.[a-z]+[0-9]*@[a-z0-9.-]+$").all()


def test_amounts_are_exact_cents() -> None:
    cents = np.array([5_000, 250_001, 99, 123_456_789_012])
    assert encoding.amounts(cents).to_list() == [Decimal("50.00"), Decimal("2500.01"), Decimal("0.99"), Decimal("1234567890.12")]


def test_ids_of_rows_depend_only_on_the_seed_and_the_row_number() -> None:
    params = GeneratorParams(seed=42, as_of=AS_OF)
    all_ids = encoding.counter_ids(params, "contracts", np.arange(10))
    some_ids = encoding.counter_ids(params, "contracts", np.array([7, 2]))
    assert some_ids.to_list() == [all_ids[7], all_ids[2]]
    assert all_ids.n_unique() == 10
    other_table = encoding.counter_ids(params, "users", np.arange(10))
    assert not set(other_table) & set(all_ids)
