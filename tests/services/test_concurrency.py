"""Exactly once under concurrency: real threads, each on its own database connection.

Each test starts its threads on a barrier so they hit the same rows at the same moment, then
checks the ledger. Timings are printed (run with -s) and are informative only.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from escrow import services
from escrow.errors import EscrowError, InsufficientBalance, InvalidTransition
from escrow.models import Milestone, ProjectStatus, Transaction, TransactionType
from escrow.selectors import available_balance
from tests import builders
from tests.helpers import assert_ledger_invariants, race

pytestmark = pytest.mark.slow

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


def test_fifty_simultaneous_approvals_release_once(committed_db):
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)

    results, errors, seconds = race(50, lambda i: services.milestone_approve(milestone=milestone, actor=project.buyer))

    assert len(results) == 1, errors[:3]
    assert len(errors) == 49 and all(isinstance(e, InvalidTransition) for e in errors), errors[:3]
    releases = Transaction.objects.filter(milestone=milestone, transaction_type=TransactionType.ESCROW_RELEASE)
    assert releases.count() == 1
    assert Transaction.objects.filter(milestone=milestone, transaction_type=TransactionType.COMMISSION).count() == 1
    assert_ledger_invariants()
    print(f"\n50 concurrent approvals: 1 release, 49 refused, {seconds:.2f}s")


def test_twenty_simultaneous_withdrawals_never_overdraw(committed_db):
    project = builders.completed(currency="NGN")  # the seller has 975.00 available
    seller = project.seller

    results, errors, seconds = race(20, lambda i: services.withdrawal_request(
        user=seller, amount="100.00", currency="NGN", bank_account=BANK, account_name="ADA SELLER"))

    assert len(results) == 9 and len(errors) == 11
    assert all(isinstance(e, InsufficientBalance) for e in errors), errors[:3]
    assert available_balance(seller.pk, "NGN") == Decimal("75.00")
    assert_ledger_invariants()
    print(f"\n20 concurrent withdrawals of 100 from 975: 9 accepted, 11 refused, {seconds:.2f}s")


@pytest.mark.parametrize("round_", range(5))
def test_a_dispute_racing_a_release(committed_db, round_):
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)
    steps = [
        lambda: services.milestone_approve(milestone=milestone, actor=project.buyer),
        lambda: services.project_dispute(project=project, actor=project.seller, reason="payment late"),
    ]

    results, errors, _ = race(2, lambda i: (i, steps[i]()))

    assert all(isinstance(e, EscrowError) for e in errors), errors
    project = builders.refreshed(project)
    milestone.refresh_from_db()
    released = Transaction.objects.filter(milestone=milestone, transaction_type=TransactionType.ESCROW_RELEASE).count()
    if {i for i, _ in results} == {0, 1}:  # the release won, then the dispute froze the rest
        assert released == 1 and project.status == ProjectStatus.DISPUTED
    else:  # the dispute won: the approval met a frozen project
        assert results == [(1, results[0][1])] and released == 0 and not milestone.is_paid
        assert isinstance(errors[0], InvalidTransition)
    assert_ledger_invariants()


def test_auto_approve_run_twice_at_once(committed_db):
    milestones = []
    for _ in range(5):
        project = builders.delivered(inspection_days=1)
        milestones.append(project.milestones.get(order_index=0))
    Milestone.objects.filter(pk__in=[m.pk for m in milestones]).update(completed_at=timezone.now() - timedelta(days=2))

    results, errors, seconds = race(2, lambda i: call_command("escrow_auto_approve", verbosity=0))

    assert errors == []
    for milestone in milestones:
        assert Transaction.objects.filter(milestone=milestone, transaction_type=TransactionType.ESCROW_RELEASE).count() == 1
    assert_ledger_invariants()
    print(f"\nescrow_auto_approve twice at once over 5 due milestones: 5 releases, {seconds:.2f}s")
