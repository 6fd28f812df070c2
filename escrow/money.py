"""Money: Decimal only, exact in each currency's minor unit.

Every amount that enters the engine goes through ``to_money``: a float is a ``TypeError`` (the
old system multiplied money by floats and every hold failed), and an amount finer than the
currency's minor unit is refused rather than silently rounded. The only rounding the engine does
is the commission (``percent_of``, half-up); every split is checked to sum to its whole.
"""

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from escrow.errors import InvalidInput

# ISO 4217 currencies without a minor unit that Amani may see (FinCra's markets and common ones).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


class MoneyError(ValueError):
    """An amount that is not valid money in its currency."""


def decimals(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-decimals(currency))


def to_money(value: Decimal | int | str, currency: str) -> Decimal:
    """The exact Decimal for ``value`` in ``currency``; refuses floats and sub-minor-unit amounts."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, never float")
    if isinstance(value, bool):
        raise TypeError("money must be Decimal, int or str, not bool")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise MoneyError(f"{value!r} is not an amount") from error
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount")
    quantized = amount.quantize(minor_unit(currency), rounding=ROUND_DOWN)
    if quantized != amount:
        raise MoneyError(f"{currency} amounts have {decimals(currency)} decimals at most: {value}")
    return quantized


def parse_amount(value, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """``to_money`` for input from outside: a field-named ``InvalidInput`` for anything but a
    positive (or, if allowed, zero) amount in a well-formed currency."""
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput("currency must be an ISO 4217 code such as USD.", field="currency")
    try:
        amount = to_money(value, currency)
    except MoneyError as error:
        raise InvalidInput(str(error), field=field) from error
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(f"{field} must be greater than zero.", field=field)
    return amount


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded half-up to the currency's minor unit."""
    _require_decimal(amount, percent)
    return (amount * percent / 100).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _require_decimal(*values) -> None:
    for value in values:
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
