"""Withdrawals: a user's available balance (released or refunded to them, not yet withdrawn) is
paid out to their bank account. The request writes a pending ``withdrawal`` and, in the same
transaction, the job that submits the payout to FinCra; the payout's outcome settles it:
completed, or failed, which gives the balance back (a failed row no longer counts)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from escrow.errors import InsufficientBalance, InvalidInput, InvalidTransition
from escrow.models import Transaction, TransactionStatus, TransactionType, User
from escrow.money import parse_amount
from escrow.payments import compliance, contract, jobs
from escrow.selectors import available_balance
from escrow.services.audit import record_event
from escrow.services.ledger import append_entry
from escrow.services.locks import lock_transaction, lock_user

SETTLED = (TransactionStatus.COMPLETED, TransactionStatus.FAILED)
SYSTEM = frozenset({"system"})


def payout_destination(*, currency: str, bank_account: dict) -> dict:
    """The bank account as we store it, or InvalidInput naming what FinCra could not pay: a
    currency we do not pay out in (or not on this server yet: USD needs the sender and the public
    URL of its supporting document), a missing field, a NUBAN that is not 10 digits, a routing number
    that fails its checksum..."""
    problems = contract.payout_destination_problems(currency, bank_account)
    if not problems and (reason := compliance.payouts_disabled_reason(currency)):
        problems = {"currency": reason}
    if problems:
        field, message = next(iter(problems.items()))
        raise InvalidInput(message if field == "currency" else f"{field}: {message}", field=field)
    stored = {}
    for key in contract.BANK_ACCOUNT_FIELDS[currency]:
        if key == "address":
            address = {part: value.strip() for part, value in bank_account[key].items()
                       if isinstance(value, str) and value.strip()}
            address["country"] = address["country"].upper()
            if address["country"] == "US":
                address["state"] = address["state"].upper()
            stored[key] = address
        else:
            stored[key] = bank_account[key].strip()
    if "country" in stored:
        stored["country"] = stored["country"].upper()
    return stored


@transaction.atomic
def withdrawal_request(*, user: User, amount: Decimal | str, currency: str, bank_account: dict,
                       account_name: str | None = None) -> Transaction:
    """Reserve ``amount`` of the user's available balance for a payout to ``bank_account``.

    ``account_name`` is the holder's name as FinCra resolved it for that account (FinCra's docs:
    resolve before paying), for the currencies FinCra resolves (NGN); elsewhere (USD) FinCra cannot,
    and the name the seller gave is used. It is stored with the account and shown to the seller. The
    payout job is deferred in this transaction: it exists exactly when the withdrawal does.
    """
    bank_account = payout_destination(currency=currency, bank_account=bank_account)
    resolved = contract.resolves_account_names(currency)
    if resolved and not account_name:
        raise ValueError(f"{currency} account names are resolved by FinCra before a withdrawal is requested")
    account_name = account_name if resolved else bank_account["account_holder_name"]
    amount = parse_amount(amount, currency)
    lock_user(user.pk)  # one withdrawal decision per user at a time
    available = available_balance(user.pk, currency)
    if amount > available:
        raise InsufficientBalance(f"Only {available} {currency} is available to withdraw.")
    withdrawal = append_entry(
        transaction_type=TransactionType.WITHDRAWAL, user_id=user.pk, amount=amount, currency=currency,
        status=TransactionStatus.PENDING, description="Withdrawal to bank account",
        extra_data={"bank_account": bank_account, "account_name": account_name,
                    "account_name_resolved": resolved},
    )
    jobs.defer_payout(withdrawal.pk)
    record_event(actor=user, roles=frozenset(), action="withdrawal_request", project=None,
                 to_state=TransactionStatus.PENDING, withdrawal=withdrawal, amount=amount, currency=currency)
    return withdrawal


@transaction.atomic
def withdrawal_settle(*, withdrawal: Transaction, succeeded: bool, gateway_reference: str | None = None,
                      gateway_response: dict | None = None, gateway_fee: Decimal | None = None) -> Transaction:
    """Complete or fail a withdrawal, once. A later, different outcome is flagged, never applied.
    ``gateway_fee`` is FinCra's payout fee, debited from its wallet on top of the amount."""
    row = lock_transaction(withdrawal.pk)
    if row.transaction_type != TransactionType.WITHDRAWAL:
        raise InvalidInput("Not a withdrawal.", field="withdrawal")
    outcome = TransactionStatus.COMPLETED if succeeded else TransactionStatus.FAILED
    if row.status in SETTLED:
        if row.status != outcome:
            conflicts = (row.extra_data or {}).get("conflicts", [])
            row.extra_data = {**(row.extra_data or {}), "flag": "conflicting_outcome",
                              "conflicts": [*conflicts, outcome]}
            row.save(update_fields=["extra_data", "updated_at"])
            record_event(actor=None, roles=SYSTEM, action="withdrawal_conflict", project=None, from_state=row.status,
                         withdrawal=row, reported=outcome)
        return row
    now = timezone.now()
    from_state, row.status = row.status, outcome
    row.processed_at = now
    row.completed_at = now if succeeded else None
    row.gateway_reference = gateway_reference or row.gateway_reference
    row.gateway_response = gateway_response or row.gateway_response
    row.gateway_fee = gateway_fee if gateway_fee is not None else row.gateway_fee
    row.save(update_fields=["status", "processed_at", "completed_at", "gateway_reference", "gateway_response",
                            "gateway_fee", "updated_at"])
    record_event(actor=None, roles=SYSTEM, action="withdrawal_settle", project=None,
                 from_state=from_state, to_state=outcome, withdrawal=row)
    return row


@transaction.atomic
def withdrawal_submitted(*, withdrawal: Transaction, outcome: str, gateway_reference: str | None = None,
                         detail: str = "") -> Transaction:
    """Record what became of the payout request: ``processing`` (FinCra took it), ``unknown`` (no
    answer: the job re-submits the same reference) or ``rejected`` (FinCra refused it for a reason
    that proves nothing was paid: the withdrawal fails and the balance comes back). A withdrawal
    whose payout outcome was ever unknown is never failed on a refusal: FinCra may have paid it;
    nor one an earlier attempt got FinCra to take, or that is settled: the refusal is of a later
    attempt, and proves nothing about the first."""
    row = lock_transaction(withdrawal.pk)
    if row.status != TransactionStatus.PENDING:
        # Taken by FinCra (an earlier attempt) or settled (a webhook first): its record decides,
        # not what this attempt was told.
        return row
    if outcome == "rejected":
        if (row.extra_data or {}).get("payout") == "unknown":
            # An earlier attempt may have been paid: a refusal now proves nothing about it.
            raise InvalidTransition("This payout's first outcome is unknown: only FinCra's record can settle it.")
        return withdrawal_settle(withdrawal=withdrawal, succeeded=False, gateway_response={"rejected": detail})
    row.extra_data = {**(row.extra_data or {}), "payout": outcome}
    fields = ["extra_data", "updated_at"]
    if outcome == "processing":
        row.status = TransactionStatus.PROCESSING
        row.gateway_reference = gateway_reference or row.gateway_reference
        fields += ["status", "gateway_reference"]
    row.save(update_fields=fields)
    record_event(actor=None, roles=SYSTEM, action="payout_submitted", project=None, from_state=TransactionStatus.PENDING,
                 to_state=row.status, withdrawal=row, outcome=outcome)
    return row
