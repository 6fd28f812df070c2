"""What each allowed step writes: statuses, ledger rows, audit events, and the invariants after."""

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escrow import services
from escrow.errors import AmountsDoNotAddUp, InsufficientBalance, InvalidInput, InvalidTransition, NotAllowed
from escrow.models import (
    ActorKind,
    EscrowEvent,
    Milestone,
    ProjectStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
    User,
)
from escrow.money import decimals, minor_unit
from escrow.selectors import available_balances, project_held
from tests import builders
from tests.factories import MilestoneFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


def rows(project, kind):
    return list(Transaction.objects.filter(project=project, transaction_type=kind).order_by("created_at"))


# --- proposing ---

def test_propose_refuses_milestones_that_do_not_add_up(db):
    project = builders.draft(amounts=("400.00", "600.00"))
    MilestoneFactory(project=project, order_index=2, amount=Decimal("0.01"))
    before = db_snapshot()
    with pytest.raises(AmountsDoNotAddUp, match="sum to 1000.01"):
        services.project_propose(project=project, actor=project.buyer)
    assert db_snapshot() == before


def test_propose_refuses_a_milestone_in_another_currency(db):
    project = builders.draft(amounts=("1000.00",))
    Milestone.objects.filter(project=project).update(currency="EUR")
    with pytest.raises(AmountsDoNotAddUp, match="EUR"):
        services.project_propose(project=project, actor=project.buyer)
    assert builders.refreshed(project).status == ProjectStatus.DRAFT


def test_propose_refuses_a_missing_counterparty(db):
    project = builders.draft(seller=None)
    project.seller = None
    project.save()
    # The state machine's guard (a 409): the counterparty is invited and has not joined yet, which
    # ``actions`` shows by not offering ``propose``.
    with pytest.raises(InvalidTransition, match="has not joined yet"):
        services.project_propose(project=project, actor=project.buyer)
    assert builders.refreshed(project).status == ProjectStatus.DRAFT


# --- funding ---

def test_fund_start_is_idempotent(db):
    project = builders.accepted()
    first = services.project_fund_start(project=project, actor=project.buyer)
    again = services.project_fund_start(project=project, actor=project.buyer)
    assert first.pk == again.pk
    assert len(rows(project, TransactionType.DEPOSIT)) == 1
    assert EscrowEvent.objects.filter(project=project, action="fund").count() == 1


def test_a_confirmation_holds_once_however_often_it_comes(db):
    project = builders.accepted()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    for _ in range(10):
        services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount, gateway_transaction_id="fc-1")
    assert len(rows(project, TransactionType.ESCROW_HOLD)) == 1
    assert EscrowEvent.objects.filter(project=project, action="confirm_deposit").count() == 1
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.COMPLETED and deposit.gateway_transaction_id == "fc-1"
    assert_ledger_invariants()


@pytest.mark.parametrize("received", ["999.99", "1000.01", "1"])
def test_a_wrong_amount_holds_nothing_and_is_flagged(db, received):
    project = builders.accepted()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=Decimal(received))
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)  # a later "fix" is not trusted
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.PROCESSING
    assert deposit.extra_data["flag"] == "amount_mismatch" and deposit.extra_data["amount_received"] == received
    assert rows(project, TransactionType.ESCROW_HOLD) == []
    assert builders.refreshed(project).status == ProjectStatus.PENDING
    assert EscrowEvent.objects.filter(project=project, action="deposit_flagged").count() == 1


def test_a_payment_after_cancellation_is_flagged_not_held(db):
    project = builders.accepted()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    services.project_cancel(project=project, actor=project.seller)
    deposit.refresh_from_db()
    assert deposit.status == TransactionStatus.CANCELLED
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)
    deposit.refresh_from_db()
    assert deposit.extra_data["flag"] == "project_not_awaiting_payment"
    assert rows(project, TransactionType.ESCROW_HOLD) == []
    assert builders.refreshed(project).status == ProjectStatus.CANCELLED


# --- milestones ---

def test_reject_then_redo_then_approve(db):
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)
    with pytest.raises(InvalidInput):
        services.milestone_reject(milestone=milestone, actor=project.buyer, reason="  ")
    services.milestone_reject(milestone=milestone, actor=project.buyer, reason="logo missing")
    assert rows(project, TransactionType.ESCROW_RELEASE) == []
    services.milestone_start(milestone=milestone, actor=project.seller)
    services.milestone_submit(milestone=milestone, actor=project.seller, notes="logo added")
    services.milestone_approve(milestone=milestone, actor=project.buyer)
    milestone.refresh_from_db()
    assert (milestone.status, milestone.is_paid, milestone.completion_notes) == ("approved", True, "logo added")
    reasons = EscrowEvent.objects.filter(milestone=milestone, action="reject").values_list("data", flat=True)
    assert [d["reason"] for d in reasons] == ["logo missing"]
    assert_ledger_invariants()


def test_an_operator_approves_for_the_buyer_with_a_reason(db):
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)
    operator = builders.make_operator()
    with pytest.raises(InvalidInput, match="reason"):
        services.milestone_approve(milestone=milestone, actor=operator)
    assert rows(project, TransactionType.ESCROW_RELEASE) == []
    services.milestone_approve(milestone=milestone, actor=operator, reason="buyer unreachable for 30 days")
    event = EscrowEvent.objects.get(milestone=milestone, action="approve")
    assert (event.actor, event.actor_kind, event.data["reason"]) == (operator, ActorKind.OPERATOR, "buyer unreachable for 30 days")
    assert len(rows(project, TransactionType.ESCROW_RELEASE)) == 1


def test_first_start_begins_the_project(db):
    project = builders.funded()
    assert project.status == ProjectStatus.ACTIVE
    services.milestone_start(milestone=project.milestones.first(), actor=project.seller)
    assert builders.refreshed(project).status == ProjectStatus.IN_PROGRESS


@pytest.mark.parametrize(("currency", "amounts", "release", "commission"), [
    ("UGX", ("100001",), "97501", "2500"),     # 2.5% of 100001 = 2500.025 → 2500
    ("USD", ("0.19",), "0.19", "0.00"),         # 0.00475 → 0.00: no commission row at all
    ("XOF", ("35",), "34", "1"),                # 0.875 → 1
])
def test_commission_in_the_currencys_minor_unit(db, currency, amounts, release, commission):
    project = builders.completed(currency=currency, amounts=amounts)
    assert [r.amount for r in rows(project, TransactionType.ESCROW_RELEASE)] == [Decimal(release)]
    assert [r.amount for r in rows(project, TransactionType.COMMISSION)] == (
        [Decimal(commission)] if Decimal(commission) else []
    )
    assert_ledger_invariants()


def test_auto_approve_after_the_inspection_period(db):
    project = builders.delivered(inspection_days=3)
    milestone = project.milestones.get(order_index=0)
    before = db_snapshot()
    call_command("escrow_auto_approve", verbosity=0)
    assert db_snapshot() == before  # not yet due
    Milestone.objects.filter(pk=milestone.pk).update(completed_at=timezone.now() - timedelta(days=3, seconds=1))
    call_command("escrow_auto_approve", verbosity=0)
    call_command("escrow_auto_approve", verbosity=0)
    milestone.refresh_from_db()
    assert milestone.is_paid
    event = EscrowEvent.objects.get(milestone=milestone, action="approve")
    assert (event.actor, event.actor_kind) == (None, ActorKind.SYSTEM)
    assert len(rows(project, TransactionType.ESCROW_RELEASE)) == 1


def test_no_auto_approve_without_an_inspection_period(db):
    project = builders.delivered(inspection_days=0)
    Milestone.objects.filter(project=project).update(completed_at=timezone.now() - timedelta(days=365))
    before = db_snapshot()
    call_command("escrow_auto_approve", verbosity=0)
    assert db_snapshot() == before


# --- cancellation and refunds ---

def test_mutual_cancellation_refunds_what_is_unreleased(db):
    project = builders.delivered()
    services.milestone_approve(milestone=project.milestones.get(order_index=0), actor=project.buyer)
    services.project_request_cancel(project=project, actor=project.seller)
    assert builders.refreshed(project).status == ProjectStatus.IN_PROGRESS  # one party is not enough
    services.project_request_cancel(project=project, actor=project.buyer)
    project = builders.refreshed(project)
    assert project.status == ProjectStatus.REFUNDED and project.cancel_requested_by is None
    assert [r.amount for r in rows(project, TransactionType.REFUND)] == [Decimal("600.00")]
    assert project_held(project.pk) == 0
    assert available_balances(project.buyer_id) == {"USD": Decimal("600.00")}
    assert_ledger_invariants()


def test_operator_refund_needs_a_note(db):
    project, operator = builders.funded(), builders.make_operator()
    before = db_snapshot()
    with pytest.raises(InvalidInput):
        services.project_refund(project=project, actor=operator, note="")
    assert db_snapshot() == before


# --- disputes ---

@pytest.mark.parametrize(("outcome", "status", "seller", "buyer"), [
    ("release", ProjectStatus.COMPLETED, "975.00", "0"),
    ("refund", ProjectStatus.REFUNDED, "0", "1000.00"),
])
def test_dispute_resolution(db, outcome, status, seller, buyer):
    project = builders.disputed()
    services.dispute_resolve(project=project, actor=builders.make_operator(), outcome=outcome, note="evidence read")
    project = builders.refreshed(project)
    assert project.status == status
    assert available_balances(project.seller_id).get("USD", Decimal(0)) == Decimal(seller)
    assert available_balances(project.buyer_id).get("USD", Decimal(0)) == Decimal(buyer)
    assert project_held(project.pk) == 0
    assert_ledger_invariants()


def test_dispute_split(db):
    project = builders.disputed()
    operator = builders.make_operator()
    before = db_snapshot()
    with pytest.raises(AmountsDoNotAddUp, match="1000.00"):
        services.dispute_resolve(project=project, actor=operator, outcome="split", note="half",
                                 seller_amount="600.00", buyer_amount="399.99")
    assert db_snapshot() == before
    services.dispute_resolve(project=project, actor=operator, outcome="split", note="mostly done",
                             seller_amount="600.00", buyer_amount="400.00")
    project = builders.refreshed(project)
    # The seller was paid (in part): the project is completed, its outcome "split" — not "refunded".
    assert (project.status, project.outcome) == (ProjectStatus.COMPLETED, "split")
    assert {(m.status, m.outcome) for m in project.milestones.all()} == {("split", "split")}
    assert available_balances(project.seller_id) == {"USD": Decimal("585.00")}  # 600 less 2.5%
    assert available_balances(project.buyer_id) == {"USD": Decimal("400.00")}
    resolution = EscrowEvent.objects.get(project=project, action="resolve")
    dispute = project.disputes.get()
    assert resolution.data == {"outcome": "split", "note": "mostly done", "seller_amount": "600.00",
                               "buyer_amount": "400.00", "dispute": str(dispute.pk)}
    assert (dispute.status, dispute.outcome, dispute.seller_amount, dispute.buyer_amount) == (
        "resolved", "split", Decimal("600.00"), Decimal("400.00"))
    assert_ledger_invariants()


# --- withdrawals ---

def test_withdrawal_refusals_write_nothing(db):
    project = builders.completed(currency="NGN")
    seller = project.seller
    before = db_snapshot()
    with pytest.raises(InsufficientBalance, match="975.00"):
        services.withdrawal_request(user=seller, amount="975.01", currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    with pytest.raises(InsufficientBalance):
        services.withdrawal_request(user=project.buyer, amount="1", currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    with pytest.raises(InvalidInput, match="account_number"):
        services.withdrawal_request(user=seller, amount="1", currency="NGN", bank_account={**BANK, "account_number": ""},
                                    account_name="ADA SELLER")
    with pytest.raises(InvalidInput):
        services.withdrawal_request(user=seller, amount="0.001", currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    with pytest.raises(InvalidInput, match="not supported"):  # we pay out NGN and USD only (contract.py)
        services.withdrawal_request(user=seller, amount="1", currency="EUR", bank_account=BANK, account_name="ADA")
    with pytest.raises(InvalidInput, match="payment_scheme"):  # a Nigerian account cannot take a USD payout
        services.withdrawal_request(user=seller, amount="1", currency="USD", bank_account=BANK, account_name="ADA")
    with pytest.raises(TypeError):
        services.withdrawal_request(user=seller, amount=1.5, currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    assert db_snapshot() == before


def test_a_settled_withdrawal_keeps_its_first_outcome(db):
    project = builders.completed(currency="NGN")
    withdrawal = services.withdrawal_request(user=project.seller, amount="975.00", currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    services.withdrawal_settle(withdrawal=withdrawal, succeeded=True)
    services.withdrawal_settle(withdrawal=withdrawal, succeeded=False)  # late, contradicting report
    withdrawal.refresh_from_db()
    assert withdrawal.status == TransactionStatus.COMPLETED
    assert withdrawal.extra_data["flag"] == "conflicting_outcome"
    assert available_balances(project.seller_id) == {"NGN": Decimal("0.00")}
    assert_ledger_invariants()


def test_a_cancel_request_survives_the_start_of_work(db):
    """Found by the stateful test: beginning work used to wipe a pending request to cancel."""
    project = builders.funded()
    services.project_request_cancel(project=project, actor=project.buyer)
    services.milestone_start(milestone=project.milestones.first(), actor=project.seller)
    assert builders.refreshed(project).cancel_requested_by == project.buyer
    services.project_request_cancel(project=project, actor=project.seller)
    assert builders.refreshed(project).status == ProjectStatus.REFUNDED
    assert_ledger_invariants()


def test_withdrawals_are_audited(db):
    project = builders.completed(currency="NGN")
    withdrawal = services.withdrawal_request(user=project.seller, amount="100.00", currency="NGN", bank_account=BANK, account_name="ADA SELLER")
    services.withdrawal_settle(withdrawal=withdrawal, succeeded=False)
    events = EscrowEvent.objects.filter(project=None).order_by("created_at")
    assert [(e.action, e.actor, e.from_state, e.to_state) for e in events] == [
        ("withdrawal_request", project.seller, "", "pending"),
        ("withdrawal_settle", None, "pending", "failed"),
    ]
    assert events[0].data == {"withdrawal": str(withdrawal.pk), "amount": "100.00", "currency": "NGN"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["USD", "KES", "UGX", "XOF"]),
    minor_units=st.integers(min_value=1, max_value=10**9),
    fee_bearer=st.sampled_from(["buyer", "seller", "split"]),
    share=st.integers(min_value=0, max_value=100),
)
def test_a_split_resolution_pays_out_exactly_what_is_held(db, currency, minor_units, fee_bearer, share):
    """For random amounts in every kind of currency: release + commission + refund = what was held."""
    with transaction.atomic():
        amount = Decimal(minor_units).scaleb(-decimals(currency))
        project = builders.disputed(currency=currency, amounts=(str(amount),), fee_bearer=fee_bearer)
        held = project_held(project.pk)
        to_seller = (held * share / 100).quantize(minor_unit(currency), rounding=ROUND_DOWN)
        services.dispute_resolve(project=project, actor=builders.make_operator(), outcome="split", note="split",
                                 seller_amount=to_seller, buyer_amount=held - to_seller)
        paid = {kind: sum(r.amount for r in rows(project, kind)) for kind in
                (TransactionType.ESCROW_RELEASE, TransactionType.COMMISSION, TransactionType.REFUND)}
        assert paid[TransactionType.ESCROW_RELEASE] + paid[TransactionType.COMMISSION] == to_seller
        assert paid[TransactionType.REFUND] == held - to_seller
        assert project_held(project.pk) == 0
        assert_ledger_invariants()
        transaction.set_rollback(True)


def test_operators_cannot_verify_themselves(db):
    operator = builders.make_operator()
    before = db_snapshot()
    with pytest.raises(NotAllowed, match="verify themselves"):
        services.user_set_verified(user=operator, actor=operator)
    assert db_snapshot() == before and not User.objects.get(pk=operator.pk).is_verified
