"""The money rules the database enforces by itself, tested around the ORM."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from escrow.db.rls import as_role
from escrow.models import EscrowEvent, ProjectStatus, Transaction, TransactionStatus, TransactionType
from tests.factories import MilestoneFactory, ProjectFactory, TransactionFactory, UserFactory


def ledger_row(**fields) -> Transaction:
    if fields.get("status") == TransactionStatus.COMPLETED:
        fields.setdefault("completed_at", timezone.now())
    return TransactionFactory(**fields)

def refused(constraint: str, action) -> IntegrityError:
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        action()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred triggers fire now, not at commit
    assert error.value.__cause__.diag.constraint_name == constraint
    return error.value

def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)

@pytest.fixture
def funded(db):
    project = ProjectFactory(status=ProjectStatus.ACTIVE, terms_accepted_at=timezone.now())
    milestone = MilestoneFactory(project=project, amount=project.total_amount)
    hold = ledger_row(
        project=project, user=project.buyer, transaction_type=TransactionType.ESCROW_HOLD,
        status=TransactionStatus.COMPLETED,
    )
    return project, milestone, hold

def test_ledger_amounts_are_immutable(funded):
    _, _, hold = funded
    refused("transactions_immutable", lambda: sql("update transactions set amount = 1, net_amount = 1 where id = %s", [hold.id]))
    refused("transactions_immutable", lambda: sql("update transactions set user_id = %s where id = %s", [UserFactory().id, hold.id]))
    hold.refresh_from_db()
    assert hold.amount == Decimal("1000.00")

def test_completed_ledger_rows_are_never_deleted(funded):
    _, _, hold = funded
    refused("transactions_immutable", lambda: sql("delete from transactions where id = %s", [hold.id]))
    assert Transaction.objects.filter(id=hold.id).exists()

def test_a_settled_row_keeps_its_status(funded):
    _, _, hold = funded
    refused("transactions_immutable", lambda: sql("update transactions set status = 'failed' where id = %s", [hold.id]))
    hold.refresh_from_db()
    assert hold.status == TransactionStatus.COMPLETED

def test_a_pending_row_may_settle_and_a_pending_row_may_go(db):
    deposit = TransactionFactory()
    sql("update transactions set status = 'completed', completed_at = now() where id = %s", [deposit.id])
    other = TransactionFactory()
    sql("delete from transactions where id = %s", [other.id])
    assert list(Transaction.objects.values_list("status", flat=True)) == ["completed"]

def test_no_release_beyond_what_is_held(funded):
    project, milestone, _ = funded
    refused(
        "transactions_chk_project_held",
        lambda: ledger_row(
            project=project, milestone=milestone, user=project.seller, amount=Decimal("1000.01"),
            transaction_type=TransactionType.ESCROW_RELEASE, status=TransactionStatus.COMPLETED,
        ),
    )
    assert not Transaction.objects.filter(transaction_type=TransactionType.ESCROW_RELEASE).exists()

def test_no_refund_without_a_hold(db):
    project = ProjectFactory(status=ProjectStatus.ACTIVE, terms_accepted_at=timezone.now())
    MilestoneFactory(project=project, amount=project.total_amount)
    refused(
        "transactions_chk_project_held",
        lambda: ledger_row(
            project=project, transaction_type=TransactionType.REFUND, status=TransactionStatus.COMPLETED,
            amount=Decimal("1.00"),
        ),
    )
    assert Transaction.objects.count() == 0

def test_a_milestone_is_released_once(funded):
    project, milestone, _ = funded
    release = dict(
        project=project, milestone=milestone, user=project.seller, amount=Decimal("100.00"),
        transaction_type=TransactionType.ESCROW_RELEASE,
    )
    ledger_row(**release, status=TransactionStatus.COMPLETED)
    refused("transactions_one_release_per_milestone", lambda: ledger_row(**release, status=TransactionStatus.PENDING))
    assert Transaction.objects.filter(transaction_type=TransactionType.ESCROW_RELEASE).count() == 1

def test_a_failed_release_does_not_block_the_real_one(funded):
    project, milestone, _ = funded
    release = dict(
        project=project, milestone=milestone, user=project.seller, amount=Decimal("100.00"),
        transaction_type=TransactionType.ESCROW_RELEASE,
    )
    ledger_row(**release, status=TransactionStatus.FAILED)
    ledger_row(**release, status=TransactionStatus.COMPLETED)
    assert Transaction.objects.filter(transaction_type=TransactionType.ESCROW_RELEASE).count() == 2

def test_a_project_is_held_once(funded):
    project, _, _ = funded
    refused(
        "transactions_one_hold_per_project",
        lambda: ledger_row(
            project=project, user=project.buyer, transaction_type=TransactionType.ESCROW_HOLD,
            status=TransactionStatus.COMPLETED,
        ),
    )
    assert Transaction.objects.filter(transaction_type=TransactionType.ESCROW_HOLD).count() == 1

def test_no_withdrawal_beyond_the_balance(funded):
    project, milestone, _ = funded
    seller = project.seller
    ledger_row(
        project=project, milestone=milestone, user=seller, amount=Decimal("975.00"),
        transaction_type=TransactionType.ESCROW_RELEASE, status=TransactionStatus.COMPLETED,
    )
    withdrawal = dict(project=None, user=seller, transaction_type=TransactionType.WITHDRAWAL, currency="USD")
    ledger_row(**withdrawal, amount=Decimal("900.00"))
    refused("transactions_chk_balance", lambda: ledger_row(**withdrawal, amount=Decimal("75.01")))
    ledger_row(**withdrawal, amount=Decimal("75.00"))
    # A failed withdrawal gives its amount back; the balance is in the currency withdrawn.
    refused("transactions_chk_balance", lambda: ledger_row(**withdrawal, amount=Decimal("0.01")))
    refused("transactions_chk_balance", lambda: ledger_row(**{**withdrawal, "currency": "EUR"}, amount=Decimal("1.00")))
    assert Transaction.objects.filter(transaction_type=TransactionType.WITHDRAWAL).count() == 2

def test_milestones_must_sum_to_the_total_once_proposed(db):
    project = ProjectFactory()
    MilestoneFactory(project=project, amount=Decimal("400.00"))
    MilestoneFactory(project=project, amount=Decimal("500.00"))
    refused("projects_chk_milestones_sum", lambda: sql("update projects set status = 'pending' where id = %s", [project.id]))
    MilestoneFactory(project=project, amount=Decimal("100.00"))
    sql("update projects set status = 'pending' where id = %s", [project.id])
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    # ...and stay summed: a later edit of a milestone is refused.
    refused("projects_chk_milestones_sum", lambda: sql("update milestones set amount = 1 where project_id = %s", [project.id]))
    refused("projects_chk_milestones_sum", lambda: sql("update milestones set currency = 'EUR' where project_id = %s", [project.id]))
    project.refresh_from_db()
    assert project.status == ProjectStatus.PENDING
    assert sum(m.amount for m in project.milestones.all()) == project.total_amount

def test_a_project_without_milestones_cannot_be_proposed(db):
    project = ProjectFactory()
    refused("projects_chk_milestones_sum", lambda: sql("update projects set status = 'pending' where id = %s", [project.id]))
    project.refresh_from_db()
    assert project.status == ProjectStatus.DRAFT

def test_the_audit_trail_is_append_only(funded):
    project, _, _ = funded
    event = EscrowEvent.objects.create(
        actor=project.buyer, actor_kind="user", action="propose", project=project, from_state="draft", to_state="pending"
    )
    refused("escrow_events_append_only", lambda: sql("update escrow_events set action = 'x' where id = %s", [event.id]))
    refused("escrow_events_append_only", lambda: sql("delete from escrow_events where id = %s", [event.id]))
    assert EscrowEvent.objects.get().action == "propose"

def test_events_are_read_by_the_parties_only(funded):
    project, _, _ = funded
    EscrowEvent.objects.create(actor=None, actor_kind="system", action="deposit_confirm", project=project)
    stranger = UserFactory()
    for user, seen in ((project.buyer, 1), (project.seller, 1), (stranger, 0)):
        with as_role("authenticated", user.id):
            assert EscrowEvent.objects.count() == seen
    with pytest.raises(DatabaseError, match="permission denied"):
        with as_role("authenticated", project.buyer.id):
            EscrowEvent.objects.create(actor=project.buyer, actor_kind="user", action="forged", project=project)
    assert EscrowEvent.objects.count() == 1


def test_a_users_own_events_outside_projects_are_theirs_alone(db):
    owner, other = UserFactory(), UserFactory()
    EscrowEvent.objects.create(actor=owner, actor_kind="user", action="withdrawal_request", project=None)
    for user, seen in ((owner, 1), (other, 0)):
        with as_role("authenticated", user.id):
            assert EscrowEvent.objects.count() == seen
