"""The platform's commission: how much, and who bears it.

For a gross amount G (a milestone's price) and the project's rate, the commission C is rounded
half-up to the currency's minor unit. The fee bearer decides who pays it:

- ``seller``: the buyer pays G; the seller receives G − C;
- ``buyer``: the buyer pays G + C; the seller receives G;
- ``split``: the seller's half is C/2 rounded down to the minor unit, the buyer's the rest.

Always: buyer_pays = commission + seller_receives, exactly. A project's buyer owes the sum of
its milestones' ``buyer_pays``; each release takes one milestone's ``buyer_pays`` out of the hold.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

from escrow.errors import InvalidInput
from escrow.models import FeeBearer
from escrow.money import minor_unit, parse_amount, percent_of


@dataclass(frozen=True)
class Quote:
    amount: Decimal
    currency: str
    fee_bearer: str
    commission: Decimal
    buyer_share: Decimal  # of the commission
    seller_share: Decimal

    @property
    def buyer_pays(self) -> Decimal:
        return self.amount + self.buyer_share

    @property
    def seller_receives(self) -> Decimal:
        return self.amount - self.seller_share


def commission_quote(*, amount: Decimal | str | int, currency: str, fee_bearer: str,
                     percent: Decimal | None = None) -> Quote:
    """What the buyer pays and the seller receives for ``amount``, at ``percent`` (the setting by default)."""
    if fee_bearer not in FeeBearer.values:
        raise InvalidInput(f"fee_bearer must be one of {', '.join(FeeBearer.values)}.", field="fee_bearer")
    gross = parse_amount(amount, currency)
    rate = settings.ESCROW_COMMISSION_PERCENT if percent is None else percent
    commission = percent_of(gross, rate, currency)
    if fee_bearer == FeeBearer.SELLER:
        seller_share = commission
    elif fee_bearer == FeeBearer.BUYER:
        seller_share = Decimal(0).quantize(minor_unit(currency))
    else:
        seller_share = (commission / 2).quantize(minor_unit(currency), rounding=ROUND_DOWN)
    return Quote(
        amount=gross,
        currency=currency,
        fee_bearer=fee_bearer,
        commission=commission,
        buyer_share=commission - seller_share,
        seller_share=seller_share,
    )


def milestone_quote(milestone, project) -> Quote:
    return commission_quote(
        amount=milestone.amount, currency=project.currency, fee_bearer=project.fee_bearer,
        percent=project.commission_percent,
    )
