"""The FinCra client against the simulator over real HTTP (nothing patched), with every request body the
client sends and every answer the simulator gives checked against FinCra's published schemas
(tests/payments/fincra_openapi/). No database: the client and the simulator touch none."""

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from escrow.payments import contract
from escrow.payments.fincra import (
    DuplicateReference,
    FincraClient,
    OutcomeUnknown,
    Rejected,
    Unauthorized,
    Unavailable,
)
from escrow.payments.simulator import DEFAULT_ACCOUNT_NAME, Simulator
from tests.payments import fincra_spec as fs
from tests.payments.fincra_spec import CHECKOUT, CORE, DISBURSEMENTS

pytestmark = pytest.mark.slow  # threads and real HTTP servers

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


@pytest.fixture
def fincra():
    simulator = Simulator(secret_key=secrets.token_hex(16), public_key=secrets.token_hex(16),
                          business_id=secrets.token_hex(12), webhook_secret=secrets.token_hex(16)).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def client(fincra):
    return FincraClient(base_url=fincra.url, secret_key=fincra.secret_key, public_key=fincra.public_key,
                        business_id=fincra.business_id, timeout=1)


def switch(simulator, **config):
    assert requests.post(f"{simulator.url}/_simulator/config", json=config, timeout=5).ok


def checkout(client, reference="dep-1", currency="USD", amount="1000.00", **changes):
    arguments = {"amount": Decimal(amount), "currency": currency, "customer_name": "Ada Lovelace",
                 "customer_email": "ada@example.com", "reference": reference, "redirect_url": None,
                 "metadata": {"deposit_id": reference}, **changes}
    return client.create_checkout(**arguments)


def payout(client, reference="wd-1", amount="975.00", bank=BANK, name="Ada Seller"):
    return client.create_payout(amount=Decimal(amount), currency="NGN", customer_reference=reference,
                                description="Amani escrow withdrawal", bank_account=bank, account_name=name)


def raw(simulator, method, path, body=None, *, auth=True):
    """A request the client would never send, to show what the simulator (FinCra) answers."""
    headers = {"content-type": "application/json"}
    if auth:
        headers.update({contract.HEADER_SECRET_KEY: simulator.secret_key,
                        contract.HEADER_PUBLIC_KEY: simulator.public_key,
                        contract.HEADER_BUSINESS_ID: simulator.business_id})
    data = None if body is None else (body if isinstance(body, bytes) else contract.to_json(body).encode())
    response = requests.request(method, simulator.url + path, data=data, headers=headers, timeout=5)
    return response.status_code, contract.from_json(response.content)


def sent(simulator, path):
    return [request for request in simulator.requests if request["path"] == path]


# --- checkout ---

@pytest.mark.parametrize(("currency", "methods"), [
    ("USD", ["card"]), ("GBP", ["eft"]), ("EUR", ["eft"]), ("KES", ["mobile_money"]), ("XOF", ["mobile_money"]),
    ("NGN", ["card", "bank_transfer", "payattitude", "palmpay"]),
])
def test_a_checkout_sends_fincras_fields_with_the_methods_of_its_currency(fincra, client, currency, methods):
    amount = "1000" if currency == "XOF" else "1000.10"
    answer = checkout(client, currency=currency, amount=amount)
    assert answer["reference"] == "dep-1" and answer["payCode"] == fincra.payments["dep-1"]["reference"]
    assert answer["link"] == f"{fincra.url}/pay/{answer['payCode']}"  # FinCra's: checkout.fincra.com/pay/<payCode>
    [request] = sent(fincra, contract.CHECKOUT_PATH)
    assert f'"amount":{amount},'.encode() in request["raw"]  # a JSON number, exactly as the Decimal
    body = request["body"]
    assert body["paymentMethods"] == methods and body["feeBearer"] == "business"
    assert "redirectUrl" not in body  # unset: omitted, never ""
    assert fs.errors(CHECKOUT, body, "InitiatePaymentRequest") == []
    assert fs.unknown_keys(body, CHECKOUT, "InitiatePaymentRequest") == set()
    assert fs.unknown_keys(body["customer"], CHECKOUT, "Customer") == set()


@pytest.mark.parametrize("redirect", [None, ""])
def test_an_unset_redirect_url_is_omitted_and_a_set_one_is_sent(fincra, client, redirect):
    checkout(client, reference="a", redirect_url=redirect)
    checkout(client, reference="b", redirect_url="https://amani.example/funded")
    first, second = sent(fincra, contract.CHECKOUT_PATH)
    assert "redirectUrl" not in first["body"]
    assert second["body"]["redirectUrl"] == "https://amani.example/funded"


def test_the_client_refuses_what_fincras_contract_refuses_and_sends_nothing(fincra, client):
    with pytest.raises(contract.ContractViolation) as refused:
        checkout(client, customer_name="Ada", currency="EGP")
    assert set(refused.value.problems) == {"full_name", "currency"}
    with pytest.raises(contract.ContractViolation) as refused:
        payout(client, bank={**BANK, "account_number": "123456789"})
    assert set(refused.value.problems) == {"bank_account.account_number"}
    with pytest.raises(contract.ContractViolation):
        client.create_payout(amount=Decimal("10.00"), currency="USD", customer_reference="x", description="d",
                             bank_account=BANK, account_name="Ada Seller")
    assert fincra.requests == []


def test_a_repeated_checkout_reference_is_a_duplicate_not_a_new_checkout(fincra, client):
    first = checkout(client)
    with pytest.raises(DuplicateReference) as duplicate:
        checkout(client)
    assert (duplicate.value.status, duplicate.value.error_type) == (409, "CONFLICT")
    assert duplicate.value.message == "Duplicate payment reference"
    assert len(fincra.payments) == 1
    record = client.get_checkout("dep-1")  # the recovery: look it up, reuse its pay code
    assert record["reference"] == first["payCode"] and record["merchantReference"] == "dep-1"


def test_the_merchant_reference_lookup_is_fincras_payment_without_amount_received(fincra, client):
    checkout(client)
    pending = client.get_checkout("dep-1")
    assert pending["status"] == "pending" and pending["amount"] == Decimal("1000.00")
    fincra.pay("dep-1")
    paid = client.get_checkout("dep-1")
    assert paid["status"] == contract.PAYMENT_SUCCESS
    assert "amountReceived" not in paid and "amountToSettle" not in paid
    assert client.get_checkout("never-opened") is None
    status, answer = raw(fincra, "GET", contract.CHECKOUT_BY_MERCHANT_REFERENCE_PATH.format(reference="dep-1"))
    assert status == 200 and fs.errors(CHECKOUT, answer, ref=fs.response_ref(
        CHECKOUT, "/payments/merchant-reference/{merchantReference}", "get", "200")) == []


@pytest.mark.parametrize(("change", "says"), [
    ({"amount": "1000.00"}, "amount must be a number"),
    ({"amount": Decimal("0.50")}, "amount must not be less than 1"),
    ({"customer": {"name": "Ada", "email": "ada@example.com"}}, "customer.name must contain a space"),
    ({"paymentMethods": ["bank_transfer"]}, "bank_transfer is not available for USD"),
    ({"paymentMethods": ["card", "eft"]}, "eft is not available for USD"),
    ({"redirectUrl": ""}, "redirectUrl must be a URL address"),
    ({"currency": "CAD"}, "currency must be one of"),
    ({"feeBearer": "platform"}, "feeBearer must be one of"),
    ({"customer": None}, "customer must be a object"),
])
def test_the_simulator_refuses_checkouts_as_fincra_does(fincra, change, says):
    body = {"amount": Decimal("1000.00"), "currency": "USD", "reference": "dep-1", "feeBearer": "business",
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}, "paymentMethods": ["card"], **change}
    status, answer = raw(fincra, "POST", contract.CHECKOUT_PATH, body)
    assert status == 400 and any(says in message for message in answer["message"]), answer
    assert fs.errors(CHECKOUT, answer, ref=fs.response_ref(CHECKOUT, "/payments", "post", "400")) == []
    assert fincra.payments == {}


def test_unknown_checkout_keys_are_stripped_like_fincras_whitelist(fincra):
    body = {"amount": 5000, "currency": "NGN", "customer": {"name": "Amara Okeke", "email": "amara@example.com"},
            "reference": "dep-9", "successMessage": "thanks", "platform": "amani"}
    status, answer = raw(fincra, "POST", contract.CHECKOUT_PATH, body)
    assert status == 201 and fs.errors(CHECKOUT, answer, ref=fs.response_ref(CHECKOUT, "/payments", "post", "201")) == []
    assert "successMessage" not in fincra.payments["dep-9"] and "platform" not in fincra.payments["dep-9"]


def test_the_client_reads_checkout_cores_nestjs_errors(fincra, client):
    with pytest.raises(Rejected) as rejected:
        client._request("POST", contract.CHECKOUT_PATH, body={"amount": Decimal("0.5"), "currency": "USD"},
                        retry=False)
    error = rejected.value
    assert (error.status, error.error_type) == (400, "BAD_REQUEST")
    assert "amount must not be less than 1" in error.message and "customer should not be empty" in error.message


def test_a_failed_charge_and_the_hosted_page(fincra, client):
    page = requests.get(checkout(client)["link"], timeout=5)
    assert page.status_code == 200 and "1000.00 USD" in page.text and "<button" in page.text
    assert requests.post(f"{fincra.url}/_simulator/checkout/dep-1/fail", timeout=5).ok
    assert client.get_checkout("dep-1")["status"] == contract.PAYMENT_FAILED
    assert requests.post(f"{fincra.url}/_simulator/checkout/dep-1/pay", timeout=5).status_code == 409


# --- payouts ---

def test_an_ngn_payout_sends_fincras_fields_and_settles(fincra, client):
    answer = payout(client)
    assert answer["status"] == "processing" and answer["customerReference"] == "wd-1"
    assert answer["fee"] == Decimal("10.00") and answer["amountCharged"] == Decimal("985.00")
    [request] = sent(fincra, contract.PAYOUT_PATH)
    body = request["body"]
    assert b'"amount":975.00,' in request["raw"]
    assert fs.errors(DISBURSEMENTS, body, "CreatePayoutRequest") == []
    assert fs.unknown_keys(body, DISBURSEMENTS, "CreatePayoutRequest") == set()
    assert fs.unknown_keys(body["beneficiary"], DISBURSEMENTS, "Beneficiary") == set()
    assert body["beneficiary"] == {"type": "individual", "firstName": "Ada", "lastName": "Seller",
                                   "accountHolderName": "Ada Seller", "accountNumber": "0123456789",
                                   "bankCode": "058", "country": "NG"}
    assert "paymentScheme" not in body  # payouts/nigeria.mdx: "No payment scheme required"
    deadline = time.monotonic() + 5
    while client.get_payout("wd-1")["status"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_payout("wd-1")["status"] == contract.PAYOUT_SUCCESSFUL
    assert client.get_payout("never-sent") is None
    status, answer = raw(fincra, "GET", contract.PAYOUT_BY_CUSTOMER_REFERENCE_PATH.format(reference="wd-1"))
    assert status == 200 and fs.errors(DISBURSEMENTS, answer, ref=fs.response_ref(
        DISBURSEMENTS, "/payouts/customer-reference/{merchantReference}", "get", "200")) == []


US_BANK = {"payment_scheme": "ach", "account_number": "000123456789", "routing_number": "021000021",
           "bank_name": "JPMorgan Chase", "account_holder_name": "Ada Seller", "country": "US",
           "address": {"street": "12 Allen Avenue", "city": "Ikeja", "state": "Lagos", "country": "NG"}}
SENDER = {"name": "Amani Escrow Ltd", "type": "corporate", "countryOfIncorporation": "NG",
          "idType": "business_registration_number", "idNumber": "RC1234567", "email": "payouts@amani.example"}
DOCUMENT = "https://amani.example/api/v1/payout-documents/wd-1/?s=abc:def"


def usd_payout(client, reference="wd-1", bank=US_BANK, **changes):
    arguments = {"amount": Decimal("975.00"), "currency": "USD", "customer_reference": reference,
                 "description": "Amani escrow withdrawal", "bank_account": bank, "account_name": "Ada Seller",
                 "sender": SENDER, "document_url": DOCUMENT, **changes}
    return client.create_payout(**arguments)


@pytest.mark.parametrize("scheme", ["ach", "fed_wire"])
def test_a_usd_payout_sends_what_fincra_requires_and_settles(fincra, client, scheme):
    answer = usd_payout(client, bank={**US_BANK, "payment_scheme": scheme})
    assert answer["status"] == "processing" and answer["destinationCurrency"] == "USD"
    [request] = sent(fincra, contract.PAYOUT_PATH)
    body = request["body"]
    assert b'"amount":975.00,' in request["raw"]
    assert fs.errors(DISBURSEMENTS, body, "CreatePayoutRequest") == []  # FinCra's schema, Sender and Address
    assert fs.unknown_keys(body, DISBURSEMENTS, "CreatePayoutRequest") == set()
    assert fs.unknown_keys(body["beneficiary"], DISBURSEMENTS, "Beneficiary") == set()
    assert fs.unknown_keys(body["sender"], DISBURSEMENTS, "Sender") == set()
    assert fs.unknown_keys(body["beneficiary"]["address"], DISBURSEMENTS, "Address") == set()
    # payouts/united-states.mdx: a scheme, the sender, the beneficiary's address and bank; CreatePayoutRequest:
    # customerName and files for destinationCurrency=USD.
    assert body["paymentScheme"] == scheme and body["sender"] == SENDER
    assert body["customerName"] == "Ada Seller" and body["files"] == DOCUMENT
    assert body["beneficiary"] == {
        "type": "individual", "firstName": "Ada", "lastName": "Seller", "accountHolderName": "Ada Seller",
        "accountNumber": "000123456789", "bankCode": "021000021", "bankName": "JPMorgan Chase", "country": "US",
        "address": {"street": "12 Allen Avenue", "city": "Ikeja", "state": "Lagos", "country": "NG"}}
    assert contract.payout_body_problems(contract.from_json(request["raw"])) == []
    deadline = time.monotonic() + 5
    while client.get_payout("wd-1")["status"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_payout("wd-1")["status"] == contract.PAYOUT_SUCCESSFUL


@pytest.mark.parametrize(("changes", "field"), [
    ({"bank": {**US_BANK, "payment_scheme": "swift"}}, "bank_account.payment_scheme"),
    ({"bank": {**US_BANK, "routing_number": "021000022"}}, "bank_account.routing_number"),
    ({"sender": None}, "sender"),
    ({"sender": {**SENDER, "idNumber": ""}}, "sender.idNumber"),
    ({"document_url": None}, "files"),
    ({"document_url": "/api/v1/payout-documents/wd-1/"}, "files"),  # FinCra must be able to fetch it
])
def test_a_usd_payout_we_cannot_complete_is_refused_before_sending(fincra, client, changes, field):
    with pytest.raises(contract.ContractViolation) as refused:
        usd_payout(client, **changes)
    assert set(refused.value.problems) == {field}
    assert fincra.requests == [] and fincra.payouts == {}


def test_a_repeated_customer_reference_is_a_duplicate_and_pays_once(fincra, client):
    payout(client)
    with pytest.raises(DuplicateReference) as duplicate:
        payout(client)
    error = duplicate.value
    assert (error.status, error.error_type) == (422, contract.DUPLICATE_CUSTOMER_REFERENCE)
    assert error.message == "Cannot continue, Duplicate Customer Reference Passed"
    assert len(fincra.payouts) == 1


def base_payout(**changes):
    body = {"sourceCurrency": "NGN", "destinationCurrency": "NGN", "amount": Decimal("975.00"),
            "business": None, "description": "x", "customerReference": "wd-1", "paymentDestination": "bank_account",
            "beneficiary": {"type": "individual", "firstName": "Ada", "lastName": "Seller",
                            "accountHolderName": "Ada Seller", "accountNumber": "0123456789", "bankCode": "058",
                            "country": "NG"}}
    body.update(changes)
    return body


def usd_body(sender=SENDER, paymentScheme="ach", **beneficiary_changes):  # noqa: N803 - FinCra's field name
    """A valid USD payout body (as test_a_usd_payout_sends_... proves), changed; a None removes a key."""
    beneficiary = {**base_payout()["beneficiary"], "accountNumber": "000123456789", "bankCode": "021000021",
                   "bankName": "JPMorgan Chase", "country": "US", "address": US_BANK["address"],
                   **beneficiary_changes}
    return {"sourceCurrency": "USD", "destinationCurrency": "USD", "paymentScheme": paymentScheme, "sender": sender,
            "customerName": "Ada Seller", "files": DOCUMENT,
            "beneficiary": {key: value for key, value in beneficiary.items() if value is not None}}


@pytest.mark.parametrize(("change", "says"), [
    ({"platform": "amani"}, '"platform" is not allowed'),
    ({"amount": "975.00"}, "amount must be a number"),
    ({"beneficiary": {**base_payout()["beneficiary"], "accountNumber": "123456789"}}, "10-digit NUBAN"),
    ({"beneficiary": {**base_payout()["beneficiary"], "nickname": "x"}}, '"beneficiary.nickname" is not allowed'),
    ({"sourceCurrency": "USD", "destinationCurrency": "USD"}, '"customerName" is required'),
    ({"sourceCurrency": "USD", "destinationCurrency": "USD"}, '"files" is required'),
    ({"sourceCurrency": "USD", "destinationCurrency": "USD"}, '"paymentScheme" is required'),
    ({"sourceCurrency": "GBP", "destinationCurrency": "GBP"}, '"sender" is required'),
    (usd_body(sender={"name": "Amani Escrow Ltd", "type": "corporate"}), '"sender.countryOfIncorporation" is required'),
    (usd_body(sender={**SENDER, "idNumber": ""}), '"sender.idNumber" is required'),  # payouts/united-states.mdx
    (usd_body(sender={**SENDER, "idType": "library_card"}), '"sender.idType" must be one of'),
    (usd_body(bankName=None), '"beneficiary.bankName" is required'),  # payouts/united-states.mdx
    (usd_body(address=None), '"beneficiary.address" is required'),
    (usd_body(address={"city": "Ikeja"}), '"beneficiary.address.street" is required'),  # Address.required
    (usd_body(paymentScheme="sepa"), '"paymentScheme" must be one of ach, fed_wire, swift for USD'),
    ({"sourceCurrency": "GBP", "destinationCurrency": "GBP"}, '"beneficiary.sortCode" is required'),
    ({"sourceCurrency": "UGX", "destinationCurrency": "UGX", "amount": Decimal("975.50")},
     '"amount" must be an integer for UGX'),
    ({"business": "short"}, '"business" length must be 24'),
])
def test_the_simulator_refuses_payouts_as_fincra_does(fincra, change, says):
    before = dict(fincra.wallets)
    status, answer = raw(fincra, "POST", contract.PAYOUT_PATH, {**base_payout(business=fincra.business_id), **change})
    assert status == 422 and answer["errorType"] == "VALIDATION_FAILED" and says in " ".join(answer["errors"]), answer
    assert fs.errors(DISBURSEMENTS, answer, ref=fs.response_ref(DISBURSEMENTS, "/payouts", "post", "422")) == []
    assert fincra.payouts == {} and fincra.wallets == before


def test_the_usd_body_those_refusals_start_from_is_accepted(fincra):
    status, answer = raw(fincra, "POST", contract.PAYOUT_PATH, {**base_payout(business=fincra.business_id),
                                                                **usd_body()})
    assert status == 200 and answer["data"]["status"] == "processing", answer
    assert fs.errors(DISBURSEMENTS, {**base_payout(business=fincra.business_id), **usd_body()},
                     "CreatePayoutRequest") == []


def test_another_business_is_access_denied(fincra, client):
    status, answer = raw(fincra, "POST", contract.PAYOUT_PATH, base_payout(business="f" * 24))
    assert (status, answer["errorType"]) == (403, "ACCESS_DENIED") and fincra.payouts == {}
    assert fs.errors(DISBURSEMENTS, answer, ref=fs.response_ref(DISBURSEMENTS, "/payouts", "post", "403")) == []


def test_a_payout_the_wallet_cannot_cover_is_rejected_with_fincras_error_type(fincra, client):
    fincra.set_balance("NGN", "980.00")  # 975 + a 10.00 fee does not fit
    with pytest.raises(Rejected) as rejected:
        payout(client)
    error = rejected.value
    assert not isinstance(error, DuplicateReference)
    assert (error.status, error.error_type) == (422, "NO_ENOUGH_MONEY_IN_WALLET")
    assert "enough money" in error.message
    assert fincra.payouts == {} and client.wallet_balances()["NGN"] == Decimal("980.00")


# --- account names and the wallet ---

def test_resolve_returns_fincras_account_name(fincra, client):
    fincra.register_account(account_number="0123456789", bank_code="058", account_name="ADA  SELLER")
    assert client.resolve_account(account_number="0123456789", bank_code="058", currency="NGN") == "ADA SELLER"
    assert client.resolve_account(account_number="0987654321", bank_code="044", currency="NGN") == \
        DEFAULT_ACCOUNT_NAME
    for request in sent(fincra, contract.RESOLVE_ACCOUNT_PATH):
        assert fs.errors(CORE, request["body"], "ResolveAccountRequest") == []
    status, answer = raw(fincra, "POST", contract.RESOLVE_ACCOUNT_PATH,
                         {"currency": "NGN", "type": "nuban", "accountNumber": "0123456789", "bankCode": "058"})
    assert status == 200 and fs.errors(CORE, answer, ref=fs.response_ref(CORE, "/accounts/resolve", "post", "200")) == []


def test_an_account_fincra_cannot_resolve_is_rejected(fincra, client):
    with pytest.raises(Rejected) as rejected:
        client.resolve_account(account_number="1111111111", bank_code="058", currency="NGN")
    assert (rejected.value.status, rejected.value.error_type) == (422, "UNPROCESSABLE_ENTITY")
    assert "could not be resolved" in rejected.value.message
    status, answer = raw(fincra, "POST", contract.RESOLVE_ACCOUNT_PATH,
                         {"currency": "NGN", "accountNumber": "123456789", "bankCode": "058", "name": "x"})
    assert (status, answer["errorType"]) == (422, "VALIDATION_FAILED")
    assert '"name" is not allowed' in answer["errors"]
    assert fs.errors(CORE, answer, ref=fs.response_ref(CORE, "/accounts/resolve", "post", "422")) == []
    with pytest.raises(contract.ContractViolation):
        client.resolve_account(account_number="0123456789", bank_code="058", currency="USD")


def test_wallet_balances_follow_collections_and_payouts(fincra, client):
    fincra.set_balance("NGN", "0.00")
    assert client.wallet_balances()["NGN"] == Decimal("0.00")
    checkout(client, currency="NGN", amount="2000.00")
    settled = fincra.pay("dep-1")
    assert settled["fee"] == Decimal("30.00") and settled["amountToSettle"] == Decimal("1970.00")
    assert client.wallet_balances()["NGN"] == Decimal("1970.00")
    payout(client, amount="975.00")
    assert client.wallet_balances()["NGN"] == Decimal("985.00")  # 1970 - (975 + 10 fee)
    payout(client, reference="wd-2", amount="100.00", bank={**BANK, "account_number": "0000000000"})
    deadline = time.monotonic() + 5
    while fincra.payouts["wd-2"]["status"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.wallet_balances()["NGN"] == Decimal("985.00")  # a failed payout gives amount + fee back
    assert all(isinstance(balance, Decimal) for balance in client.wallet_balances().values())
    [request, *_] = sent(fincra, contract.WALLETS_PATH)
    assert request["query"] == {contract.WALLETS_BUSINESS_PARAMETER: fincra.business_id}


# --- failures ---

def test_a_lookup_is_retried_then_unavailable(fincra, client):
    switch(fincra, error_rate=1.0)
    with pytest.raises(Unavailable):
        client.get_checkout("dep-1")
    assert len(sent(fincra, contract.CHECKOUT_BY_MERCHANT_REFERENCE_PATH.format(reference="dep-1"))) == 3


@pytest.mark.parametrize("failure", [{"error_rate": 1.0}, {"drop_answer": True}, {"latency": 1.5}])
def test_a_lost_payout_answer_is_unknown_never_retried_and_a_resubmission_finds_it(fincra, client, failure):
    switch(fincra, **failure)
    with pytest.raises(OutcomeUnknown):
        payout(client)
    assert len(sent(fincra, contract.PAYOUT_PATH)) == 1  # not retried
    time.sleep(float(failure.get("latency", 0)))
    assert "wd-1" in fincra.payouts  # FinCra acted
    switch(fincra, error_rate=0.0, drop_answer=False, latency=0)
    with pytest.raises(DuplicateReference):  # re-submitting the same customerReference is safe
        payout(client)
    assert len(fincra.payouts) == 1


def test_a_lost_checkout_answer_is_unknown_and_the_lookup_recovers_it(fincra, client):
    switch(fincra, drop_answer=True)
    with pytest.raises(OutcomeUnknown):
        checkout(client)
    switch(fincra, drop_answer=False)
    with pytest.raises(DuplicateReference):
        checkout(client)
    assert client.get_checkout("dep-1")["reference"] == fincra.payments["dep-1"]["reference"]


def test_wrong_keys_are_refused_like_fincra(fincra):
    wrong = FincraClient(base_url=fincra.url, secret_key="wrong", public_key="wrong", business_id="y" * 24,
                         timeout=1)
    with pytest.raises(Unauthorized):
        payout(wrong)
    with pytest.raises(Unauthorized):
        checkout(wrong)
    with pytest.raises(Unauthorized):
        wrong.wallet_balances()
    with pytest.raises(Unavailable):  # checkout-core's BusinessIdAuth: an unknown business is 503
        wrong.get_checkout("dep-1")
    assert fincra.payments == {} and fincra.payouts == {}


def test_keys_are_never_logged(fincra, client, caplog):
    caplog.set_level(logging.DEBUG)
    switch(fincra, error_rate=1.0)
    with pytest.raises(Unavailable):
        client.get_payout("wd-1")
    with pytest.raises(OutcomeUnknown):
        payout(client)
    assert caplog.records  # something was logged (urllib3, the client's warning)...
    assert fincra.secret_key not in caplog.text and fincra.public_key not in caplog.text  # ...but no key


# --- webhooks ---

class Receiver:
    """A merchant endpoint on 127.0.0.1: records what arrives, answers as told (status, delay)."""

    def __init__(self):
        self.received, self.answers = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append((dict(self.headers), body))
                status, delay = receiver.answers.pop(0) if receiver.answers else (200, 0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/fincra/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(fincra):
    endpoint = Receiver()
    fincra.webhook_url = endpoint.url
    yield endpoint
    endpoint.stop()


def verified(fincra, headers, body) -> dict:
    expected = hmac.new(fincra.webhook_secret.encode(), body, hashlib.sha512).hexdigest()
    assert hmac.compare_digest(headers[contract.SIGNATURE_HEADER], expected)
    return contract.from_json(body)


def test_charge_webhooks_carry_fincras_envelope_and_fees(fincra, client, receiver):
    checkout(client, currency="NGN", amount="2000.00")
    fincra.pay("dep-1", amount="1999.00")  # an underpayment: amountReceived says so
    checkout(client, reference="dep-2", currency="NGN")
    fincra.fail_checkout("dep-2")
    (headers, body), (failed_headers, failed_body) = receiver.received
    event = verified(fincra, headers, body)
    assert fs.errors(CHECKOUT, event, "ChargeWebhookEvent") == []
    assert (event["event"], event["type"]) == ("charge.successful", "charge")
    data = event["data"]
    assert data["merchantReference"] == "dep-1" and data["reference"] == fincra.payments["dep-1"]["reference"]
    assert (data["amount"], data["amountReceived"], data["fee"], data["amountToSettle"]) == (
        Decimal("2000.00"), Decimal("1999.00"), Decimal("30.00"), Decimal("1969.00"))
    failed = verified(fincra, failed_headers, failed_body)
    assert fs.errors(CHECKOUT, failed, "ChargeWebhookEvent") == []
    assert failed["event"] == "charge.failed" and "amountReceived" not in failed["data"]
    assert [d["acknowledged"] for d in fincra.deliveries] == [True, True]


def test_payout_webhooks_carry_fincras_envelope_fee_and_amount_charged(fincra, client, receiver):
    payout(client)
    payout(client, reference="wd-2", bank={**BANK, "account_number": "0000000000"})
    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = {event["data"]["customerReference"]: event for event in
              (verified(fincra, headers, body) for headers, body in receiver.received)}
    for event in events.values():
        assert fs.errors(DISBURSEMENTS, event, "PayoutWebhookEvent") == []
        assert event["type"] == "disbursement" and event["business"] == fincra.business_id
    assert events["wd-1"]["event"] == "payout.successful" and events["wd-2"]["event"] == "payout.failed"
    data = events["wd-1"]["data"]
    assert (data["fee"], data["amountCharged"], data["amountReceived"]) == (
        Decimal("10.00"), Decimal("985.00"), Decimal("975.00"))
    assert events["wd-2"]["data"]["reason"]


def test_a_slow_endpoint_is_not_acknowledged_and_not_retried(fincra, client, receiver):
    assert fincra.config["webhook_timeout"] == contract.WEBHOOK_TIMEOUT_SECONDS == 10
    switch(fincra, webhook_timeout=0.5)
    receiver.answers = [(200, 1.5)]
    checkout(client)
    fincra.pay("dep-1")
    time.sleep(1.0)
    [delivery] = fincra.deliveries
    assert delivery["acknowledged"] is False and delivery["status"] is None and delivery["error"] == "ReadTimeout"
    assert 0.5 <= delivery["seconds"] < 1.5
    assert len(receiver.received) == 1  # never sent again
    assert fincra.sent_webhooks == [json.loads(delivery["raw"])]


def test_deliveries_are_retried_only_when_switched_on(fincra, client, receiver):
    switch(fincra, retry_webhooks=True, retry_delays=[0.1, 0.1])
    receiver.answers = [(500, 0), (503, 0), (200, 0)]
    checkout(client)
    fincra.pay("dep-1")
    deadline = time.monotonic() + 5
    while len(fincra.deliveries) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(d["attempt"], d["status"], d["acknowledged"]) for d in fincra.deliveries] == [
        (1, 500, False), (2, 503, False), (3, 200, True)]
    assert len({body for _, body in receiver.received}) == 1  # the same bytes each time
