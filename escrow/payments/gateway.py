"""The gateway side of escrow: what happens between our ledger and FinCra.

Every HTTP call here runs outside any database transaction and row lock: the ledger row it
concerns is committed first (with the job that will make the call), the call is made, and the
outcome is recorded by a service in a transaction of its own. Nothing is credited on FinCra's word
in a redirect or a webhook alone: a payment is confirmed by looking it up in FinCra's records,
and so is a payout. An unknown outcome is settled only by FinCra's record or by re-submitting
the same reference (FinCra's idempotency key) — never by guessing "failed", which would give a
seller back money FinCra may still pay.
"""

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from escrow import services
from escrow.models import Transaction, TransactionStatus, TransactionType, WebhookEvent
from escrow.payments import compliance, contract, jobs
from escrow.payments.fincra import (
    DuplicateReference,
    FincraClient,
    FincraError,
    NotConfigured,
    OutcomeUnknown,
    Rejected,
)
from escrow.payments.jobs import TryLater

logger = logging.getLogger(__name__)


def client() -> FincraClient:
    return FincraClient.from_settings()


def _first_amount(*values) -> Decimal | None:
    """The first amount FinCra gave (0 included), exact; None when none was given or it is not a number."""
    for value in values:
        if value is not None and value != "":
            try:
                return contract.money(value)
            except ValueError:
                return None
    return None


# --- funding ---

def start_checkout(deposit: Transaction, *, customer_name: str) -> str | None:
    """The hosted checkout link for a pending deposit, asking FinCra once per deposit.

    Our deposit id is FinCra's merchant reference. FinCra answers a repeated reference with 409,
    so after a lost answer the checkout that exists is looked up and its link reused. ``None``
    when no gateway is configured.
    """
    if (deposit.extra_data or {}).get("checkout_url"):
        return deposit.extra_data["checkout_url"]
    try:
        gateway = client()
    except NotConfigured:
        logger.warning("FinCra is not configured: deposit %s has no checkout link", deposit.pk)
        return None
    reference = str(deposit.pk)
    try:
        answer = gateway.create_checkout(
            amount=deposit.amount, currency=deposit.currency, customer_name=customer_name,
            customer_email=deposit.user.email, reference=reference, redirect_url=settings.FINCRA_REDIRECT_URL or None,
            metadata={"project_id": str(deposit.project_id), "deposit_id": reference},
        )
        pay_code, link = str(answer.get("payCode") or ""), str(answer.get("link") or "")
    except DuplicateReference:  # our first request created it; its answer was lost
        record = gateway.get_checkout(reference) or {}
        pay_code = str(record.get("reference") or "")  # the Payment's reference is FinCra's payCode
        link = contract.hosted_link(settings.FINCRA_BASE_URL, pay_code) if pay_code else ""
    services.deposit_record_checkout(reference=deposit.pk, checkout_url=link, gateway_reference=pay_code,
                                     pay_code=pay_code)
    return link or None


def confirm_deposit(deposit: Transaction, *, reported: dict | None = None) -> str:
    """Hold the deposit if FinCra's records say it was paid; else say why not.

    FinCra's look-up by merchant reference gives the payment's status and amount; the amount
    received and what FinCra settles to us after its fee come with the signed ``charge.successful``
    webhook (``reported``), or from the last one we stored when reconciling.
    """
    record = client().get_checkout(str(deposit.pk))
    if record is None:
        return "not_found_at_fincra"
    status = str(record.get("status", "")).lower()
    if status in ("failed", "cancelled", "expired", "abandoned"):
        services.deposit_fail(reference=deposit.pk, reason=f"FinCra status {status}")
        return ""
    if status != "success":
        return "not_paid"
    reported = reported or _last_reported(deposit, "charge.successful")
    received = _first_amount(reported.get("amountReceived"), record.get("amountReceived"), record.get("amount"))
    if received is None:
        return "malformed_amount"
    to_settle = _first_amount(reported.get("amountToSettle"), record.get("amountToSettle"))
    confirmed = services.deposit_confirm(
        reference=deposit.pk, amount_received=received,
        gateway_transaction_id=str(record.get("reference") or reported.get("reference") or "") or None,
        gateway_response=contract.jsonable(record), gateway_fee=(received - to_settle) if to_settle is not None else None,
    )
    return (confirmed.extra_data or {}).get("flag", "")


def fail_deposit(deposit: Transaction) -> str:
    """``charge.failed``: the deposit fails once FinCra's record agrees (the buyer may fund again)."""
    record = client().get_checkout(str(deposit.pk))
    status = str((record or {}).get("status", "")).lower()
    if status == "success":
        return confirm_deposit(deposit)  # a later attempt succeeded: FinCra's record wins
    if status not in ("failed", "cancelled", "expired", "abandoned"):
        return "not_failed_at_fincra"
    services.deposit_fail(reference=deposit.pk, reason=f"FinCra status {status}")
    return ""


def _last_reported(row: Transaction, event: str) -> dict:
    stored = WebhookEvent.objects.filter(reference=str(row.pk), event=event).order_by("-created_at").first()
    return (stored.payload.get("data") or {}) if stored else {}


# --- payouts ---

def submit_payout(withdrawal_id) -> str:
    """Ask FinCra to pay a committed withdrawal, with our id as ``customerReference``.

    FinCra refuses a repeated reference (``DUPLICATE_CUSTOMER_REFERENCE``): the payout exists, so
    it is looked up, never failed. A lost answer is settled by the job's next attempt, which
    re-submits the same reference. Only a refusal of a payout that was never sent before proves
    nothing was paid, and only then does the balance come back: once an attempt's outcome was
    unknown, a later refusal (a changed setting, FinCra validating before it checks for a
    duplicate) proves nothing about the first, so FinCra's record decides.
    """
    withdrawal = Transaction.objects.get(pk=withdrawal_id, transaction_type=TransactionType.WITHDRAWAL)
    if withdrawal.status != TransactionStatus.PENDING:
        return "already_submitted"
    bank = (withdrawal.extra_data or {}).get("bank_account") or {}
    extras = {}
    if withdrawal.currency in compliance.DOCUMENTED_PAYOUTS:
        # Signed afresh on each attempt: a re-submission carries a URL FinCra can still read.
        extras = {"sender": compliance.sender(), "document_url": compliance.document_url(withdrawal.pk)}
    try:
        answer = client().create_payout(
            amount=withdrawal.amount, currency=withdrawal.currency, customer_reference=str(withdrawal.pk),
            description="Amani escrow withdrawal", bank_account=bank,
            account_name=withdrawal.extra_data.get("account_name") or bank.get("account_holder_name", ""), **extras,
        )
    except DuplicateReference:
        return _settle_or_try_later(withdrawal)
    except OutcomeUnknown as error:
        services.withdrawal_submitted(withdrawal=withdrawal, outcome="unknown", detail=str(error))
        raise TryLater(f"payout {withdrawal.pk}: outcome unknown; re-submitting the same reference") from error
    except (contract.ContractViolation, Rejected) as error:
        proves_nothing_paid = not _sent_before(withdrawal) and (
            isinstance(error, contract.ContractViolation)  # refused before sending
            or error.error_type in contract.PAYOUT_NOT_CREATED_ERROR_TYPES)
        if not proves_nothing_paid:  # FinCra's record decides
            services.withdrawal_submitted(withdrawal=withdrawal, outcome="unknown", detail=str(error))
            return _settle_or_try_later(withdrawal)
        row = services.withdrawal_submitted(withdrawal=withdrawal, outcome="rejected", detail=str(error))
        # Another attempt may have got FinCra to take it meanwhile: then this refusal changed nothing.
        return "rejected" if row.status == TransactionStatus.FAILED else "already_submitted"
    services.withdrawal_submitted(withdrawal=withdrawal, outcome="processing",
                                  gateway_reference=str(answer.get("reference") or ""))
    return "processing"


def _sent_before(withdrawal: Transaction) -> bool:
    """Whether an earlier attempt may have reached FinCra (its outcome was unknown)."""
    return (withdrawal.extra_data or {}).get("payout") == "unknown"


def _settle_or_try_later(withdrawal: Transaction) -> str:
    """Inside the payout job: settle from FinCra's record, or run the job again later (which
    re-submits the same reference) when FinCra has none yet."""
    outcome = settle_withdrawal(withdrawal, resubmit=False)
    if outcome == "not_found_at_fincra":
        raise TryLater(f"payout {withdrawal.pk}: not listed by FinCra yet; re-submitting later")
    return outcome


def settle_withdrawal(withdrawal: Transaction, *, reported: dict | None = None, resubmit: bool = True) -> str:
    """Complete or fail a withdrawal as FinCra's payout record says; flag a contradiction.

    No record at FinCra proves nothing by itself (a payout whose POST timed out may appear
    later): a pending one is re-submitted with the same reference instead (``resubmit``), which
    either creates it or is refused as a duplicate and looked up again.
    """
    record = client().get_payout(str(withdrawal.pk))
    if record is None:
        if resubmit and withdrawal.status == TransactionStatus.PENDING:
            jobs.defer_payout(withdrawal.pk)
            return "resubmitted"
        return "not_found_at_fincra"
    status = str(record.get("status", "")).lower()
    if status not in ("successful", "failed"):
        if withdrawal.status == TransactionStatus.PENDING:
            services.withdrawal_submitted(withdrawal=withdrawal, outcome="processing",
                                          gateway_reference=str(record.get("reference") or ""))
        return "still_processing"
    reported = reported or _last_reported(withdrawal, f"payout.{status}")
    fee = _first_amount(reported.get("fee"), record.get("fee"))
    settled = services.withdrawal_settle(withdrawal=withdrawal, succeeded=status == "successful",
                                         gateway_reference=str(record.get("reference") or "") or None,
                                         gateway_response=contract.jsonable(record), gateway_fee=fee if status == "successful" else None)
    return (settled.extra_data or {}).get("flag", "")


# --- webhooks ---

@dataclass
class WebhookResult:
    status: int
    detail: str


def signature_valid(raw: bytes, signature: str) -> bool:
    secret = settings.FINCRA_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def receive_webhook(raw: bytes, signature: str) -> WebhookResult:
    """Verify the signature, store the event once and queue its processing — in one transaction.

    FinCra waits 10 s for a 2xx and retries only if the merchant opted in, so nothing slow happens
    here: FinCra's records are consulted by the job. A redelivery of an event not yet processed
    queues it again (at most one waiting job per event), so a lost job is never the end.
    """
    if not signature_valid(raw, signature):
        return WebhookResult(401, "invalid signature")
    try:
        payload = contract.jsonable(contract.from_json(raw))  # amounts kept exact, stored as strings
        event = str(payload["event"])
        data = payload.get("data") or {}
        assert isinstance(data, dict)
    except (ValueError, KeyError, TypeError, AssertionError, RecursionError):  # RecursionError: nested too deep
        return WebhookResult(400, "malformed payload")
    reference = str(data.get("merchantReference") or data.get("customerReference") or "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = WebhookEvent.objects.create(key=hashlib.sha256(raw).hexdigest(), event=event,
                                                     reference=reference[:255], payload=payload)
            detail = "queued"
        except IntegrityError:
            stored = WebhookEvent.objects.get(key=hashlib.sha256(raw).hexdigest())
            detail = "duplicate"
        if stored.processed_at is None:
            jobs.defer_webhook(stored.pk)
    return WebhookResult(200, detail)


def process_webhook(event_id: int) -> str:
    """The job: settle what a stored event is about from FinCra's records; keep the flag."""
    stored = WebhookEvent.objects.get(pk=event_id)
    if stored.processed_at is not None:
        return stored.flag
    data = stored.payload.get("data") or {}
    flag = _act(stored.event, stored.reference, data)
    WebhookEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(flag=flag, processed_at=timezone.now())
    return flag


def _act(event: str, reference: str, data: dict) -> str:
    if event in ("charge.successful", "charge.failed"):
        deposit = _ledger_row(reference, TransactionType.DEPOSIT)
        if deposit is None:
            return "unknown_reference"
        return confirm_deposit(deposit, reported=data) if event == "charge.successful" else fail_deposit(deposit)
    if event in ("payout.successful", "payout.failed"):
        withdrawal = _ledger_row(reference, TransactionType.WITHDRAWAL)
        return "unknown_reference" if withdrawal is None else settle_withdrawal(withdrawal, reported=data)
    return "unhandled_event"


def _ledger_row(reference: str, kind: str) -> Transaction | None:
    try:
        return Transaction.objects.filter(pk=uuid.UUID(reference), transaction_type=kind).first()
    except ValueError:
        return None


# --- reconciliation ---

@dataclass
class Reconciliation:
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile(*, older_than_minutes: int = 10) -> Reconciliation:
    """Settle every waiting deposit and withdrawal from FinCra's records; report what changed.

    Safe beside webhooks, jobs and another reconciler: each settlement is a locked, idempotent
    service, and a withdrawal whose payout outcome is unknown is only ever re-submitted.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    result = Reconciliation()
    waiting = Transaction.objects.filter(
        created_at__lte=cutoff, status__in=[TransactionStatus.PENDING, TransactionStatus.PROCESSING],
        transaction_type__in=[TransactionType.DEPOSIT, TransactionType.WITHDRAWAL],
    ).exclude(extra_data__has_key="flag").order_by("created_at")
    for row in waiting:
        try:
            if row.transaction_type == TransactionType.DEPOSIT:
                outcome = confirm_deposit(row)
            else:
                outcome = settle_withdrawal(row)
        except (TryLater, FincraError) as error:
            result.errors.append(f"{row.transaction_type} {row.pk}: {error}")
            continue
        after = Transaction.objects.get(pk=row.pk)
        if after.status != row.status:
            result.changed.append(f"{row.transaction_type} {row.pk}: {row.status} -> {after.status}"
                                  + (f" ({outcome.replace('_', ' ')})" if outcome else ""))
        elif outcome in ("resubmitted",) or (after.extra_data or {}).get("flag"):
            result.changed.append(f"{row.transaction_type} {row.pk}: {row.status}, {outcome.replace('_', ' ')}")
        else:
            result.unchanged += 1
    return result



# --- the wallet ---

def wallet_check() -> list[str]:
    """Compare FinCra's wallet with what the ledger says the platform must hold; flag shortfalls."""
    return services.wallet_check(balances=client().wallet_balances())
