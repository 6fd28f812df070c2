"""The gateway side of escrow: what happens between our ledger and FinCra.

Every HTTP call here runs outside any database transaction and row lock: the ledger row it
concerns is committed first, the call is made, and the outcome is recorded by a service in a
transaction of its own. Nothing is credited on FinCra's word in a redirect or a webhook alone:
a payment is confirmed by looking it up in FinCra's records, and so is a payout.
"""

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from escrow import services
from escrow.models import Transaction, TransactionStatus, TransactionType, WebhookEvent
from escrow.payments.fincra import FincraClient, FincraError, NotConfigured, OutcomeUnknown, Rejected, Unavailable

logger = logging.getLogger(__name__)


def client() -> FincraClient:
    return FincraClient.from_settings()


# --- funding ---

def start_checkout(deposit: Transaction) -> str | None:
    """The hosted checkout link for a pending deposit, asking FinCra once per deposit.

    Our deposit id is FinCra's merchant reference, so asking again after a lost answer returns
    the same checkout. ``None`` when no gateway is configured.
    """
    if (deposit.extra_data or {}).get("checkout_url"):
        return deposit.extra_data["checkout_url"]
    try:
        gateway = client()
    except NotConfigured:
        logger.warning("FinCra is not configured: deposit %s has no checkout link", deposit.pk)
        return None
    buyer = deposit.user
    answer = gateway.create_checkout(
        amount=deposit.amount, currency=deposit.currency,
        customer={"name": buyer.full_name or buyer.email, "email": buyer.email},
        reference=str(deposit.pk), redirect_url=settings.FINCRA_REDIRECT_URL,
        metadata={"project_id": str(deposit.project_id), "deposit_id": str(deposit.pk)},
    )
    services.deposit_record_checkout(reference=deposit.pk, checkout_url=answer.get("link", ""),
                                     gateway_reference=answer.get("reference", ""), pay_code=answer.get("payCode", ""))
    return answer.get("link")


# --- payouts ---

def submit_payout(withdrawal: Transaction) -> Transaction:
    """Ask FinCra to pay a committed, pending withdrawal to its bank account, once."""
    bank = (withdrawal.extra_data or {}).get("bank_account") or {}
    first, _, last = bank.get("account_holder_name", "").partition(" ")
    try:
        answer = client().create_payout(
            amount=withdrawal.amount, currency=withdrawal.currency, customer_reference=str(withdrawal.pk),
            description="Amani escrow withdrawal",
            beneficiary={
                "firstName": first, "lastName": last or first, "accountHolderName": bank.get("account_holder_name"),
                "accountNumber": bank.get("account_number"), "bankCode": bank.get("bank_code"),
                "type": "individual", "country": bank.get("country"),
            },
        )
    except NotConfigured:
        logger.warning("FinCra is not configured: withdrawal %s waits", withdrawal.pk)
        return withdrawal
    except OutcomeUnknown as error:
        return services.withdrawal_submitted(withdrawal=withdrawal, outcome="unknown", detail=str(error))
    except (Rejected, FincraError) as error:
        return services.withdrawal_submitted(withdrawal=withdrawal, outcome="rejected", detail=str(error))
    return services.withdrawal_submitted(withdrawal=withdrawal, outcome="processing",
                                         gateway_reference=answer.get("reference"))


# --- webhooks ---

@dataclass
class WebhookResult:
    status: int
    detail: str
    flag: str = ""


def signature_valid(raw: bytes, signature: str) -> bool:
    secret = settings.FINCRA_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def handle_webhook(raw: bytes, signature: str) -> WebhookResult:
    """Verify, store once, then act on a FinCra webhook. Safe to receive any number of times."""
    if not signature_valid(raw, signature):
        return WebhookResult(401, "invalid signature")
    try:
        payload = json.loads(raw)
        event = str(payload["event"])
        data = payload.get("data") or {}
        assert isinstance(data, dict)
    except (ValueError, KeyError, TypeError, AssertionError, RecursionError):  # RecursionError: nested too deep
        return WebhookResult(400, "malformed payload")
    reference = str(data.get("merchantReference") or data.get("customerReference") or "")
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(key=hashlib.sha256(raw).hexdigest(), event=event,
                                                 reference=reference[:255], payload=payload)
    except IntegrityError:
        return WebhookResult(200, "duplicate")
    try:
        flag = _act(event, reference)
    except Unavailable:
        stored.delete()  # FinCra will send it again; then we can verify it
        return WebhookResult(503, "could not verify with FinCra; retry")
    stored.flag, stored.processed_at = flag, timezone.now()
    stored.save(update_fields=["flag", "processed_at"])
    return WebhookResult(200, "processed", flag)


def _act(event: str, reference: str) -> str:
    """Settle what the event is about from FinCra's own records; return a flag or ''."""
    if event == "charge.successful":
        deposit = _ledger_row(reference, TransactionType.DEPOSIT)
        return "unknown_reference" if deposit is None else confirm_deposit(deposit)
    if event in ("payout.successful", "payout.failed"):
        withdrawal = _ledger_row(reference, TransactionType.WITHDRAWAL)
        return "unknown_reference" if withdrawal is None else settle_withdrawal(withdrawal)
    return "unhandled_event"


def _ledger_row(reference: str, kind: str) -> Transaction | None:
    try:
        return Transaction.objects.filter(pk=uuid.UUID(reference), transaction_type=kind).first()
    except ValueError:
        return None


def confirm_deposit(deposit: Transaction) -> str:
    """Hold the deposit if FinCra's records say it was paid; else say why not."""
    record = client().get_checkout(str(deposit.pk))
    if record is None:
        return "not_found_at_fincra"
    status = str(record.get("status", "")).lower()
    if status in ("failed", "cancelled", "expired", "abandoned"):
        services.deposit_fail(reference=deposit.pk, reason=f"FinCra status {status}")
        return ""
    if status != "success":
        return "not_paid"
    try:
        received = Decimal(str(record.get("amountReceived")))
    except InvalidOperation:
        return "malformed_amount"
    confirmed = services.deposit_confirm(reference=deposit.pk, amount_received=received,
                                         gateway_transaction_id=record.get("reference"), gateway_response=record)
    return (confirmed.extra_data or {}).get("flag", "")


def settle_withdrawal(withdrawal: Transaction, *, missing_means_failed: bool = False) -> str:
    """Complete or fail a withdrawal as FinCra's payout record says; flag a contradiction."""
    record = client().get_payout(str(withdrawal.pk))
    if record is None:
        if missing_means_failed:  # the POST never reached FinCra: the money never left
            services.withdrawal_settle(withdrawal=withdrawal, succeeded=False,
                                       gateway_response={"reconcile": "no payout at FinCra"})
            return ""
        return "not_found_at_fincra"
    status = str(record.get("status", "")).lower()
    if status not in ("successful", "failed"):
        return "still_processing"
    settled = services.withdrawal_settle(withdrawal=withdrawal, succeeded=status == "successful",
                                         gateway_reference=record.get("reference"), gateway_response=record)
    return (settled.extra_data or {}).get("flag", "")


# --- reconciliation ---

@dataclass
class Reconciliation:
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile(*, older_than_minutes: int = 10) -> Reconciliation:
    """Settle every pending or unknown deposit and withdrawal from FinCra's records.

    Safe beside webhooks and another reconciler: each settlement is a locked, idempotent service.
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
                flag = confirm_deposit(row)
            else:
                submitted = (row.extra_data or {}).get("payout")
                flag = settle_withdrawal(row, missing_means_failed=submitted in (None, "unknown"))
        except FincraError as error:
            result.errors.append(f"{row.transaction_type} {row.pk}: {error}")
            continue
        after = Transaction.objects.get(pk=row.pk)
        if after.status != row.status or flag:
            result.changed.append(f"{row.transaction_type} {row.pk}: {row.status} -> {after.status}"
                                  + (f" (flag: {flag})" if flag else ""))
        else:
            result.unchanged += 1
    return result
