"""What the ledger says the FinCra wallet must cover, against what FinCra says it holds."""

from decimal import Decimal

from escrow import services
from escrow.models import WalletCheck
from escrow.services.wallet import ledger_owed_per_currency
from tests import builders

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


def test_the_ledger_owes_what_is_held_the_balances_the_commission_and_payouts_in_flight(db):
    builders.funded(currency="NGN")  # 1000.00 held
    done = builders.completed(currency="NGN")  # 975.00 to the seller, 25.00 commission
    services.withdrawal_request(user=done.seller, amount="100.00", currency="NGN", bank_account=BANK,
                                account_name="ADA SELLER")  # in flight: still owed until paid
    assert ledger_owed_per_currency() == {"NGN": Decimal("2000.00")}


def test_a_wallet_below_what_is_owed_is_a_shortfall(db):
    builders.completed(currency="NGN")
    assert services.wallet_check(balances={"NGN": Decimal("1000.00"), "USD": Decimal("5.00")}) == []
    assert services.wallet_check(balances={"NGN": Decimal("999.99")}) == ["NGN"]
    latest = WalletCheck.objects.filter(currency="NGN").latest("checked_at")
    assert (latest.ledger_owed, latest.difference, latest.shortfall) == (Decimal("1000.00"), Decimal("-0.01"), True)
    assert WalletCheck.objects.filter(currency="USD").get().difference == Decimal("5.00")  # nothing owed in USD
