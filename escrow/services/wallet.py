"""The platform's FinCra wallet against its ledger: does the wallet cover what is owed?

What the ledger says the platform must be able to pay, per currency: everything held in escrow,
every user's available balance, the platform's commission, and every payout not yet settled. FinCra keeps a fee on each collection and each payout (recorded on the ledger rows as
``gateway_fee``), so the wallet holds less than it took in; a difference below zero is a
shortfall an operator must cover before sellers' payouts start failing.
"""

import logging
from decimal import Decimal

from django.db import connection, transaction

from escrow.models import WalletCheck
from escrow.selectors import held_per_currency

logger = logging.getLogger(__name__)

AVAILABLE = """
SELECT currency, sum(escrow_available_balance(user_id, currency))
FROM (SELECT DISTINCT user_id, currency FROM transactions) accounts
GROUP BY currency
"""
# The platform's commission is not an available balance (escrow_available_balance counts what was
# released or refunded to a user), but the wallet holds it too.
COMMISSION = """
SELECT currency, sum(amount) FROM transactions
WHERE transaction_type = 'commission' AND status = 'completed'
GROUP BY currency
"""
IN_FLIGHT = """
SELECT currency, sum(amount) FROM transactions
WHERE transaction_type = 'withdrawal' AND status IN ('pending', 'processing')
GROUP BY currency
"""
GATEWAY_FEES = """
SELECT currency, sum(gateway_fee) FROM transactions
WHERE gateway_fee IS NOT NULL AND status = 'completed'
GROUP BY currency
"""


def ledger_owed_per_currency() -> dict[str, Decimal]:
    owed: dict[str, Decimal] = dict(held_per_currency())
    with connection.cursor() as cursor:
        for query in (AVAILABLE, COMMISSION, IN_FLIGHT):
            cursor.execute(query)
            for currency, amount in cursor.fetchall():
                owed[currency] = owed.get(currency, Decimal(0)) + amount
    return owed


def gateway_fees_per_currency() -> dict[str, Decimal]:
    with connection.cursor() as cursor:
        cursor.execute(GATEWAY_FEES)
        return dict(cursor.fetchall())


@transaction.atomic
def wallet_check(*, balances: dict[str, Decimal]) -> list[str]:
    """Record FinCra's ``balances`` against the ledger, one row per currency; return the shortfalls."""
    owed, fees = ledger_owed_per_currency(), gateway_fees_per_currency()
    shortfalls = []
    for currency in sorted(set(owed) | set(balances)):
        check = WalletCheck.objects.create(
            currency=currency, wallet_balance=balances.get(currency, Decimal(0)),
            ledger_owed=owed.get(currency, Decimal(0)), gateway_fees=fees.get(currency, Decimal(0)),
        )
        if check.shortfall:
            shortfalls.append(currency)
            logger.error("FinCra wallet shortfall in %s: wallet %s, ledger owes %s (FinCra fees so far %s)",
                         currency, check.wallet_balance, check.ledger_owed, check.gateway_fees)
    return shortfalls

