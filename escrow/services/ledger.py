"""Writing ledger rows. Rows are appended, never edited in amount (the database refuses)."""

from decimal import Decimal
from uuid import UUID

from django.utils import timezone

from escrow.models import Transaction, TransactionStatus

# The platform's account (created by migration 0004): commission is paid to it.
PLATFORM_USER_ID = UUID("00000000-0000-0000-0000-00000000a111")


def append_entry(*, transaction_type: str, user_id, amount: Decimal, currency: str, project=None, milestone=None,
                 fee: Decimal = Decimal(0), status: str = TransactionStatus.COMPLETED, description: str = "",
                 extra_data: dict | None = None) -> Transaction:
    return append_entries([ledger_entry(
        transaction_type=transaction_type, user_id=user_id, amount=amount, currency=currency, project=project,
        milestone=milestone, fee=fee, status=status, description=description, extra_data=extra_data)])[0]


def ledger_entry(*, transaction_type: str, user_id, amount: Decimal, currency: str, project=None, milestone=None,
                 fee: Decimal = Decimal(0), status: str = TransactionStatus.COMPLETED, description: str = "",
                 extra_data: dict | None = None) -> Transaction:
    """A row to append (``append_entries``), not yet written."""
    now = timezone.now()
    settled = status == TransactionStatus.COMPLETED
    return Transaction(
        transaction_type=transaction_type,
        user_id=user_id,
        project=project,
        milestone=milestone,
        amount=amount,
        fee=fee,
        net_amount=amount - fee,
        currency=currency,
        status=status,
        description=description,
        extra_data=extra_data,
        processed_at=now if settled else None,
        completed_at=now if settled else None,
    )


def append_entries(entries: list[Transaction]) -> list[Transaction]:
    """Write ``entries`` in one statement, in their order (the database's rules check each row as
    it is inserted, as they would one statement at a time)."""
    return Transaction.objects.bulk_create(entries)
