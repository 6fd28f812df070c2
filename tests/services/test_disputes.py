"""Dispute cases in the engine: an operator ending a milestone's dispute while the project goes on,
the outcome words, one dispute at a time per scope, and the response deadline that tells the
operators once (tests/notify/test_case_notifications.py)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from escrow import services
from escrow.errors import AmountsDoNotAddUp, InvalidTransition
from escrow.models import Dispute
from escrow.selectors import available_balances, project_held
from tests import builders
from tests.helpers import assert_ledger_invariants, db_snapshot


def milestone_dispute(project, index=0):
    milestone = project.milestones.get(order_index=index)
    services.milestone_dispute(milestone=milestone, actor=project.buyer, reason="not delivered")
    return Dispute.objects.get(milestone=milestone, status="open")


@pytest.mark.parametrize(("outcome", "status", "seller", "buyer"), [
    ("release", "approved", "390.00", "0"),
    ("refund", "refunded", "0", "400.00"),
])
def test_an_operator_ends_a_milestone_dispute_and_the_project_goes_on(db, outcome, status, seller, buyer):
    project = builders.in_progress()
    dispute = milestone_dispute(project)
    assert dispute.frozen_amount == Decimal("400.00") and dispute.response_due_at > timezone.now()
    services.dispute_resolve(dispute=dispute, actor=builders.make_operator(), outcome=outcome, note="read it")
    milestone = dispute.milestone
    milestone.refresh_from_db()
    assert (milestone.status, milestone.outcome) == (status, {"release": "released", "refund": "refunded"}[outcome])
    assert builders.refreshed(project).status == "in_progress"
    assert project_held(project.pk) == Decimal("600.00")  # the other milestone's money, untouched
    assert available_balances(project.seller_id).get("USD", Decimal(0)) == Decimal(seller)
    assert available_balances(project.buyer_id).get("USD", Decimal(0)) == Decimal(buyer)
    assert_ledger_invariants()


def test_a_project_whose_every_milestone_went_back_is_refunded(db):
    project = builders.in_progress(amounts=("1000.00",))
    dispute = milestone_dispute(project)
    services.dispute_resolve(dispute=dispute, actor=builders.make_operator(), outcome="refund", note="n")
    assert builders.refreshed(project).status == "refunded"
    assert_ledger_invariants()


def test_a_project_wide_dispute_waits_for_the_milestone_disputes(db):
    project = builders.in_progress()
    milestone_dispute(project)
    operator = builders.make_operator()
    before = db_snapshot()
    with pytest.raises(InvalidTransition, match="dispute on this project is open"):
        services.project_dispute(project=project, actor=project.seller, reason="everything")
    with pytest.raises(InvalidTransition, match="in dispute"):
        services.project_refund(project=project, actor=operator, note="n")
    with pytest.raises(InvalidTransition, match="dispute on this project is open"):
        services.project_request_cancel(project=project, actor=project.buyer)
    assert db_snapshot() == before


def test_a_resolution_that_does_not_add_up_writes_nothing(db):
    project = builders.in_progress()
    dispute = milestone_dispute(project)
    operator = builders.make_operator()
    before = db_snapshot()
    with pytest.raises(AmountsDoNotAddUp, match="must equal what the dispute froze: 400.00"):
        services.dispute_resolve(dispute=dispute, actor=operator, outcome="split", note="n",
                                 seller_amount="200.00", buyer_amount="199.99")
    assert db_snapshot() == before
