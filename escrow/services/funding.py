"""Funding: the buyer's deposit is recorded first, and becomes a hold only once the gateway's
own records confirm the payment (a redirect or a webhook alone proves nothing).

``project_fund_start`` gives the payment side a reference; ``deposit_confirm`` is called with the
amount the gateway verified it received. Both are idempotent.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escrow.commission import milestone_quote
from escrow.errors import InvalidInput
from escrow.models import (
    EscrowEvent,
    Milestone,
    Project,
    ProjectStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
    User,
)
from escrow.payments import contract
from escrow.services.audit import record_event
from escrow.services.ledger import append_entry
from escrow.services.locks import lock_project, lock_transaction
from escrow.services.settlement import set_project_status
from escrow.states import PROJECT_TRANSITIONS, actor_roles, require

SYSTEM = frozenset({"system"})


def amount_owed(project: Project) -> Decimal:
    """What the buyer pays in: each milestone's price plus the buyer's share of its commission."""
    return sum((milestone_quote(m, project).buyer_pays for m in Milestone.objects.filter(project=project)), Decimal(0))


@transaction.atomic
def project_fund_start(*, project: Project, actor: User, customer_name: str | None = None) -> Transaction:
    """Record the buyer's pending deposit (or return the one already waiting) and its reference.

    With ``customer_name`` (the payer's name for FinCra's checkout), what FinCra's checkout would
    refuse — the name, the buyer's e-mail, the amount, the currency — is refused here first, as
    InvalidInput naming the field, before anything is written or sent.
    """
    project = lock_project(project.pk)
    roles = actor_roles(project, actor)
    # The guard: only once the counterparty has accepted the terms.
    require(PROJECT_TRANSITIONS, "fund", state=project.status, roles=roles, project=project, actor=actor)
    owed = amount_owed(project)
    if customer_name is not None and (problems := contract.checkout_problems(
            amount=owed, currency=project.currency, customer_name=customer_name, customer_email=actor.email,
            redirect_url=settings.FINCRA_REDIRECT_URL or None)):
        field, message = next(iter(problems.items()))
        raise InvalidInput(message, field=field)
    # Only a deposit this service created is reused: its "fund" event names it (the audit trail is
    # append-only and written by the services alone), and it is the buyer's, for what is owed.
    created_here = [event.get("deposit") for event in EscrowEvent.objects.filter(
        project=project, action="fund").values_list("data", flat=True)]
    waiting = Transaction.objects.filter(
        project=project, transaction_type=TransactionType.DEPOSIT,
        status__in=[TransactionStatus.PENDING, TransactionStatus.PROCESSING],
        pk__in=[pk for pk in created_here if pk], user_id=project.buyer_id, currency=project.currency, amount=owed,
    ).first()
    if waiting:
        return waiting
    deposit = append_entry(
        transaction_type=TransactionType.DEPOSIT, user_id=project.buyer_id, amount=owed,
        currency=project.currency, project=project, status=TransactionStatus.PENDING,
        description=f"Escrow funding of {project.title}",
    )
    record_event(actor=actor, roles=roles, action="fund", project=project, from_state=project.status,
                 deposit=deposit, amount=deposit.amount)
    return deposit


@transaction.atomic
def deposit_confirm(*, reference, amount_received: Decimal, gateway_transaction_id: str | None = None,
                    gateway_response: dict | None = None, gateway_fee: Decimal | None = None) -> Transaction:
    """The gateway verified a payment for deposit ``reference``: hold it and activate the project.

    Once only, whatever number of times it is called. An amount other than the amount owed, or a
    payment for a project no longer awaiting one, holds nothing: the deposit is flagged for an
    operator (extra_data["flag"]) and stays ``processing``. ``gateway_fee`` is what FinCra kept
    of the payment (recorded so the ledger can be reconciled with FinCra's wallet).
    """
    project_id = Transaction.objects.values_list("project_id", flat=True).get(
        pk=reference, transaction_type=TransactionType.DEPOSIT
    )
    project = lock_project(project_id)
    deposit = lock_transaction(reference)
    if deposit.status == TransactionStatus.COMPLETED or (deposit.extra_data or {}).get("flag"):
        return deposit  # already settled or already flagged: a repeated confirmation changes nothing
    if amount_received != deposit.amount:
        flag = "amount_mismatch"
    elif project.status != ProjectStatus.PENDING or deposit.status != TransactionStatus.PENDING:
        flag = "project_not_awaiting_payment"
    else:
        flag = None
    now = timezone.now()
    deposit.gateway_transaction_id = gateway_transaction_id or deposit.gateway_transaction_id
    deposit.gateway_response = gateway_response or deposit.gateway_response
    deposit.processed_at = now
    deposit.gateway_fee = gateway_fee if gateway_fee is not None else deposit.gateway_fee
    fields = ["gateway_transaction_id", "gateway_response", "gateway_fee", "processed_at", "status", "updated_at"]
    if flag:
        if deposit.status == TransactionStatus.PENDING:
            deposit.status = TransactionStatus.PROCESSING  # money arrived, not held: an operator settles it
        deposit.extra_data = {**(deposit.extra_data or {}), "flag": flag, "amount_received": str(amount_received)}
        deposit.save(update_fields=[*fields, "extra_data"])
        record_event(actor=None, roles=SYSTEM, action="deposit_flagged", project=project, from_state=project.status,
                     flag=flag, amount_received=amount_received, amount_owed=deposit.amount)
        return deposit
    require(PROJECT_TRANSITIONS, "confirm_deposit", state=project.status, roles=SYSTEM)
    deposit.status, deposit.completed_at = TransactionStatus.COMPLETED, now
    deposit.save(update_fields=[*fields, "completed_at"])
    append_entry(
        transaction_type=TransactionType.ESCROW_HOLD, user_id=project.buyer_id, amount=deposit.amount,
        currency=project.currency, project=project, description=f"Held in escrow for {project.title}",
        extra_data={"deposit": str(deposit.pk)},
    )
    set_project_status(project, ProjectStatus.ACTIVE, actor=None, roles=SYSTEM, action="confirm_deposit",
                       deposit=deposit, held=deposit.amount)
    return deposit


@transaction.atomic
def deposit_record_checkout(*, reference, checkout_url: str, gateway_reference: str, pay_code: str = "") -> Transaction:
    """Keep what FinCra's checkout answered on the pending deposit (its link is the buyer's way to pay)."""
    deposit = lock_transaction(reference)
    deposit.gateway_reference = gateway_reference or deposit.gateway_reference
    deposit.extra_data = {**(deposit.extra_data or {}), "checkout_url": checkout_url, "pay_code": pay_code}
    deposit.save(update_fields=["gateway_reference", "extra_data", "updated_at"])
    return deposit


@transaction.atomic
def deposit_fail(*, reference, reason: str) -> Transaction:
    """FinCra says the payment failed or was abandoned: the deposit fails; the buyer may fund again."""
    project_id = Transaction.objects.values_list("project_id", flat=True).get(pk=reference)
    project = lock_project(project_id)
    deposit = lock_transaction(reference)
    if deposit.status != TransactionStatus.PENDING:
        return deposit
    deposit.status, deposit.processed_at = TransactionStatus.FAILED, timezone.now()
    deposit.extra_data = {**(deposit.extra_data or {}), "failure": reason}
    deposit.save(update_fields=["status", "processed_at", "extra_data", "updated_at"])
    record_event(actor=None, roles=SYSTEM, action="deposit_failed", project=project, from_state=project.status,
                 deposit=deposit, reason=reason)
    return deposit
