"""What FinCra needs from Amani itself, not from the seller, to pay out in USD
(payouts/united-states.mdx; fincra-disbursements.yaml CreatePayoutRequest "for destinationCurrency=USD,
customerName and files are required"):

- the **sender**: our business, the originator of the payment (FinCra's ``Sender``), from settings
  (``FINCRA_SENDER_*``);
- a **supporting document** per payout (``files``): a PDF Amani generates that describes the escrow
  releases (and refunds) that funded the withdrawal, served at a signed, expiring URL under the API
  (``/api/v1/payout-documents/<withdrawal id>/?s=<signature>``). Without a valid signature the URL is
  a 404, whoever asks; the document names only the payee's own rows.

Until the sender and ``PUBLIC_BASE_URL`` are configured, USD payouts are refused up front.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from escrow import pdf
from escrow.models import Transaction, TransactionType
from escrow.money import decimals
from escrow.payments import contract
from escrow.selectors import withdrawal_funding

# Payout currencies whose FinCra payout carries a sender and a supporting document.
DOCUMENTED_PAYOUTS = frozenset({"USD"})
SIGNING_SALT = "escrow.payments.compliance.payout-document"
SCHEME_NAMES = {"ach": "ACH", "fed_wire": "Fedwire", "swift": "SWIFT"}


def sender() -> dict | None:
    """Our business as FinCra's ``Sender`` (fincra-disbursements.yaml), or None when not configured."""
    if not settings.FINCRA_SENDER_NAME:
        return None
    kind = settings.FINCRA_SENDER_TYPE
    country_key = "countryOfIncorporation" if kind == "corporate" else "countryOfOrigin"
    body = {"name": settings.FINCRA_SENDER_NAME, "type": kind, country_key: settings.FINCRA_SENDER_COUNTRY,
            "idType": settings.FINCRA_SENDER_ID_TYPE, "idNumber": settings.FINCRA_SENDER_ID_NUMBER,
            "email": settings.FINCRA_SENDER_EMAIL, "address": settings.FINCRA_SENDER_ADDRESS}
    return {key: value for key, value in body.items() if value}


def payouts_disabled_reason(currency: str) -> str:
    """Why this server cannot pay out in ``currency`` now ('' when it can): a USD payout needs the
    sender and a public URL for its supporting document."""
    if currency not in DOCUMENTED_PAYOUTS:
        return ""
    if contract.sender_problems(sender()) or not contract.is_uri(settings.PUBLIC_BASE_URL):
        return (f"{currency} payouts are not enabled on this service yet (FinCra needs our business's "
                "sender details and a public address for the payout's supporting document).")
    return ""


# --- the supporting document ---

def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SIGNING_SALT)


def document_signature(withdrawal_id) -> str:
    """The ``s`` parameter of the withdrawal's document URL: a timestamp and an HMAC of the id."""
    return _signer().sign(str(withdrawal_id)).split(":", 1)[1]


def signature_valid(withdrawal_id, signature: str) -> bool:
    """Whether ``signature`` was made for this withdrawal less than PAYOUT_DOCUMENT_MAX_AGE_DAYS ago."""
    if not isinstance(signature, str) or not signature or len(signature) > 200:
        return False
    try:
        value = _signer().unsign(f"{withdrawal_id}:{signature}",
                                 max_age=timedelta(days=settings.PAYOUT_DOCUMENT_MAX_AGE_DAYS))
    except signing.BadSignature:  # SignatureExpired is one
        return False
    return value == str(withdrawal_id)


def document_url(withdrawal_id) -> str | None:
    """The absolute, signed URL of the withdrawal's supporting document (None without PUBLIC_BASE_URL)."""
    if not contract.is_uri(settings.PUBLIC_BASE_URL):
        return None
    path = reverse("payout-document", kwargs={"pk": withdrawal_id})
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}?s={document_signature(withdrawal_id)}"


def document_lines(withdrawal: Transaction) -> list[str]:
    """The document's text: the payee, the payout, and the credits that funded it."""
    places = decimals(withdrawal.currency)
    money = lambda amount: f"{amount:,.{places}f} {withdrawal.currency}"  # noqa: E731
    bank = (withdrawal.extra_data or {}).get("bank_account") or {}
    name = (withdrawal.extra_data or {}).get("account_name") or bank.get("account_holder_name", "")
    payer = (sender() or {}).get("name") or "Amani"
    lines = [
        "Payout supporting document: escrow releases funding a withdrawal",
        "",
        f"Issued by: {payer}, through the Amani escrow service, on {timezone.now():%Y-%m-%d %H:%M} UTC",
        f"Withdrawal: {withdrawal.pk} (the payout's customerReference)",
        f"Requested: {withdrawal.created_at:%Y-%m-%d %H:%M} UTC",
        f"Amount: {money(withdrawal.amount)}",
        f"Payee: {name} (Amani user {withdrawal.user_id})",
    ]
    if bank.get("account_number"):
        scheme = SCHEME_NAMES.get(bank.get("payment_scheme", ""), "bank transfer")
        lines.append(f"Paid to: account ending {bank['account_number'][-4:]} at {bank.get('bank_name', 'the bank')}"
                     f" by {scheme}")
    lines += ["", "The payee earned these amounts in escrow; each was released to them when the buyer",
              "approved the work (a refund: returned to them as the buyer). Oldest first:", ""]
    total = 0
    for credit, used in withdrawal_funding(withdrawal):
        kind = "Escrow release" if credit.transaction_type == TransactionType.ESCROW_RELEASE else "Refund"
        when = credit.completed_at or credit.created_at
        project = f'project "{credit.project.title}" ({credit.project_id})' if credit.project else "a project"
        milestone = f', milestone "{credit.milestone.title}"' if credit.milestone else ""
        part = "" if used == credit.amount else f" (part of {money(credit.amount)})"
        lines += [f"{when:%Y-%m-%d}  {kind}: {money(used)}{part}", f"    {project}{milestone}",
                  f"    ledger entry {credit.pk}"]
        total += used
    lines += ["", f"Total: {money(total)}"]
    if total != withdrawal.amount:  # cannot happen for a withdrawal the balance rule let through
        lines.append(f"Note: the releases above cover {money(total)} of the {money(withdrawal.amount)} paid out.")
    return lines


def document_pdf(withdrawal: Transaction) -> bytes:
    return pdf.render(document_lines(withdrawal), title=f"Amani payout {withdrawal.pk}")
