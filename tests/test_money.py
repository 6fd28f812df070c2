"""Rounding: for random amounts in every supported currency, the parts always make the whole."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.commission import commission_quote
from escrow.errors import InvalidInput
from escrow.money import ZERO_DECIMAL_CURRENCIES, MoneyError, decimals, to_money

CURRENCIES = sorted({"USD", "EUR", "NGN", "KES", "GHS", "ZAR", *ZERO_DECIMAL_CURRENCIES})


@st.composite
def money(draw, currency=None):
    currency = currency or draw(st.sampled_from(CURRENCIES))
    minor = draw(st.integers(min_value=1, max_value=10**13 - 1))
    return Decimal(minor).scaleb(-decimals(currency)), currency


@settings(max_examples=300, deadline=None)
@given(money(), st.sampled_from(["buyer", "seller", "split"]),
       st.decimals(min_value=0, max_value=Decimal("99.99"), places=2))
def test_commission_plus_net_is_gross(amount_currency, fee_bearer, percent):
    amount, currency = amount_currency
    quote = commission_quote(amount=amount, currency=currency, fee_bearer=fee_bearer, percent=percent)
    assert quote.commission + quote.seller_receives == quote.buyer_pays
    assert quote.buyer_share + quote.seller_share == quote.commission
    assert quote.buyer_share >= 0 and quote.seller_share >= 0
    for value in (quote.commission, quote.buyer_pays, quote.seller_receives):
        assert value == to_money(value, currency)  # exact in the minor unit
    if fee_bearer == "buyer":
        assert quote.seller_receives == amount
    if fee_bearer == "seller":
        assert quote.buyer_pays == amount


def test_known_commissions():
    assert commission_quote(amount="1000.00", currency="USD", fee_bearer="split").buyer_pays == Decimal("1012.50")
    assert commission_quote(amount="0.03", currency="USD", fee_bearer="split").seller_share == Decimal("0.00")
    odd = commission_quote(amount="1000.20", currency="USD", fee_bearer="split")  # 25.005 → 25.01
    assert (odd.commission, odd.seller_share, odd.buyer_share) == (Decimal("25.01"), Decimal("12.50"), Decimal("12.51"))
    assert commission_quote(amount="101", currency="UGX", fee_bearer="seller").commission == Decimal("3")


def test_floats_never_become_money():
    with pytest.raises(TypeError):
        to_money(10.1, "USD")
    with pytest.raises(TypeError):
        commission_quote(amount=10.0, currency="USD", fee_bearer="seller")


@pytest.mark.parametrize(("value", "currency"), [("1.001", "USD"), ("100.5", "UGX"), ("abc", "USD"), ("NaN", "USD")])
def test_amounts_finer_than_the_currency_are_refused(value, currency):
    with pytest.raises(MoneyError):
        to_money(value, currency)


def test_quote_refuses_bad_input():
    with pytest.raises(InvalidInput) as error:
        commission_quote(amount="0", currency="USD", fee_bearer="seller")
    assert error.value.field == "amount"
    with pytest.raises(InvalidInput) as error:
        commission_quote(amount="1", currency="USD", fee_bearer="platform")
    assert error.value.field == "fee_bearer"
