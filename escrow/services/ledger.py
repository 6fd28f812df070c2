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
    now = timezone.now()
    settled = status == TransactionStatus.COMPLETED
    return Transaction.objects.create(
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
