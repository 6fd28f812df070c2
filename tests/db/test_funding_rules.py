"""Issue 10, critical: fund in one currency, held in another. No row a client writes can
influence money, and the database holds every deposit and every activation to what is owed.

The reproduction, end to end: a buyer (or the seller) of a 1000 NGN project plants a pending
deposit of 1000 USD, or of 0.01 NGN, hoping that ``fund`` returns it, FinCra charges it, and escrow
books 1000 NGN held. Each step of that attack is refused here, by name.
"""

import importlib
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escrow import services
from escrow.commission import commission_quote
from escrow.db.rls import as_role
from escrow.models import ProjectStatus, Transaction, TransactionStatus, TransactionType
from escrow.money import ZERO_DECIMAL_CURRENCIES, decimals
from escrow.services.funding import amount_owed
from tests import builders
from tests.factories import MilestoneFactory, ProjectFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

PLANT = (
    "insert into transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount, currency)"
    " values (%s, %s, 'deposit', 'pending', %s, 0, %s, %s)"
)


@pytest.fixture
def naira(db):
    """Proposed and accepted, 1000 NGN owed (the seller bears the commission): the buyer may fund."""
    project = builders.accepted(currency="NGN", amounts=("1000.00",))
    assert amount_owed(project) == Decimal("1000.00")
    return project


def plant(project, *, user, amount: str, currency: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(PLANT, [user.pk, project.pk, amount, amount, currency])


def refused_by(constraint: str, action) -> None:
    """``action`` fails on ``constraint`` and writes nothing."""
    before = db_snapshot()
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        action()
    assert error.value.__cause__.diag.constraint_name == constraint
    assert db_snapshot() == before


# --- clients never write ledger rows -------------------------------------------------------------

@pytest.mark.parametrize("party", ["buyer", "seller"])
@pytest.mark.parametrize(("amount", "currency"), [("1000.00", "USD"), ("0.01", "NGN"), ("1000.00", "NGN")])
def test_a_party_cannot_insert_a_deposit_through_the_client_role(naira, party, amount, currency):
    user = getattr(naira, party)
    before = db_snapshot()
    with pytest.raises(DatabaseError) as refused:
        with as_role("authenticated", user.pk):
            plant(naira, user=user, amount=amount, currency=currency)
    assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege: no INSERT grant at all
    assert db_snapshot() == before


def test_no_client_policy_or_grant_writes_transactions(db):
    with connection.cursor() as cursor:
        cursor.execute("select policyname from pg_policies where tablename = 'transactions' and cmd <> 'SELECT'")
        assert cursor.fetchall() == []
        cursor.execute(
            "select has_table_privilege('authenticated', 'transactions', 'INSERT, UPDATE, DELETE'),"
            " has_any_column_privilege('authenticated', 'transactions', 'INSERT, UPDATE')"
        )
        assert cursor.fetchone() == (False, False)


# --- a deposit is the buyer's, in the project's currency, for exactly what is owed ---------------

def test_a_deposit_in_another_currency_is_refused_even_to_the_owner(naira):
    refused_by("transactions_chk_deposit_currency",
               lambda: plant(naira, user=naira.buyer, amount="1000.00", currency="USD"))


@pytest.mark.parametrize("amount", ["0.01", "999.99", "1000.01"])
def test_a_deposit_of_other_than_what_is_owed_is_refused(naira, amount):
    refused_by("transactions_chk_deposit_amount",
               lambda: plant(naira, user=naira.buyer, amount=amount, currency="NGN"))


def test_the_seller_cannot_plant_a_deposit(naira):
    refused_by("transactions_chk_deposit_buyer", lambda: plant(naira, user=naira.seller, amount="1.00", currency="NGN"))


def test_a_deposit_cannot_be_moved_to_a_project_it_does_not_match(naira):
    deposit = services.project_fund_start(project=naira, actor=naira.buyer)
    other = builders.accepted(currency="USD", amounts=("5.00",), buyer=naira.buyer)
    refused_by("transactions_chk_deposit_currency",
               lambda: Transaction.objects.filter(pk=deposit.pk).update(project=other))


def test_a_deposit_owed_by_the_buyer_commission_included(db):
    """Fee bearer buyer: 1000 + 2.5 % = 1025 is owed; 1000 is not."""
    project = builders.accepted(currency="NGN", amounts=("1000.00",), fee_bearer="buyer")
    refused_by("transactions_chk_deposit_amount",
               lambda: plant(project, user=project.buyer, amount="1000.00", currency="NGN"))
    plant(project, user=project.buyer, amount="1025.00", currency="NGN")
    assert Transaction.objects.filter(project=project, amount=Decimal("1025.00")).count() == 1


# --- active only when paid and held in full, in the project's currency ---------------------------

def complete(project, kind: str, amount: str, currency: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount,"
            " currency, completed_at) values (%s, %s, %s, 'completed', %s, 0, %s, %s, now())",
            [project.buyer_id, project.pk, kind, amount, amount, currency],
        )


def activate(project, status: str = "active") -> None:
    with connection.cursor() as cursor:
        cursor.execute("update projects set status = %s where id = %s", [status, project.pk])


def test_a_project_with_nothing_paid_cannot_become_active(naira):
    refused_by("projects_chk_funded", lambda: activate(naira))
    refused_by("projects_chk_funded", lambda: activate(naira, "in_progress"))


def test_a_hold_of_0_01_does_not_activate_a_1000_project(naira):
    """The 0.01 variant: a cheap hold (written around every service) cannot activate the project."""
    def attack():
        complete(naira, "escrow_hold", "0.01", "NGN")
        activate(naira)
    refused_by("projects_chk_funded", attack)


def test_a_hold_in_another_currency_does_not_activate(naira):
    def attack():
        deposit = services.project_fund_start(project=naira, actor=naira.buyer)
        Transaction.objects.filter(pk=deposit.pk).update(status=TransactionStatus.COMPLETED, completed_at=timezone.now())
        complete(naira, "escrow_hold", "1000.00", "USD")
        activate(naira)
    refused_by("projects_chk_funded", attack)


def test_paid_and_held_in_full_activates(naira):
    deposit = services.project_fund_start(project=naira, actor=naira.buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=Decimal("1000.00"))
    naira.refresh_from_db()
    assert naira.status == ProjectStatus.ACTIVE
    hold = Transaction.objects.get(project=naira, transaction_type=TransactionType.ESCROW_HOLD)
    assert (hold.amount, hold.currency) == (Decimal("1000.00"), "NGN")
    assert_ledger_invariants()


# --- fund reuses only the deposit it created ------------------------------------------------------

def test_fund_does_not_return_a_deposit_it_did_not_create(naira):
    """Even a planted row that passes every database rule (the buyer's, NGN, exactly owed) is not
    the service's: fund creates its own, and only that one is ever returned again."""
    plant(naira, user=naira.buyer, amount="1000.00", currency="NGN")
    planted = Transaction.objects.get(project=naira)

    deposit = services.project_fund_start(project=naira, actor=naira.buyer)
    again = services.project_fund_start(project=naira, actor=naira.buyer)

    assert deposit.pk != planted.pk and again.pk == deposit.pk
    assert (deposit.user_id, deposit.amount, deposit.currency) == (naira.buyer_id, Decimal("1000.00"), "NGN")


def test_the_reproduction_end_to_end(naira):
    """Pay 1000 NGN, get 1000 NGN held: whatever was tried before, the money matches."""
    for party, amount, currency in ((naira.buyer, "1000.00", "USD"), (naira.buyer, "0.01", "NGN"),
                                    (naira.seller, "1.00", "NGN")):
        with pytest.raises(DatabaseError), as_role("authenticated", party.pk):
            plant(naira, user=party, amount=amount, currency=currency)
        with pytest.raises(IntegrityError), transaction.atomic():
            plant(naira, user=party, amount=amount, currency=currency)
    assert not Transaction.objects.filter(project=naira).exists()

    deposit = services.project_fund_start(project=naira, actor=naira.buyer)
    assert (deposit.amount, deposit.currency) == (Decimal("1000.00"), "NGN")
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)
    naira.refresh_from_db()
    assert naira.status == ProjectStatus.ACTIVE
    assert set(Transaction.objects.filter(project=naira).values_list("currency", flat=True)) == {"NGN"}
    assert_ledger_invariants()


# --- "owed" in SQL is commission.py's, exactly -----------------------------------------------------

CURRENCIES = ["USD", "NGN", "KES", "UGX", "XOF", "JPY"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(CURRENCIES),
    minor_units=st.integers(min_value=1, max_value=10**13),
    percent_hundredths=st.integers(min_value=0, max_value=9999),
    fee_bearer=st.sampled_from(["buyer", "seller", "split"]),
)
def test_buyer_pays_in_sql_equals_commission_py(db, currency, minor_units, percent_hundredths, fee_bearer):
    amount = Decimal(minor_units).scaleb(-decimals(currency))
    percent = Decimal(percent_hundredths).scaleb(-2)
    quote = commission_quote(amount=amount, currency=currency, fee_bearer=fee_bearer, percent=percent)
    with connection.cursor() as cursor:
        cursor.execute("select escrow_buyer_pays(%s, %s, %s, %s)", [amount, currency, percent, fee_bearer])
        assert cursor.fetchone()[0] == quote.buyer_pays


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(CURRENCIES),
    amounts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=4),
    percent_hundredths=st.integers(min_value=0, max_value=9999),
    fee_bearer=st.sampled_from(["buyer", "seller", "split"]),
)
def test_amount_owed_in_sql_equals_the_services(db, currency, amounts, percent_hundredths, fee_bearer):
    with transaction.atomic():
        prices = [Decimal(a).scaleb(-decimals(currency)) for a in amounts]
        project = ProjectFactory(currency=currency, total_amount=sum(prices), fee_bearer=fee_bearer,
                                 commission_percent=Decimal(percent_hundredths).scaleb(-2))
        for index, price in enumerate(prices):
            MilestoneFactory(project=project, order_index=index, amount=price)
        with connection.cursor() as cursor:
            cursor.execute("select escrow_amount_owed(%s)", [project.pk])
            assert cursor.fetchone()[0] == amount_owed(project)
        transaction.set_rollback(True)


def test_zero_decimal_currencies_agree_with_the_money_module():
    migration = importlib.import_module("escrow.migrations.0011_deposit_rules")
    assert set(migration.ZERO_DECIMAL) == ZERO_DECIMAL_CURRENCIES
