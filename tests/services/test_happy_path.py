"""A whole escrow through the services, with the ledger checked at every step."""

from decimal import Decimal

import pytest

from escrow import services
from escrow.models import EscrowEvent, MilestoneStatus, ProjectStatus, Transaction, TransactionType
from escrow.selectors import available_balances, project_held
from escrow.services.ledger import PLATFORM_USER_ID
from tests import builders
from tests.helpers import assert_ledger_invariants


@pytest.mark.parametrize(
    ("fee_bearer", "owed", "seller_gets", "commission"),
    [
        ("seller", "1000.00", "975.00", "25.00"),
        ("buyer", "1025.00", "1000.00", "25.00"),
        ("split", "1012.50", "987.50", "25.00"),
    ],
)
def test_full_escrow(db, fee_bearer, owed, seller_gets, commission):
    project = builders.accepted(fee_bearer=fee_bearer)
    assert_ledger_invariants()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    assert deposit.amount == Decimal(owed) and deposit.status == "pending"
    assert builders.refreshed(project).status == ProjectStatus.PENDING  # initiated is not paid
    services.deposit_confirm(reference=deposit.pk, amount_received=Decimal(owed))
    project = builders.refreshed(project)
    assert project.status == ProjectStatus.ACTIVE and project_held(project.pk) == Decimal(owed)
    assert_ledger_invariants()

    for milestone in project.milestones.order_by("order_index"):
        services.milestone_start(milestone=milestone, actor=project.seller)
        services.milestone_submit(milestone=milestone, actor=project.seller, notes="delivered")
        services.milestone_approve(milestone=milestone, actor=project.buyer)
        assert_ledger_invariants()

    project = builders.refreshed(project)
    assert project.status == ProjectStatus.COMPLETED and project.completed_at
    assert project_held(project.pk) == 0
    assert available_balances(project.seller_id) == {"USD": Decimal(seller_gets)}
    platform = Transaction.objects.filter(user_id=PLATFORM_USER_ID, transaction_type=TransactionType.COMMISSION)
    assert sum(t.amount for t in platform) == Decimal(commission)
    assert set(project.milestones.values_list("status", flat=True)) == {MilestoneStatus.APPROVED}
    actions = list(EscrowEvent.objects.filter(project=project).values_list("action", flat=True))
    assert actions[:4] == ["propose", "accept", "fund", "confirm_deposit"]
    assert actions[-1] == "complete" and actions.count("approve") == 2


def test_withdrawal_of_released_money(db):
    project = builders.completed(currency="NGN")
    seller = project.seller
    bank = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "S", "country": "NG"}
    withdrawal = services.withdrawal_request(user=seller, amount="900.00", currency="NGN", bank_account=bank,
                                             account_name="SAM SELLER")
    assert available_balances(seller.pk) == {"NGN": Decimal("75.00")}
    services.withdrawal_settle(withdrawal=withdrawal, succeeded=False)
    assert available_balances(seller.pk) == {"NGN": Decimal("975.00")}  # failure gives it back
    second = services.withdrawal_request(user=seller, amount="975.00", currency="NGN", bank_account=bank,
                                         account_name="SAM SELLER")
    services.withdrawal_settle(withdrawal=second, succeeded=True)
    assert available_balances(seller.pk) == {"NGN": Decimal("0.00")}
    assert_ledger_invariants()
