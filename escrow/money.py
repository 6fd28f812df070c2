"""Money: Decimal only, exact in each currency's minor unit.

Every amount that enters the engine goes through ``to_money``: a float is a ``TypeError`` (the
old system multiplied money by floats and every hold failed), and an amount finer than the
currency's minor unit is refused rather than silently rounded. The only rounding the engine does
is the commission (``percent_of``, half-up); every split is checked to sum to its whole.
"""

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from escrow.errors import InvalidInput

# Every currency Amani accepts: ISO 4217's list of current currencies (list one, as amended to
# 2025: ANG and XCG both, during the Caribbean guilder's changeover; ZWG, not the withdrawn ZWL).
# Left out on purpose, though ISO lists them: what no buyer pays a seller in — XXX (no currency),
# XTS (reserved for tests), the precious metals XAU, XAG, XPT, XPD, the bond-market units XBA to
# XBD, the IMF's XDR and the regional units XSU and XUA — and the fund codes (BOV, CHE, CHW, CLF,
# COU, MXV, USN, UYI, UYW), units of account beside a country's currency, not money a bank pays
# out. Migration 0015_currency_iso4217 holds the database to the same list (a test checks they
# agree); a new ISO currency needs both changed.
CURRENCIES = frozenset("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())

# ISO 4217 currencies without a minor unit. (The few with three decimals, such as BHD or KWD,
# are held to two, as every amount column is numeric(15,2).)
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
    require_currency(currency)
    try:
        amount = to_money(value, currency)
    except MoneyError as error:
        raise InvalidInput(str(error), field=field) from error
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(f"{field} must be greater than zero.", field=field)
    return amount


def require_currency(currency, *, field: str = "currency") -> str:
    """``currency`` if it is a currency Amani accepts (``CURRENCIES``); else a field-named ``InvalidInput``."""
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput(f"{field} must be an ISO 4217 code such as USD.", field=field)
    if currency not in CURRENCIES:
        raise InvalidInput(f"{field} {currency} is not a currency Amani accepts (ISO 4217: USD, EUR, NGN, ...).",
                           field=field)
    return currency


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded half-up to the currency's minor unit."""
    _require_decimal(amount, percent)
    return (amount * percent / 100).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _require_decimal(*values) -> None:
    for value in values:
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
