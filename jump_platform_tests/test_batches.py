"""The batch policy of a load (`plan_batch`), on its own: a batch lands whole or not at all, a
table gets one snapshot per batch, and increments append while a snapshot replaces."""

from pathlib import Path

from jump_platform.sources.contracts import CONTRACTS
from jump_platform.sources.landing import CheckedDelivery, Delivery
from jump_platform.sources.landing.batches import plan_batch

ROOT = Path("/landing/_batches/b1")


def _delivery(name: str, table: str, incremental: bool = False) -> Delivery:
    return Delivery(CONTRACTS[table], ROOT / name, incremental)


def _checked(delivery: Delivery, rows: int = 10, extras: tuple[str, ...] = ()) -> CheckedDelivery:
    return CheckedDelivery(delivery, rows, extras)


def test_a_snapshot_and_increments_load_table_by_table_in_the_batch_order() -> None:
    users = _delivery("app/users.csv", "app__users")
    invoices = _delivery("app/invoices.csv", "app__invoices")
    march = _delivery("app/invoices/2024-03.csv", "app__invoices", incremental=True)
    customers = _delivery("crm/customers/b1.csv", "crm__customers", incremental=True)
    batch = [users, invoices, march, customers]

    plan = plan_batch(batch, [_checked(d, rows=n) for n, d in enumerate(batch, start=1)], {}, ROOT)

    assert not plan.refused
    assert [(load.table, load.write_mode, load.rows) for load in plan.loads] == [
        ("app__users", "replace", 1),
        ("app__invoices", "replace", 5),  # a snapshot, then the increment after it
        ("crm__customers", "append", 4),
    ]
    assert [p.delivery for p in plan.loads[1].parts] == [invoices, march]


def test_one_refused_file_refuses_the_whole_batch_each_file_saying_why() -> None:
    users = _delivery("app/users.csv", "app__users")
    clients = _delivery("app/clients.csv", "app__clients")

    plan = plan_batch([users, clients], [_checked(users)], {clients.path: "app/clients.csv: line 3: ..."}, ROOT)

    assert plan.loads == ()
    assert plan.refused == {
        users.path: "not loaded: app/clients.csv was refused",
        clients.path: "app/clients.csv: line 3: ...",
    }
    assert plan.errors == ("app/clients.csv: line 3: ...",)


def test_two_snapshots_of_one_table_in_a_batch_are_both_refused() -> None:
    first = _delivery("app/users.csv", "app__users")
    second = _delivery("app/users.parquet", "app__users")

    plan = plan_batch([first, second], [_checked(first), _checked(second)], {}, ROOT)

    expected = "app__users: several snapshots in one batch (app/users.csv, app/users.parquet); expected one"
    assert plan.refused == {first.path: expected, second.path: expected}


def test_a_stray_refuses_a_batch_of_good_files() -> None:
    users = _delivery("app/users.csv", "app__users")

    plan = plan_batch([users], [_checked(users)], {}, ROOT, strays=["'notes.txt'"])

    assert plan.loads == ()
    assert plan.refused == {users.path: "not loaded: 'notes.txt' was refused"}


def test_extra_columns_of_every_part_are_kept_once() -> None:
    snapshot = _delivery("app/users.csv", "app__users")
    increment = _delivery("app/users/b1.csv", "app__users", incremental=True)

    plan = plan_batch(
        [snapshot, increment],
        [_checked(snapshot, extras=("nickname",)), _checked(increment, extras=("age", "nickname"))],
        {},
        ROOT,
    )

    assert plan.loads[0].extra_columns == ("age", "nickname")
