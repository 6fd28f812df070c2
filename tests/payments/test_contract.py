"""escrow/payments/contract.py against FinCra's published OpenAPI files (vendored in
tests/payments/fincra_openapi/): each constant that copies FinCra's contract must equal what the files
say, so a change on FinCra's side (a new vendored copy) or a slip here fails a test. Then the helpers
the services call to refuse bad input before FinCra sees it."""

import re
from decimal import Decimal

import pytest

from escrow.payments import contract
from tests.payments import fincra_spec as fs
from tests.payments.fincra_spec import CHECKOUT, CORE, DISBURSEMENTS, NOTIFICATIONS, WALLETS


def enum(name, component):
    return set(fs.schema(name, component)["enum"])


def properties(name, component):
    return fs.schema(name, component)["properties"]


def simple_type(name: str, definition: dict) -> str:
    """The JSON type of a property: its `type`, or the type of the component an allOf/$ref names."""
    if "type" in definition:
        return definition["type"]
    refs = [part["$ref"] for part in definition.get("allOf", [])] + ([definition["$ref"]] if "$ref" in definition else [])
    if refs:
        return simple_type(name, fs.schema(name, refs[0].rsplit("/", 1)[1]))
    return "any"


def types(name: str, component: str) -> dict:
    return {key: simple_type(name, value) for key, value in properties(name, component).items()}


# --- paths and authentication ---

@pytest.mark.parametrize(("constant", "service", "route", "method"), [
    (contract.CHECKOUT_PATH, CHECKOUT, "/payments", "post"),
    (contract.CHECKOUT_BY_MERCHANT_REFERENCE_PATH, CHECKOUT, "/payments/merchant-reference/{merchantReference}", "get"),
    (contract.PAYOUT_PATH, DISBURSEMENTS, "/payouts", "post"),
    (contract.PAYOUT_BY_CUSTOMER_REFERENCE_PATH, DISBURSEMENTS, "/payouts/customer-reference/{merchantReference}",
     "get"),
    (contract.RESOLVE_ACCOUNT_PATH, CORE, "/accounts/resolve", "post"),
])
def test_each_path_is_the_services_gateway_prefix_and_a_documented_route(constant, service, route, method):
    assert method in fs.spec(service)["paths"][route]
    assert constant == fs.server_prefix(service) + route.replace("{merchantReference}", "{reference}")


def test_the_wallets_path_is_the_wallets_service_root():
    # fincra-wallets.yaml documents no balance route: its description says the balance primitives sit at
    # `/` of the service and take the business id as a parameter (docs/payments.md (FinCra's contract), gaps).
    assert contract.WALLETS_PATH == fs.server_prefix(WALLETS)
    assert "mounted at `/`" in fs.spec(WALLETS)["info"]["description"]


def test_authentication_headers_are_fincras():
    checkout = fs.spec(CHECKOUT)["components"]["securitySchemes"]
    assert checkout["PubKeyAuth"]["name"] == contract.HEADER_PUBLIC_KEY
    assert checkout["BusinessIdAuth"]["name"] == contract.HEADER_BUSINESS_ID
    assert fs.spec(CHECKOUT)["paths"]["/payments"]["post"]["security"] == [{"PubKeyAuth": []}]
    for service in (DISBURSEMENTS, CORE, WALLETS):
        assert fs.spec(service)["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == contract.HEADER_SECRET_KEY
    business = fs.spec(DISBURSEMENTS)["components"]["parameters"]["BusinessQuery"]["schema"]
    assert business["minLength"] == business["maxLength"] == contract.BUSINESS_ID_LENGTH
    assert properties(DISBURSEMENTS, "CreatePayoutRequest")["business"]["minLength"] == contract.BUSINESS_ID_LENGTH


# --- checkout ---

def test_checkout_enums_are_fincras():
    assert contract.CHECKOUT_CURRENCIES == enum(CHECKOUT, "Currency")
    assert contract.CHARGE_TYPES == enum(CHECKOUT, "ChargeType")
    assert contract.FEE_BEARERS == enum(CHECKOUT, "FeeBearer") and contract.FEE_BEARER in contract.FEE_BEARERS
    assert contract.SETTLEMENT_DESTINATIONS == enum(CHECKOUT, "SettlementDestination")
    assert contract.SETTLEMENT_TIMES == enum(CHECKOUT, "SettlementTime")


def test_the_checkout_request_fields_required_and_types_are_fincras():
    request = fs.schema(CHECKOUT, "InitiatePaymentRequest")
    assert tuple(request["required"]) == contract.CHECKOUT_REQUIRED
    assert types(CHECKOUT, "InitiatePaymentRequest") == contract.CHECKOUT_FIELDS
    assert request["properties"]["amount"] == {**request["properties"]["amount"], "type": "number", "minimum": 1}
    assert Decimal(request["properties"]["amount"]["minimum"]) == contract.CHECKOUT_MINIMUM_AMOUNT
    assert request["properties"]["redirectUrl"]["format"] == "uri"
    assert "whitelist:true" in request["description"]  # unknown keys are stripped, not refused
    customer = fs.schema(CHECKOUT, "Customer")
    assert tuple(customer["required"]) == contract.CUSTOMER_REQUIRED
    assert {key: value["type"] for key, value in customer["properties"].items()} == contract.CUSTOMER_FIELDS
    assert "must contain a space" in customer["properties"]["name"]["description"]


def test_payment_methods_per_currency_agree_with_fincras_availability_map():
    described = fs.schema(CHECKOUT, "Currency")["description"]
    # "(e.g. NGN: card/bank_transfer/payattitude/palmpay; USD: card; GBP/EUR: eft; ZAR: card/eft/bank_transfer)"
    listed = {}
    for currencies, methods in re.findall(r"([A-Z]{3}(?:/[A-Z]{3})*): ([a-z_/]+)", described):
        for currency in currencies.split("/"):
            listed[currency] = set(methods.split("/"))
    assert set(listed) == {"NGN", "USD", "GBP", "EUR", "ZAR"}
    for currency, methods in contract.PAYMENT_METHODS.items():
        assert currency in contract.CHECKOUT_CURRENCIES
        assert set(methods) <= contract.CHARGE_TYPES
        if currency in listed:
            assert set(methods) <= listed[currency], currency  # never a method FinCra's map lacks
    for currency in ("NGN", "USD", "GBP", "EUR"):
        assert set(contract.PAYMENT_METHODS[currency]) == listed[currency]
    # The guide's table (payments/hosted-payment-page.mdx) for the rest; USD is card only.
    assert contract.payment_methods("USD") == ("card",)
    for currency in ("KES", "GHS", "UGX", "TZS", "XAF", "XOF"):
        assert contract.payment_methods(currency) == ("mobile_money",)


def test_the_payment_lookup_has_no_amount_received():
    payment = properties(CHECKOUT, "Payment")
    assert set(contract.PAYMENT_FIELDS) <= set(payment)
    assert "amountReceived" not in payment and "amountToSettle" not in payment
    for status in contract.PAYMENT_STATUSES:
        assert status in payment["status"]["description"]


def test_a_duplicate_checkout_reference_is_fincras_409():
    catalog = {entry["errorType"]: entry["status"] for entry in fs.error_catalog(CHECKOUT, "/payments", "post")}
    assert catalog["CONFLICT"] == contract.DUPLICATE_CHECKOUT_STATUS == 409
    assert "CONFLICT" in contract.DUPLICATE_CHECKOUT_ERROR_TYPES
    assert contract.CHECKOUT_ERROR_TYPES == enum(CHECKOUT, "ErrorType")
    assert "space" in next(e["trigger"] for e in fs.error_catalog(CHECKOUT, "/payments", "post")
                           if e["errorType"] == "BAD_REQUEST")


# --- payouts ---

def test_the_payout_request_fields_required_and_types_are_fincras():
    request = fs.schema(DISBURSEMENTS, "CreatePayoutRequest")
    assert tuple(request["required"]) == contract.PAYOUT_REQUIRED
    declared = types(DISBURSEMENTS, "CreatePayoutRequest")
    declared["beneficiary"] = "object"  # oneOf Beneficiary | CryptoBeneficiary
    assert declared == contract.PAYOUT_FIELDS
    assert "Unknown keys are rejected" in request["description"]
    for field in ("customerName", "files"):  # "for destinationCurrency=USD, customerName and files are required"
        assert "USD" in request["properties"][field]["description"]
        assert field in contract.PAYOUT_RULES["USD"]["body"]
    assert "quoteReference" in request["description"]


def test_zero_decimal_currencies_are_fincras():
    described = properties(DISBURSEMENTS, "CreatePayoutRequest")["amount"]["description"]
    assert set(re.search(r"\(([A-Z, ]+)\)", described).group(1).split(", ")) == contract.ZERO_DECIMAL_CURRENCIES


def test_beneficiary_sender_and_enums_are_fincras():
    beneficiary = fs.schema(DISBURSEMENTS, "Beneficiary")
    assert tuple(beneficiary["required"]) == contract.BENEFICIARY_REQUIRED
    assert types(DISBURSEMENTS, "Beneficiary") == contract.BENEFICIARY_FIELDS
    assert "NUBAN is 10 digits" in beneficiary["properties"]["accountNumber"]["description"]
    assert tuple(fs.schema(DISBURSEMENTS, "Sender")["required"]) == contract.SENDER_REQUIRED
    assert contract.BENEFICIARY_TYPES == enum(DISBURSEMENTS, "BeneficiaryType")
    assert contract.PAYMENT_DESTINATIONS == enum(DISBURSEMENTS, "PaymentDestination")
    assert contract.PAYMENT_SCHEMES == enum(DISBURSEMENTS, "PaymentScheme")
    assert contract.PAYOUT_STATUSES == enum(DISBURSEMENTS, "PayoutStatus")
    for rules in contract.PAYOUT_RULES.values():
        assert set(rules["schemes"]) <= contract.PAYMENT_SCHEMES
        assert set(rules["body"]) <= set(contract.PAYOUT_FIELDS)
        assert set(rules["beneficiary"]) <= set(contract.BENEFICIARY_FIELDS)
    assert set(contract.SUPPORTED_PAYOUTS.values()) <= contract.PAYMENT_DESTINATIONS


def test_payout_error_types_and_the_duplicate_customer_reference_are_fincras():
    assert contract.PAYOUT_ERROR_TYPES == enum(DISBURSEMENTS, "ErrorType")
    catalog = {entry["errorType"]: entry["status"] for entry in fs.error_catalog(DISBURSEMENTS, "/payouts", "post")}
    assert catalog[contract.DUPLICATE_CUSTOMER_REFERENCE] == 422
    assert contract.PAYOUT_NOT_CREATED_ERROR_TYPES <= contract.PAYOUT_ERROR_TYPES
    assert contract.DUPLICATE_CUSTOMER_REFERENCE not in contract.PAYOUT_NOT_CREATED_ERROR_TYPES
    assert set(fs.schema(DISBURSEMENTS, "ErrorResponse")["required"]) == {"success", "error", "errorType"}
    assert contract.PAYOUT_SUCCESSFUL in fs.schema(DISBURSEMENTS, "PayoutStatus")["description"]


def test_account_resolution_is_fincras():
    request = fs.schema(CORE, "ResolveAccountRequest")
    assert set(request["properties"]) == set(contract.RESOLVE_FIELDS)
    assert set(request["properties"]["currency"]["enum"]) == contract.RESOLVE_CURRENCIES
    assert set(request["properties"]["type"]["enum"]) == contract.RESOLVE_TYPES
    bank_code = request["properties"]["bankCode"]
    assert contract.NG_BANK_CODE.pattern == rf"\d{{{bank_code['minLength']},{bank_code['maxLength']}}}"
    assert "exactly 10 digits" in request["properties"]["accountNumber"]["description"]
    assert "Unknown keys are rejected" in request["description"]
    assert contract.RESOLVED_NAME_FIELD in properties(CORE, "ResolvedAccount")


# --- webhooks ---

def test_webhook_events_and_envelopes_are_fincras():
    charge = fs.schema(CHECKOUT, "ChargeWebhookEvent")
    assert tuple(charge["required"]) == contract.WEBHOOK_ENVELOPE
    assert set(charge["properties"]["event"]["enum"]) == contract.CHARGE_EVENTS
    assert charge["properties"]["type"]["enum"] == [contract.WEBHOOK_TYPES["charge"]]
    assert "amountToSettle" in charge["properties"]["data"]["description"]
    payout = fs.schema(DISBURSEMENTS, "PayoutWebhookEvent")
    assert set(payout["properties"]["event"]["enum"]) == contract.PAYOUT_EVENTS
    assert {contract.PAYOUT_SUCCESSFUL_EVENT, contract.PAYOUT_FAILED_EVENT} <= contract.PAYOUT_EVENTS
    assert set(contract.PAYOUT_DATA_FIELDS) <= set(properties(DISBURSEMENTS, "Payout"))
    assert set(fs.spec(CHECKOUT)["webhooks"]) == contract.CHARGE_EVENTS


def test_the_webhook_deadline_and_retry_policy_are_fincras():
    retry = fs.schema(NOTIFICATIONS, "WebhookRetryConfig")
    assert "(default 10)" in retry["properties"]["timeoutSeconds"]["description"]
    example = fs.spec(NOTIFICATIONS)["paths"]["/webhooks/outgoing/retry-config"]["get"]["responses"]["200"][
        "content"]["application/json"]["example"]["data"]
    assert example["timeoutSeconds"] == contract.WEBHOOK_TIMEOUT_SECONDS
    assert tuple(ms // 1000 for ms in example["scheduleMs"]) == contract.WEBHOOK_RETRY_SCHEDULE_SECONDS
    assert "opted into auto-retry" in fs.spec(NOTIFICATIONS)["info"]["description"]


# --- the helpers the services call ---

def test_collectable_currencies():
    assert contract.is_collectable("USD") and contract.is_collectable("NGN")
    assert not contract.is_collectable("CAD")  # not in FinCra's checkout enum
    assert not contract.is_collectable("EGP")  # in the enum, but no documented method
    assert contract.payment_methods("CAD") == ()


@pytest.mark.parametrize(("changes", "field"), [
    ({"customer_name": "Ada"}, "full_name"),
    ({"customer_name": "  Ada  "}, "full_name"),
    ({"customer_name": None}, "full_name"),
    ({"customer_email": "ada"}, "email"),
    ({"currency": "CAD"}, "currency"),
    ({"currency": "EGP"}, "currency"),
    ({"amount": Decimal("0.99")}, "amount"),
    ({"amount": Decimal("10.001")}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"currency": "UGX", "amount": Decimal("1000.50")}, "amount"),
    ({"redirect_url": "not a url"}, "redirect_url"),
    ({"redirect_url": "ftp://example.com/x"}, "redirect_url"),
])
def test_checkout_problems_name_the_field(changes, field):
    good = {"amount": Decimal("1000.00"), "currency": "USD", "customer_name": "Ada Lovelace",
            "customer_email": "ada@example.com", "redirect_url": "https://amani.example/paid"}
    assert contract.checkout_problems(**good) == {}
    assert contract.checkout_problems(**{**good, "redirect_url": None}) == {}
    assert contract.checkout_problems(**{**good, "redirect_url": ""}) == {}
    assert set(contract.checkout_problems(**{**good, **changes})) == {field}


NGN_BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


@pytest.mark.parametrize(("currency", "bank", "field"), [
    ("EUR", NGN_BANK, "currency"),
    ("GBP", NGN_BANK, "currency"),
    ("NGN", None, "bank_account"),
    ("NGN", {**NGN_BANK, "account_number": "123456789"}, "bank_account.account_number"),
    ("NGN", {**NGN_BANK, "account_number": "01234567890"}, "bank_account.account_number"),
    ("NGN", {**NGN_BANK, "account_number": "01234S6789"}, "bank_account.account_number"),
    ("NGN", {**NGN_BANK, "bank_code": "58"}, "bank_account.bank_code"),
    ("NGN", {**NGN_BANK, "bank_code": ""}, "bank_account.bank_code"),
    ("NGN", {**NGN_BANK, "country": "GH"}, "bank_account.country"),
    ("NGN", {key: value for key, value in NGN_BANK.items() if key != "account_holder_name"},
     "bank_account.account_holder_name"),
    ("NGN", {**NGN_BANK, "iban": "DE89370400440532013000"}, "bank_account.iban"),
])
def test_payout_destination_problems_name_the_field(currency, bank, field):
    assert contract.payout_destination_problems("NGN", NGN_BANK) == {}
    problems = contract.payout_destination_problems(currency, bank)
    assert set(problems) == {field} and problems[field]


US_ADDRESS = {"street": "55 Water St", "city": "New York", "state": "NY", "zip": "10041", "country": "US"}
US_BANK = {"payment_scheme": "ach", "account_number": "000123456789", "routing_number": "021000021",
           "bank_name": "JPMorgan Chase", "account_holder_name": "Ada Seller", "country": "US", "address": US_ADDRESS}


def without(mapping: dict, key: str) -> dict:
    return {name: value for name, value in mapping.items() if name != key}


@pytest.mark.parametrize(("bank", "field"), [
    ({**US_BANK, "payment_scheme": "swift"}, "bank_account.payment_scheme"),  # FinCra's, not ours
    ({**US_BANK, "payment_scheme": "sepa"}, "bank_account.payment_scheme"),  # not a USD scheme at all
    (without(US_BANK, "payment_scheme"), "bank_account.payment_scheme"),
    ({**US_BANK, "routing_number": "021000022"}, "bank_account.routing_number"),  # check digit wrong
    ({**US_BANK, "routing_number": "02100002"}, "bank_account.routing_number"),  # 8 digits
    ({**US_BANK, "routing_number": "000000000"}, "bank_account.routing_number"),  # sums to 0, but no bank
    (without(US_BANK, "routing_number"), "bank_account.routing_number"),
    ({**US_BANK, "account_number": "123"}, "bank_account.account_number"),
    ({**US_BANK, "account_number": "123456789012345678"}, "bank_account.account_number"),  # 18 digits
    ({**US_BANK, "country": "NG"}, "bank_account.country"),  # ACH/Fedwire reach US accounts only
    (without(US_BANK, "bank_name"), "bank_account.bank_name"),  # payouts/united-states.mdx: bank name
    (without(US_BANK, "address"), "bank_account.address"),
    ({**US_BANK, "address": without(US_ADDRESS, "street")}, "bank_account.address.street"),
    ({**US_BANK, "address": without(US_ADDRESS, "zip")}, "bank_account.address.zip"),  # a US address
    ({**US_BANK, "address": {**US_ADDRESS, "zip": "1004"}}, "bank_account.address.zip"),
    ({**US_BANK, "address": {**US_ADDRESS, "country": "USA"}}, "bank_account.address.country"),
    ({**US_BANK, "address": {**US_ADDRESS, "planet": "Earth"}}, "bank_account.address.planet"),
    ({**US_BANK, "bank_code": "058"}, "bank_account.bank_code"),  # an NGN field
])
def test_usd_payout_destination_problems_name_the_field(bank, field):
    assert contract.payout_destination_problems("USD", US_BANK) == {}
    problems = contract.payout_destination_problems("USD", bank)
    assert set(problems) == {field} and problems[field]


def test_a_holder_living_outside_the_us_needs_no_state_or_zip():
    address = {"street": "12 Allen Avenue", "city": "Ikeja", "country": "NG"}
    assert contract.payout_destination_problems("USD", {**US_BANK, "address": address}) == {}


@pytest.mark.parametrize(("number", "valid"), [
    ("021000021", True), ("011000015", True), ("121000358", True), ("026009593", True),  # published ABAs
    ("021000022", False), ("121000359", False), ("000000000", False), ("02100002a", False), ("0210000210", False),
    (21000021, False),
])
def test_aba_routing_numbers_are_checked_with_their_check_digit(number, valid):
    assert contract.is_aba_routing_number(number) is valid


SENDER = {"name": "Amani Escrow Ltd", "type": "corporate", "countryOfIncorporation": "NG",
          "idType": "business_registration_number", "idNumber": "RC1234567"}


@pytest.mark.parametrize(("sender", "field"), [
    (None, "sender"),
    (without(SENDER, "name"), "sender.name"),
    (without(SENDER, "countryOfIncorporation"), "sender.countryOfIncorporation"),  # Sender: when corporate
    ({**without(SENDER, "countryOfIncorporation"), "type": "individual", "countryOfOrigin": "NGA"},
     "sender.countryOfOrigin"),
    (without(SENDER, "idNumber"), "sender.idNumber"),  # payouts/united-states.mdx
    ({**SENDER, "idType": "library_card"}, "sender.idType"),
    ({**SENDER, "idNumber": "9" * 31}, "sender.idNumber"),  # Sender.idNumber maxLength 30
    ({**SENDER, "email": "not-an-email"}, "sender.email"),
])
def test_sender_problems_follow_fincras_sender(sender, field):
    assert contract.sender_problems(SENDER) == {}
    assert fs.errors(DISBURSEMENTS, SENDER, "Sender") == []
    problems = contract.sender_problems(sender)
    assert set(problems) == {field} and problems[field]


def test_account_names_are_resolved_only_where_fincra_resolves_them():
    assert contract.resolves_account_names("NGN") and not contract.resolves_account_names("USD")
    assert set(fs.schema(CORE, "ResolveAccountRequest")["properties"]["currency"]["enum"]) == \
        contract.RESOLVE_CURRENCIES


def test_payout_problems_check_the_amount_per_currency():
    assert contract.payout_problems(amount=Decimal("975.50"), currency="NGN", bank_account=NGN_BANK) == {}
    assert set(contract.payout_problems(amount=Decimal("975.505"), currency="NGN", bank_account=NGN_BANK)) == {
        "amount"}
    assert set(contract.payout_problems(amount=Decimal("0"), currency="NGN", bank_account=NGN_BANK)) == {"amount"}


def test_json_amounts_are_exact_numbers_and_floats_are_refused():
    body = {"amount": Decimal("12345678901234567.89"), "whole": Decimal("1E+3"), "n": 3, "s": "x", "l": [True, None]}
    text = contract.to_json(body)
    assert text == '{"amount":12345678901234567.89,"whole":1000,"n":3,"s":"x","l":[true,null]}'
    assert contract.from_json(text)["amount"] == Decimal("12345678901234567.89")
    with pytest.raises(TypeError):
        contract.to_json({"amount": 1.5})
    with pytest.raises(ValueError):
        contract.to_json({"amount": Decimal("NaN")})
    assert contract.jsonable(contract.from_json(text)) == {**contract.from_json(text), "amount": "12345678901234567.89"}
    assert contract.money(9750.5) == Decimal("9750.5") and contract.money("10.00") == Decimal("10.00")
    with pytest.raises(ValueError):
        contract.money(None)
