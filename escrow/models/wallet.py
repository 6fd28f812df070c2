"""The ``wallet_checks`` table: FinCra's wallet compared with what the ledger says it must cover.

Each check appends one row per currency (never updated): the operator console shows the latest,
and a row with a shortfall is what an operator must act on.
"""

from django.db import models

from escrow.models.fields import MONEY, currency_field


class WalletCheck(models.Model):
    currency = currency_field()
    # What FinCra's wallet API says is available.
    wallet_balance = models.DecimalField(**MONEY)
    # What the ledger says the platform owes: held in escrow + available balances (commission
    # included) + payouts not yet settled.
    ledger_owed = models.DecimalField(**MONEY)
    # FinCra's fees recorded on the ledger (collection and payout): why the wallet holds less.
    gateway_fees = models.DecimalField(**MONEY)
    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "wallet_checks"
        ordering = ["-checked_at", "currency"]

    @property
    def difference(self):
        """Wallet minus what is owed: negative is a shortfall."""
        return self.wallet_balance - self.ledger_owed

    @property
    def shortfall(self) -> bool:
        return self.difference < 0

    def __str__(self) -> str:
        return f"{self.currency}: wallet {self.wallet_balance}, owed {self.ledger_owed}"
