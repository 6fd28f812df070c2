"""USD withdrawals through the API, up to the committed withdrawal and its payout job (the payout
itself, against FinCra's stand-in, is tests/payments/test_fincra.py::test_an_escrow_end_to_end_through_fincra[USD]),
and the supporting document FinCra reads at a signed URL."""

import time
from decimal import Decimal

import pytest
from django.core import signing
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from escrow import services
from escrow.models import Transaction
from escrow.payments import compliance
from tests import builders
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import db_snapshot, pdf_text

US_ADDRESS = {"street": "55 Water St", "city": "New York", "state": "NY", "zip": "10041", "country": "US"}
US_BANK = {"payment_scheme": "ach", "account_number": "000123456789", "routing_number": "021000021",
           "bank_name": "JPMorgan Chase", "account_holder_name": "Ada Seller", "country": "US", "address": US_ADDRESS}


@pytest.fixture
def usd_payouts(settings):
    settings.FINCRA_SENDER_NAME, settings.FINCRA_SENDER_TYPE = "Amani Escrow Ltd", "corporate"
    settings.FINCRA_SENDER_COUNTRY, settings.FINCRA_SENDER_ID_NUMBER = "NG", "RC1234567"
    settings.FINCRA_SENDER_ID_TYPE = "business_registration_number"
    settings.PUBLIC_BASE_URL = "https://api.amani.example"
    return settings


def withdraw(user, bank=US_BANK, amount="975.00"):
    return client_for(user).post("/api/v1/withdrawals/", {"amount": amount, "currency": "USD", "bank_account": bank},
                                 format="json")


def payout_jobs() -> int:
    return ProcrastinateJob.objects.filter(task_name="escrow.payments.jobs.submit_payout").count()


def assert_refused(response, field: str, before: dict) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error["fields"]) == {field}, error
    assert db_snapshot() == before and payout_jobs() == 0  # nothing written, nothing queued for FinCra
    return error


# --- the withdrawal ---

def test_a_usd_withdrawal_takes_the_holders_name_as_given_and_queues_its_payout(db, usd_payouts):
    seller = builders.completed(currency="USD").seller
    response = withdraw(seller, bank={**US_BANK, "address": {**US_ADDRESS, "state": "ny", "country": "us"}})
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["account_name"] == "Ada Seller" and answer["account_name_resolved"] is False
    row = Transaction.objects.get(pk=answer["id"])
    assert row.extra_data["bank_account"] == US_BANK  # stored normalised (state and country upper case)
    assert payout_jobs() == 1


@pytest.mark.parametrize("unset", ["FINCRA_SENDER_NAME", "FINCRA_SENDER_ID_NUMBER", "FINCRA_SENDER_COUNTRY",
                                   "PUBLIC_BASE_URL"])
def test_usd_withdrawals_are_refused_until_the_sender_and_public_url_are_configured(db, usd_payouts, unset):
    setattr(usd_payouts, unset, "")
    seller = builders.completed(currency="USD").seller
    before = db_snapshot()
    error = assert_refused(withdraw(seller), "currency", before)
    assert "not enabled" in error["message"]


@pytest.mark.parametrize(("change", "field"), [
    ({"payment_scheme": "swift"}, "bank_account.payment_scheme"),  # FinCra offers it; we do not (docs/payments.md)
    ({"payment_scheme": "chaps"}, "bank_account.payment_scheme"),
    ({"routing_number": "021000022"}, "bank_account.routing_number"),  # the check digit is wrong
    ({"routing_number": "0210000210"}, "bank_account.routing_number"),
    ({"account_number": "012"}, "bank_account"),  # the serializer: 4 to 20 digits
    ({"address": {**US_ADDRESS, "zip": ""}}, "bank_account.address.zip"),
    ({"address": None}, "bank_account"),
    ({"bank_code": "058"}, "bank_account.bank_code"),  # an NGN account's field
])
def test_a_usd_account_we_cannot_pay_is_refused_naming_the_field(db, usd_payouts, change, field):
    seller = builders.completed(currency="USD").seller
    bank = {**US_BANK, **change}
    before = db_snapshot()
    assert_refused(withdraw(seller, bank=bank), field, before)


def test_the_openapi_schema_describes_the_usd_bank_account(db):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    bank = schema["components"]["schemas"]["BankAccountRequest"]["properties"]
    assert {"payment_scheme", "routing_number", "bank_name", "address"} <= set(bank)
    assert "fed_wire" in bank["payment_scheme"]["description"] and "ABA" in bank["routing_number"]["description"]
    address = schema["components"]["schemas"]["AddressRequest"]["properties"]
    assert set(address) == {"street", "city", "state", "zip", "country"}
    assert "/api/v1/payout-documents/{id}/" in schema["paths"]
    withdrawal = schema["components"]["schemas"]["Transaction"]["properties"]
    assert "account_name_resolved" in withdrawal


# --- the supporting document ---

def usd_withdrawal(amount="975.00") -> Transaction:
    seller = builders.completed(currency="USD").seller
    return services.withdrawal_request(user=seller, amount=Decimal(amount), currency="USD", bank_account=US_BANK)


def document_path(withdrawal_id, signature: str | None) -> str:
    path = f"/api/v1/payout-documents/{withdrawal_id}/"
    return path if signature is None else f"{path}?s={signature}"


def test_the_document_url_is_absolute_signed_and_shows_the_payees_releases_only(db, usd_payouts):
    other = builders.completed(currency="USD", amounts=("123.00", "877.00"))  # another seller's releases
    withdrawal = usd_withdrawal("500.00")
    url = compliance.document_url(withdrawal.pk)
    assert url.startswith(f"https://api.amani.example/api/v1/payout-documents/{withdrawal.pk}/?s=")
    before = db_snapshot()
    response = APIClient().get(url.removeprefix("https://api.amani.example"), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    text = " ".join(pdf_text(response.content).split())
    releases = Transaction.objects.filter(user=withdrawal.user, transaction_type="escrow_release").order_by("created_at")
    first, second = releases  # 390.00 and 585.00: the first in full, 110.00 of the second (first in, first out)
    assert f"{first.amount:,.2f} USD" in text and str(first.pk) in text
    assert f"110.00 USD (part of {second.amount:,.2f} USD)" in text and str(second.pk) in text
    assert "Total: 500.00 USD" in text and "Amani Escrow Ltd" in text and "account ending 6789" in text
    assert other.title not in text and str(other.pk) not in text and other.seller.full_name not in text
    assert str(other.buyer_id) not in text and withdrawal.user.email not in text
    assert db_snapshot() == before  # reading writes nothing


def test_a_later_withdrawal_is_funded_by_what_the_earlier_ones_left(db, usd_payouts):
    first = usd_withdrawal("500.00")
    second = services.withdrawal_request(user=first.user, amount=Decimal("475.00"), currency="USD",
                                         bank_account=US_BANK)
    text = " ".join(compliance.document_lines(second))
    assert "Total: 475.00 USD" in text and "475.00 USD (part of 585.00 USD)" in text


def expired_signature(withdrawal_id) -> str:
    signer = signing.TimestampSigner(salt=compliance.SIGNING_SALT)
    signer.timestamp = lambda: signing.b62_encode(int(time.time()) - 31 * 24 * 3600)  # signed 31 days ago
    return signer.sign(str(withdrawal_id)).split(":", 1)[1]


@pytest.mark.parametrize("signature", ["missing", "empty", "wrong", "expired", "another withdrawal's",
                                       "another salt's"])
@pytest.mark.parametrize("who", ["nobody", "the payee", "a stranger"])
def test_the_document_without_its_signature_is_not_found_and_writes_nothing(db, usd_payouts, signature, who):
    withdrawal = usd_withdrawal()
    another = usd_withdrawal()
    value = {"missing": None, "empty": "", "wrong": compliance.document_signature(withdrawal.pk)[:-2] + "xx",
             "expired": expired_signature(withdrawal.pk),
             "another withdrawal's": compliance.document_signature(another.pk),
             "another salt's": signing.TimestampSigner().sign(str(withdrawal.pk)).split(":", 1)[1]}[signature]
    client = {"nobody": APIClient(), "the payee": client_for(withdrawal.user),
              "a stranger": client_for(UserFactory())}[who]
    before = db_snapshot()
    response = client.get(document_path(withdrawal.pk, value))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert db_snapshot() == before


def test_a_signed_url_of_no_withdrawal_is_not_found(db, usd_payouts):
    deposit = builders.funded(currency="USD").transactions.get(transaction_type="deposit")
    response = APIClient().get(document_path(deposit.pk, compliance.document_signature(deposit.pk)))
    assert response.status_code == 404  # a signature for a ledger row that is not a withdrawal
