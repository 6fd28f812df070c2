"""FinCra's API contract as data: what the client sends, what the simulator enforces, and what the
services check before they ever call FinCra.

Every entry names the file of FinCra's public repository ``FincraNG/docs`` it follows (OpenAPI files
under ``api-reference/openapi/``, guides under ``payments/``, ``payouts/``, ``webhooks/``, ...). A copy
of the OpenAPI files lives in ``tests/payments/fincra_openapi/`` and ``tests/payments/test_contract.py``
fails when this module and those files disagree. Where FinCra's own documents disagree with each
other, the OpenAPI file (generated from FinCra's code) wins, as FinCra's own
``proposed-guides/RECONCILIATION.md`` says ("spec wins"); each such choice is commented here and
listed in ``docs/payments.md (FinCra's contract)``.

Nothing here talks to the network or the database: plain data and pure functions.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

# --- paths (each service sits behind its gateway prefix: the `servers` URL of its OpenAPI file) ---

# checkout-core.yaml servers `https://sandboxapi.fincra.com/checkout-core` + `/payments`; the guide
# payments/hosted-payment-page.mdx calls `POST /checkout-core/payments` too.
CHECKOUT_PATH = "/checkout-core/payments"
# checkout-core.yaml `GET /payments/merchant-reference/{merchantReference}` (x-business-id).
CHECKOUT_BY_MERCHANT_REFERENCE_PATH = "/checkout-core/payments/merchant-reference/{reference}"
# fincra-disbursements.yaml servers `.../disbursements` + `POST /payouts`.
PAYOUT_PATH = "/disbursements/payouts"
# fincra-disbursements.yaml `GET /payouts/customer-reference/{merchantReference}`.
PAYOUT_BY_CUSTOMER_REFERENCE_PATH = "/disbursements/payouts/customer-reference/{reference}"
# fincra-core.yaml servers `.../core` + `POST /accounts/resolve`; verification/verify-a-beneficiary-account.mdx.
RESOLVE_ACCOUNT_PATH = "/core/accounts/resolve"
# fincra-wallets.yaml servers `.../wallets`: "the wallet balance primitives mounted at `/` ... take the
# business id as a request parameter" (its info.description); wallets/manage-wallets.mdx: `GET /wallets`
# returns "wallet objects with currency, balance". The query name `businessID` and the field
# `availableBalance` are not in FinCra's files (the guide says they "will be documented"): see
# docs/payments.md (FinCra's contract), "gaps".
WALLETS_PATH = "/wallets"
WALLETS_BUSINESS_PARAMETER = "businessID"
WALLET_AVAILABLE_FIELDS = ("availableBalance", "balance")  # first present wins

# --- authentication headers ---

# checkout-core.yaml securitySchemes: POST /payments uses `x-pub-key` (PubKeyAuth), the look-ups use
# `x-business-id` (BusinessIdAuth); fincra-disbursements/core/wallets.yaml use `api-key` (ApiKeyAuth).
# The client sends all three on every call; the simulator checks the one each endpoint uses.
HEADER_SECRET_KEY = "api-key"
HEADER_PUBLIC_KEY = "x-pub-key"
HEADER_BUSINESS_ID = "x-business-id"
# checkout-core.yaml parameters.BusinessIdHeader and fincra-disbursements.yaml BusinessQuery/`business`:
# "The merchant's 24-character Fincra business id".
BUSINESS_ID_LENGTH = 24

# --- collections (checkout) ---

# checkout-core.yaml components.schemas.Currency (the enum `currency` is validated against).
CHECKOUT_CURRENCIES = frozenset({
    "NGN", "USD", "GBP", "EUR", "GHS", "KES", "UGX", "TZS", "ZMW", "EGP", "MZN", "MWK", "ZWL", "GNF",
    "XOF", "XAF", "ZAR", "RWF",
})
# checkout-core.yaml components.schemas.ChargeType.
CHARGE_TYPES = frozenset({
    "card", "bank_transfer", "payattitude", "mobile_money", "apple_pay", "direct_debit", "eft", "palmpay",
    "wallet_transfer",
})
# Payment methods available per currency. Sources: the table "Available values per currency" in
# payments/hosted-payment-page.mdx, and checkout-core.yaml Currency.description ("NGN:
# card/bank_transfer/payattitude/palmpay; USD: card; GBP/EUR: eft; ZAR: card/eft/bank_transfer").
# Where they differ we keep what both allow, so nothing we send is refused by either reading:
# - GBP/EUR: only the OpenAPI file lists them (eft); the guide's table has no row: we follow the file.
# - ZAR: the file adds bank_transfer, the guide (and payments/bank-transfer.mdx: "Bank Transfer via
#   Checkout is currently available for NGN") does not: we keep card, eft.
# Currencies in CHECKOUT_CURRENCIES with no row anywhere (EGP, MZN, MWK, ZWL, GNF, RWF) are not
# collectable by us: we cannot tell which method FinCra would accept.
PAYMENT_METHODS = {
    "NGN": ("card", "bank_transfer", "payattitude", "palmpay"),
    "USD": ("card",),
    "GBP": ("eft",),
    "EUR": ("eft",),
    "ZAR": ("card", "eft"),
    "KES": ("mobile_money",),
    "GHS": ("mobile_money",),
    "UGX": ("mobile_money",),
    "TZS": ("mobile_money",),
    "XAF": ("mobile_money",),
    "XOF": ("mobile_money",),
    "ZMW": ("card", "mobile_money"),
}
# checkout-core.yaml components.schemas.FeeBearer. hosted-payment-page.mdx marks feeBearer
# "Required ... business (default)" while the OpenAPI file has it optional: we always send it.
FEE_BEARERS = frozenset({"customer", "business"})
# We bear FinCra's collection fee: the buyer pays exactly the escrow amount, FinCra settles
# amountToSettle = amount - fee into the wallet and the fee is recorded on the deposit.
FEE_BEARER = "business"
# checkout-core.yaml InitiatePaymentRequest: `required` and the type of each property. The ValidationPipe
# runs with whitelist:true, so unknown keys are silently stripped, not refused (its description).
CHECKOUT_REQUIRED = ("amount", "currency", "customer")
CHECKOUT_FIELDS = {
    "paymentLinkId": "number",
    "amount": "number",  # minimum 1, major units
    "currency": "string",  # enum CHECKOUT_CURRENCIES
    "customer": "object",  # CUSTOMER_FIELDS
    "redirectUrl": "string",  # format uri
    "settlementDestination": "string",  # enum SETTLEMENT_DESTINATIONS
    "settlementTime": "string",  # enum SETTLEMENT_TIMES
    "feeBearer": "string",  # enum FEE_BEARERS
    "reference": "string",  # the merchant reference; dedup-checked (409)
    "paymentMethods": "array",  # items ChargeType, each available for the currency
    "defaultPaymentMethod": "string",  # one of paymentMethods
    "metadata": "object",
}
CHECKOUT_MINIMUM_AMOUNT = Decimal(1)  # InitiatePaymentRequest.amount.minimum
# checkout-core.yaml components.schemas.Customer: required [email, name]; name "must contain a space
# (first + last name), else rejected"; email format email.
CUSTOMER_REQUIRED = ("email", "name")
CUSTOMER_FIELDS = {"email": "string", "name": "string", "phoneNumber": "string"}
# checkout-core.yaml SettlementDestination / SettlementTime (we send neither).
SETTLEMENT_DESTINATIONS = frozenset({"bank_account", "wallet"})
SETTLEMENT_TIMES = frozenset({"instant", "next_day", "t+3", "end_of_week"})
# Payment (and charge) status: checkout-core.yaml Payment.status "(e.g. pending, processing, success,
# failed)"; payments/verify-a-payment.mdx "Payment statuses" table.
PAYMENT_STATUSES = frozenset({"pending", "processing", "success", "failed"})
PAYMENT_SUCCESS = "success"
PAYMENT_FAILED = "failed"
# The fields of checkout-core.yaml components.schemas.Payment: what the merchant-reference look-up
# returns. No amountReceived, amountToSettle or fee: those come only with the charge.successful
# webhook (payments/hosted-payment-page.mdx "Handle the webhook").
PAYMENT_FIELDS = ("reference", "amount", "currency", "status", "merchantReference")

# --- payouts ---

# fincra-disbursements.yaml CreatePayoutRequest: required, and "Unknown keys are rejected".
PAYOUT_REQUIRED = ("sourceCurrency", "destinationCurrency", "amount", "business", "customerReference",
                   "paymentDestination", "beneficiary")
PAYOUT_FIELDS = {
    "sourceCurrency": "string", "destinationCurrency": "string", "amount": "number", "business": "string",
    "customerReference": "string", "paymentDestination": "string", "beneficiary": "object",
    "description": "string", "action": "string", "sender": "object", "senderId": "string",
    "purposeOfFund": "string", "relationshipWithBeneficiary": "string", "paymentScheme": "string",
    "feeBearer": "string", "quoteReference": "string", "transactionId": "string", "otp": "string",
    "files": "any", "customerName": "string", "additionalInfo": "string", "correspondent": "object",
    "intermediary": "object",
}
# fincra-disbursements.yaml Beneficiary (bank_account / mobile_money_wallet): required [accountNumber,
# type]; firstName "Required when type=individual"; accountHolderName "Required when
# paymentDestination=bank_account". payouts/initiate-transfer.mdx also marks firstName, lastName,
# accountHolderName and type required for both destinations: we always send all four.
BENEFICIARY_REQUIRED = ("accountNumber", "type")
BENEFICIARY_FIELDS = {
    "type": "string", "firstName": "string", "lastName": "string", "accountHolderName": "string",
    "accountNumber": "string", "email": "string", "phone": "string", "bankCode": "string", "bankName": "string",
    "sortCode": "string", "bankSwiftCode": "string", "country": "string", "mobileMoneyCode": "string",
    "mobileMoneyId": "integer", "address": "object",
}
BENEFICIARY_TYPES = frozenset({"corporate", "individual", "admin-initiated"})  # BeneficiaryType
# fincra-disbursements.yaml PaymentDestination.
PAYMENT_DESTINATIONS = frozenset({"bank_account", "crypto_wallet", "mobile_money_wallet", "cash_pick_up",
                                  "settlement_account"})
# fincra-disbursements.yaml PaymentScheme (supportedPaymentSchemes).
PAYMENT_SCHEMES = frozenset({"sepa", "sepa_instant", "chaps", "fps", "swift", "ach", "fed_wire", "cnaps",
                             "usdt_trc20", "usdt_erc20", "usdt_solana", "usdt_bep20", "usdc_erc20",
                             "usdc_solana", "usdc_bep20", "cngn_bep20"})
# fincra-disbursements.yaml Sender: required [name, type]; countryOfOrigin when type=individual,
# countryOfIncorporation when type=corporate.
SENDER_REQUIRED = ("name", "type")
# fincra-disbursements.yaml PayoutStatus ("Terminal states are successful and failed").
PAYOUT_STATUSES = frozenset({"initiated", "processing", "successful", "failed"})
PAYOUT_SUCCESSFUL = "successful"
PAYOUT_FAILED = "failed"
PAYOUT_TERMINAL = frozenset({PAYOUT_SUCCESSFUL, PAYOUT_FAILED})
# NUBAN: "Bank account number (NUBAN is 10 digits)" (fincra-disbursements.yaml Beneficiary.accountNumber);
# "NGN accountNumber not exactly 10 digits" is a VALIDATION_FAILED (fincra-core.yaml /accounts/resolve).
NUBAN = re.compile(r"\d{10}")
# fincra-core.yaml ResolveAccountRequest.bankCode: minLength 3, maxLength 6, pattern ^[0-9]+$.
NG_BANK_CODE = re.compile(r"\d{3,6}")
# payouts/currency-precision.mdx and CreatePayoutRequest.amount: "Must be an integer for zero-decimal
# currencies (UGX, XAF, XOF, RWF)"; every other currency in that table has 2 decimal places.
ZERO_DECIMAL_CURRENCIES = frozenset({"UGX", "XAF", "XOF", "RWF"})

# What each destination currency needs on top of CreatePayoutRequest's required fields (bank_account).
# Sources: payouts/nigeria.mdx ("No payment scheme required", "Bank code required"),
# payouts/united-states.mdx (scheme ach|fed_wire|swift, sender, beneficiary address, bank details),
# fincra-disbursements.yaml CreatePayoutRequest ("for destinationCurrency=USD, customerName and files are
# required"), payouts/united-kingdom.mdx (fps|chaps|swift, sort code, sender), payouts/eurozone.mdx
# (sepa|sepa_instant|swift, IBAN as accountNumber, sender).
PAYOUT_RULES = {
    "NGN": {"country": "NG", "schemes": (), "beneficiary": ("bankCode", "accountHolderName", "firstName"),
            "body": ()},
    "USD": {"country": None, "schemes": ("ach", "fed_wire", "swift"),
            "beneficiary": ("accountHolderName", "address"), "body": ("paymentScheme", "sender", "customerName",
                                                                     "files")},
    "GBP": {"country": "GB", "schemes": ("fps", "chaps", "swift"), "beneficiary": ("accountHolderName",
                                                                                   "sortCode"),
            "body": ("paymentScheme", "sender")},
    "EUR": {"country": None, "schemes": ("sepa", "sepa_instant", "swift"), "beneficiary": ("accountHolderName",),
            "body": ("paymentScheme", "sender")},
}
# payouts/united-states.mdx "Requirements": the sender's ID type and number ("name, ID type, ID number,
# country of origin ... for compliance") and the beneficiary's "Bank name" on top of the fields above.
# The OpenAPI file's Sender only requires name and type; we send both readings' fields (see
# docs/payments.md, "where FinCra's documents disagree").
PAYOUT_GUIDE_RULES = {"USD": {"sender": ("idType", "idNumber"), "beneficiary": ("bankName",)}}
# fincra-disbursements.yaml Sender.idType enum; idNumber maxLength 30.
SENDER_ID_TYPES = frozenset({"national_id", "international_passport", "drivers_license",
                             "business_registration_number"})
SENDER_ID_NUMBER_MAX_LENGTH = 30
# fincra-disbursements.yaml Address: required [street]; country "ISO-3166 alpha-2 for USD/CNH beneficiaries".
ADDRESS_FIELDS = {"street": "string", "city": "string", "state": "string", "zip": "string", "country": "string"}
ADDRESS_REQUIRED = ("street",)

# What WE pay out (each a same-currency payout to a bank account):
# - NGN to a Nigerian bank account (NUBAN): everything FinCra requires comes from what the seller gives us
#   (account number, bank code) and the name FinCra resolves.
# - USD to a US bank account by ACH or Fedwire (payouts/united-states.mdx): the seller gives the account
#   number, the ABA routing number (sent as the beneficiary's bankCode: fincra-disbursements.yaml has no
#   routing-number field; bankCode is its "local bank/institution code"), the bank's name, the holder's
#   name and postal address; Amani adds the sender (our business, from settings), customerName and a
#   supporting document (`files`, a signed URL of a PDF Amani generates: escrow/payments/compliance.py).
#   FinCra's name enquiry covers NGN/GHS only (RESOLVE_CURRENCIES): a USD holder's name is sent as given.
# GBP/EUR need a sort code/IBAN and their schemes: not collected, refused up front (a 400 naming currency).
SUPPORTED_PAYOUTS = {"NGN": "bank_account", "USD": "bank_account"}
# The schemes we use per currency, of PAYOUT_RULES[currency]["schemes"]. USD swift is refused: it reaches
# USD accounts in any country (payouts/united-states.mdx), identified by a SWIFT/BIC and often needing a
# correspondent or intermediary bank (CreatePayoutRequest.correspondent/intermediary), which we neither
# collect nor can check; a seller with a US account is paid by ACH (cheapest) or Fedwire (same day).
SUPPORTED_PAYOUT_SCHEMES = {"USD": ("ach", "fed_wire")}
# The keys of the `bank_account` dict we store on a withdrawal, per supported currency. Every one is
# required; USD's `address` is a dict of ADDRESS_FIELDS (street, city and country required; state and a
# ZIP code too when the address is in the US).
BANK_ACCOUNT_FIELDS = {
    "NGN": ("account_number", "bank_code", "account_holder_name", "country"),
    "USD": ("payment_scheme", "account_number", "routing_number", "bank_name", "account_holder_name", "country",
            "address"),
}
BANK_ACCOUNT_ADDRESS_REQUIRED = ("street", "city", "country")
# A US bank account number: up to 17 characters (the ACH record's DFI account number field); we take 4-17
# digits. An ABA routing number: 9 digits whose weighted sum (3, 7, 1 repeating) is a multiple of 10.
US_ACCOUNT_NUMBER = re.compile(r"\d{4,17}")
ABA_ROUTING_NUMBER = re.compile(r"\d{9}")
US_ZIP = re.compile(r"\d{5}(-\d{4})?")
US_STATE = re.compile(r"[A-Z]{2}")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")

# fincra-core.yaml ResolveAccountRequest: "Unknown keys are rejected"; currency enum [NGN, GHS];
# type enum; for NGN nuban an exactly-10-digit accountNumber and a bankCode.
RESOLVE_FIELDS = {"currency": "string", "type": "string", "accountNumber": "string", "bankCode": "string",
                  "mobileMoneyCode": "string", "bankSwiftCode": "string", "iban": "string"}
RESOLVE_CURRENCIES = frozenset({"NGN", "GHS"})
RESOLVE_TYPES = frozenset({"nuban", "iban", "mobile_money", "bank_account"})
# fincra-core.yaml ResolvedAccount.accountName.
RESOLVED_NAME_FIELD = "accountName"

# --- errors ---

# The error envelope of fincra-disbursements/core/wallets/notifications.yaml ErrorResponse:
# {success: false, error, errorType[, errors]}. checkout-core.yaml ErrorResponse is NestJS's
# {statusCode, message (string or list), error (the status text)} with NO errorType; its ErrorType enum
# lists the status texts in SCREAMING_SNAKE_CASE, which is what the client reports as error_type.
# (payments/error-codes.mdx shows {success:false, message, error:"ERROR_CODE"} with DUPLICATE_REFERENCE:
# the OpenAPI file wins; the client reads all three shapes.)
PAYOUT_ERROR_TYPES = frozenset({  # fincra-disbursements.yaml ErrorType
    "VALIDATION_FAILED", "UNPROCESSABLE_ENTITY", "DUPLICATE_CUSTOMER_REFERENCE", "NO_ENOUGH_MONEY_IN_WALLET",
    "DISBURSEMENT_CHANNEL_ERROR", "TRANSACTION_NOT_INITIATED", "SERVICE_UNAVAILABLE", "TRADE_EXECUTION_FAILED",
    "WALLET_AUDIT_CHECK_ERROR", "QUOTE_NOT_GENERATED", "AMOUNT_TO_CHARGE_EMPTY", "QUOTE_HAS_NO_CORRIDOR_STRUCTURE",
    "INVALID_QUOTE", "NO_OTP_SUPPLIED", "NO_TRANSACTION_ID_SUPPLIED", "INVALID_OTP",
    "TRANSACTION_LOCK_DUPLICATE_ERROR", "ACCESS_DENIED", "OPERATION_FORBIDDEN", "RESOURCE_NOT_FOUND",
    "INTERNAL_SERVER_ERROR", "SERVER_ERROR", "NO_AUTHORIZATION_KEY_PROVIDED", "NO_API_KEY_PROVIDED",
    "NO_SERVICE_SECRET_KEY_PROVIDED", "INVALID_SERVICE_SECRET_KEY",
})
CHECKOUT_ERROR_TYPES = frozenset({  # checkout-core.yaml ErrorType (status texts)
    "BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "RESOURCE_NOT_FOUND", "CONFLICT", "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
})
# A payout whose customerReference exists: "the idempotency key (a repeat value returns
# DUPLICATE_CUSTOMER_REFERENCE)", status 422 (fincra-disbursements.yaml POST /payouts error catalog);
# payouts/error-codes.mdx: "retrieve the original payout by customerReference". It means the payout
# EXISTS at FinCra: never treat it as "nothing happened".
DUPLICATE_CUSTOMER_REFERENCE = "DUPLICATE_CUSTOMER_REFERENCE"
# A repeated checkout reference: 409 CONFLICT "reference (merchantReference) duplicates an existing
# payment" (checkout-core.yaml POST /payments error catalog). DUPLICATE_REFERENCE is the name
# payments/error-codes.mdx uses for the same case.
DUPLICATE_CHECKOUT_STATUS = 409
DUPLICATE_CHECKOUT_ERROR_TYPES = frozenset({"CONFLICT", "DUPLICATE_REFERENCE"})
# Errors on a payout POST that prove FinCra did NOT create the payout (validation and business-rule
# refusals before anything is sent to a channel, fincra-disbursements.yaml POST /payouts catalog).
# Anything else (a channel error, an unknown type) leaves the outcome to FinCra's record.
PAYOUT_NOT_CREATED_ERROR_TYPES = frozenset({"VALIDATION_FAILED", "UNPROCESSABLE_ENTITY",
                                            "NO_ENOUGH_MONEY_IN_WALLET", "ACCESS_DENIED", "RESOURCE_NOT_FOUND"})

# --- webhooks ---

# Header and signature: webhooks/verify.mdx (`signature` = hex HMAC-SHA512 of the raw body with the
# webhook secret).
SIGNATURE_HEADER = "signature"
# Envelope: checkout-core.yaml ChargeWebhookEvent (required [event, type, data], type "charge");
# fincra-disbursements.yaml PayoutWebhookEvent ({event, type, business, callbackURL, data}, type
# "disbursement" per proposed-guides/core/webhooks-overview.mdx).
WEBHOOK_ENVELOPE = ("event", "type", "data")
CHARGE_EVENTS = frozenset({"charge.successful", "charge.failed"})  # ChargeWebhookEvent.event enum
PAYOUT_EVENTS = frozenset({"payout.successful", "payout.failed", "refund.successful", "refund.failed",
                           "settlement.successful", "settlement.failed"})  # PayoutWebhookEvent.event enum
CHARGE_SUCCESSFUL, CHARGE_FAILED = "charge.successful", "charge.failed"
PAYOUT_SUCCESSFUL_EVENT, PAYOUT_FAILED_EVENT = "payout.successful", "payout.failed"
WEBHOOK_TYPES = {"charge": "charge", "payout": "disbursement"}
# charge.successful data: payments/hosted-payment-page.mdx "Handle the webhook" (id, reference,
# merchantReference, amount, amountReceived, amountToSettle, currency, fee, status, type, feeBearer,
# settlementDestination, customer, metadata) and ChargeWebhookEvent.data ("Includes chargeReference and
# amountToSettle alongside the transformed charge fields").
CHARGE_DATA_FIELDS = ("id", "reference", "chargeReference", "merchantReference", "amount", "amountReceived",
                      "amountToSettle", "currency", "fee", "status", "type", "feeBearer", "settlementDestination",
                      "customer", "metadata")
# payout.* data: fincra-disbursements.yaml Payout ("carried in the webhook `data`"); amountCharged is
# "Total debited from your wallet (amount + fees + stamp duty)".
PAYOUT_DATA_FIELDS = ("id", "reference", "customerReference", "status", "sourceCurrency", "destinationCurrency",
                      "amountCharged", "amountReceived", "fee", "paymentDestination", "recipient", "reason",
                      "createdAt", "updatedAt")
# webhooks/configure.mdx: "respond with a 2xx HTTP status code within 10 seconds";
# fincra-notifications.yaml WebhookRetryConfig.timeoutSeconds "(default 10)".
WEBHOOK_TIMEOUT_SECONDS = 10
# fincra-notifications.yaml info.description: retried only "when ... the merchant has opted into auto-retry
# (settings.enableWebhookRetry)", on 5m, 30m, 2h, 6h, 24h. webhooks/configure.mdx says a failed delivery
# "is added to the retry queue" without the condition: the OpenAPI file (code) wins, so we never rely on
# a retry.
WEBHOOK_RETRY_SCHEDULE_SECONDS = (300, 1800, 7200, 21600, 86400)


# --- helpers the client, the simulator and the services share ---

class ContractViolation(ValueError):
    """Input that FinCra's contract refuses, caught before anything was sent. ``problems`` maps a
    field to a message; services call the ``*_problems`` helpers first and answer 400 instead."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
        self.problems = problems


def is_collectable(currency: str) -> bool:
    """Whether we can open a FinCra checkout in this currency (in FinCra's enum with known methods)."""
    return currency in CHECKOUT_CURRENCIES and currency in PAYMENT_METHODS


def payment_methods(currency: str) -> tuple[str, ...]:
    """The checkout methods FinCra makes available for the currency (empty when not collectable)."""
    return PAYMENT_METHODS.get(currency, ()) if currency in CHECKOUT_CURRENCIES else ()


def is_payable(currency: str) -> bool:
    """Whether we pay sellers out in this currency (see SUPPORTED_PAYOUTS)."""
    return currency in SUPPORTED_PAYOUTS


def resolves_account_names(currency: str) -> bool:
    """Whether FinCra's account-name enquiry covers this currency's accounts (fincra-core.yaml
    ResolveAccountRequest.currency: NGN, GHS). Elsewhere the holder's name is taken as given."""
    return currency in RESOLVE_CURRENCIES


def is_aba_routing_number(value) -> bool:
    """A US ABA routing transit number: 9 digits, 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) a multiple
    of 10, not all zeros."""
    if not isinstance(value, str) or not ABA_ROUTING_NUMBER.fullmatch(value) or not int(value):
        return False
    return sum(int(digit) * weight for digit, weight in zip(value, (3, 7, 1) * 3, strict=True)) % 10 == 0

def has_full_name(name) -> bool:
    """FinCra's customer.name must contain a space (first + last name); we ask for two words."""
    return isinstance(name, str) and len(name.split()) >= 2


def is_email(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


def is_uri(value) -> bool:
    """An absolute http(s) URI (redirectUrl has `format: uri`)."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def decimal_places(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def money(value) -> Decimal:
    """An amount from FinCra (a JSON number parsed as int, float or Decimal, or a string) as an exact
    Decimal. A float is read through its shortest repr, which is the literal FinCra sent."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def amount_problem(amount, currency: str, *, minimum: Decimal = Decimal(0)) -> str:
    """Why an amount cannot be sent for this currency ('' when it can)."""
    if not isinstance(amount, Decimal):
        return "must be a Decimal"  # money never travels as a float or a string
    if not amount.is_finite() or amount <= 0 or amount < minimum:
        return f"must be at least {minimum}" if minimum else "must be positive"
    places = decimal_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        return f"{currency} amounts have {places} decimal places at most" if places else \
            f"{currency} amounts are whole numbers"
    return ""


def checkout_problems(*, amount: Decimal, currency: str, customer_name: str | None, customer_email: str | None,
                      redirect_url: str | None = None) -> dict[str, str]:
    """What FinCra would refuse in a checkout we are about to open, keyed by OUR field names
    (amount, currency, full_name, email, redirect_url). Empty when FinCra would accept it."""
    problems = {}
    if not is_collectable(currency):
        problems["currency"] = (f"{currency} cannot be collected through FinCra checkout; accepted: "
                                + ", ".join(sorted(c for c in CHECKOUT_CURRENCIES if c in PAYMENT_METHODS)))
    elif problem := amount_problem(amount, currency, minimum=CHECKOUT_MINIMUM_AMOUNT):
        problems["amount"] = problem
    if not has_full_name(customer_name):
        problems["full_name"] = "FinCra needs the payer's full name (first and last name, separated by a space)."
    if not is_email(customer_email):
        problems["email"] = "FinCra needs a valid e-mail address for the payer."
    if redirect_url and not is_uri(redirect_url):
        problems["redirect_url"] = "must be an absolute http(s) URL"
    return problems


def payout_destination_problems(currency: str, bank_account: dict | None) -> dict[str, str]:
    """What stops us from paying ``bank_account`` in ``currency``, keyed by field
    ("currency", "bank_account", "bank_account.<key>", "bank_account.address.<key>"). Empty when we
    can pay it. (Whether this server is set up for the currency is the services' question.)"""
    if not is_payable(currency):
        return {"currency": (f"Payouts in {currency} are not supported; supported: "
                             + ", ".join(sorted(SUPPORTED_PAYOUTS)))}
    if not isinstance(bank_account, dict):
        return {"bank_account": "required"}
    problems = {}
    for key in BANK_ACCOUNT_FIELDS[currency]:
        if key == "address":
            if not isinstance(bank_account.get(key), dict):
                problems[f"bank_account.{key}"] = "required: street, city, state, zip, country"
        elif not isinstance(bank_account.get(key), str) or not bank_account[key].strip():
            problems[f"bank_account.{key}"] = "required"
    unknown = set(bank_account) - set(BANK_ACCOUNT_FIELDS[currency])
    for key in sorted(unknown):
        problems[f"bank_account.{key}"] = f"not a field of a {currency} bank account we can pay"
    text = {key: value.strip() for key, value in bank_account.items() if isinstance(value, str)}
    if currency == "NGN":
        number, code = text.get("account_number"), text.get("bank_code")
        if number and not NUBAN.fullmatch(number):
            problems["bank_account.account_number"] = "A Nigerian (NUBAN) account number is exactly 10 digits."
        if code and not NG_BANK_CODE.fullmatch(code):
            problems["bank_account.bank_code"] = "A Nigerian bank code is 3 to 6 digits."
        country = text.get("country")
        if country and country.upper() != PAYOUT_RULES["NGN"]["country"]:
            problems["bank_account.country"] = "NGN payouts go to Nigerian (NG) bank accounts only."
    if currency == "USD":
        problems.update(_usd_account_problems(text, bank_account.get("address")))
    return problems


def _usd_account_problems(text: dict, address) -> dict[str, str]:
    problems = {}
    scheme = text.get("payment_scheme")
    if scheme and scheme not in SUPPORTED_PAYOUT_SCHEMES["USD"]:
        known = scheme in PAYOUT_RULES["USD"]["schemes"]
        problems["bank_account.payment_scheme"] = (
            f"{scheme if known else 'This scheme'} is not a USD payout scheme we use; supported: "
            + ", ".join(SUPPORTED_PAYOUT_SCHEMES["USD"]))
    if (number := text.get("account_number")) and not US_ACCOUNT_NUMBER.fullmatch(number):
        problems["bank_account.account_number"] = "A US bank account number is 4 to 17 digits."
    if (routing := text.get("routing_number")) and not is_aba_routing_number(routing):
        problems["bank_account.routing_number"] = ("Not an ABA routing number (9 digits with a valid check "
                                                   "digit; it is printed on the account's cheques and statements).")
    if (country := text.get("country")) and country.upper() != "US":
        problems["bank_account.country"] = "ACH and Fedwire payouts go to US (US) bank accounts only."
    if (name := text.get("bank_name")) and len(name) > 140:
        problems["bank_account.bank_name"] = "at most 140 characters"
    if not isinstance(address, dict):
        return problems
    for key in sorted(set(address) - set(ADDRESS_FIELDS)):
        problems[f"bank_account.address.{key}"] = "not a field of an address; fields: " + ", ".join(ADDRESS_FIELDS)
    parts = {key: value.strip() for key, value in address.items() if isinstance(value, str) and value.strip()}
    in_us = parts.get("country", "").upper() == "US"
    for key in (*BANK_ACCOUNT_ADDRESS_REQUIRED, *(("state", "zip") if in_us else ())):
        if key not in parts:
            problems[f"bank_account.address.{key}"] = "required" + (" for a US address" if key in ("state", "zip")
                                                                    else "")
    for key, value in address.items():
        if key in ADDRESS_FIELDS and value is not None and not isinstance(value, str):
            problems[f"bank_account.address.{key}"] = "must be text"
    if "country" in parts and not COUNTRY_CODE.fullmatch(parts["country"].upper()):
        problems["bank_account.address.country"] = "An ISO 3166 alpha-2 code such as US or NG."
    if in_us and "zip" in parts and not US_ZIP.fullmatch(parts["zip"]):
        problems["bank_account.address.zip"] = "A US ZIP code: 5 digits, or 5+4 (12345-6789)."
    if in_us and "state" in parts and not US_STATE.fullmatch(parts["state"].upper()):
        problems["bank_account.address.state"] = "A US state's two-letter code, such as NY."
    return problems


def sender_problems(sender: dict | None) -> dict[str, str]:
    """What FinCra would refuse in our ``sender`` (fincra-disbursements.yaml Sender, plus the ID that
    payouts/united-states.mdx asks for), keyed "sender.<key>". Empty when it is complete."""
    if not isinstance(sender, dict):
        return {"sender": "required"}
    problems = {f"sender.{key}": "required" for key in (*SENDER_REQUIRED, *PAYOUT_GUIDE_RULES["USD"]["sender"])
                if not isinstance(sender.get(key), str) or not sender[key].strip()}
    kind = sender.get("type")
    if kind and kind not in ("corporate", "individual"):
        problems["sender.type"] = "corporate or individual"
    country_key = "countryOfIncorporation" if kind == "corporate" else "countryOfOrigin"
    if not COUNTRY_CODE.fullmatch(str(sender.get(country_key) or "")):
        problems[f"sender.{country_key}"] = "required: an ISO 3166 alpha-2 code"
    if sender.get("idType") and sender["idType"] not in SENDER_ID_TYPES:
        problems["sender.idType"] = "one of " + ", ".join(sorted(SENDER_ID_TYPES))
    if len(str(sender.get("idNumber") or "")) > SENDER_ID_NUMBER_MAX_LENGTH:
        problems["sender.idNumber"] = f"at most {SENDER_ID_NUMBER_MAX_LENGTH} characters"
    if sender.get("email") is not None and not is_email(sender["email"]):
        problems["sender.email"] = "an e-mail address"
    return problems


def payout_problems(*, amount: Decimal, currency: str, bank_account: dict | None) -> dict[str, str]:
    """payout_destination_problems plus the amount (positive, the currency's precision)."""
    problems = payout_destination_problems(currency, bank_account)
    if "currency" not in problems and (problem := amount_problem(amount, currency)):
        problems["amount"] = problem
    return problems


def split_name(name: str) -> tuple[str, str]:
    """First name and the rest (FinCra's beneficiary firstName/lastName) from a full name."""
    first, _, rest = " ".join(name.split()).partition(" ")
    return first, rest or first


# --- JSON with exact amounts ---

def to_json(value) -> str:
    """JSON text in which a Decimal is an exact JSON number (``Decimal("1000.10")`` -> ``1000.10``).
    Floats are refused: money never travels as a float."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amounts must be finite")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not sent to FinCra; use Decimal")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key))}:{to_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    return json.dumps(value)


def from_json(raw: bytes | str):
    """Parse FinCra's JSON keeping every non-integer number an exact Decimal."""
    return json.loads(raw, parse_float=Decimal)


def jsonable(value):
    """A copy of parsed FinCra data that a plain JSONField can store (Decimal -> its string)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


# --- request-body validation (the simulator answers with these; tests check the client against them) ---

def _type_ok(value, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "number":
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "object": dict, "array": list, "boolean": bool}[kind])


def _types(body: dict, fields: dict, prefix: str = "") -> list[str]:
    return [f"{prefix}{key} must be a {fields[key]}" for key, value in body.items()
            if key in fields and not _type_ok(value, fields[key])]


def checkout_body_problems(body: dict) -> list[str]:
    """checkout-core.yaml InitiatePaymentRequest as class-validator would report it (messages list).
    Unknown keys are not problems: FinCra strips them."""
    problems = [f"{key} should not be empty" for key in CHECKOUT_REQUIRED if key not in body]
    problems += _types(body, CHECKOUT_FIELDS)
    typed = {key: value for key, value in body.items()  # each further rule reads well-typed fields only
             if key in CHECKOUT_FIELDS and _type_ok(value, CHECKOUT_FIELDS[key])}
    currency = typed.get("currency")
    if "currency" in typed and currency not in CHECKOUT_CURRENCIES:
        problems.append("currency must be one of the following values: " + ", ".join(sorted(CHECKOUT_CURRENCIES)))
    if "amount" in typed and typed["amount"] < CHECKOUT_MINIMUM_AMOUNT:
        problems.append("amount must not be less than 1")
    customer = typed.get("customer", {})
    if "customer" in typed:
        problems += [f"customer.{key} should not be empty" for key in CUSTOMER_REQUIRED if key not in customer]
    problems += _types(customer, CUSTOMER_FIELDS, "customer.")
    if "name" in customer and isinstance(customer["name"], str) and not has_full_name(customer["name"]):
        problems.append("customer.name must contain a space (first and last name)")
    if "email" in customer and isinstance(customer["email"], str) and not is_email(customer["email"]):
        problems.append("customer.email must be an email")
    if "redirectUrl" in typed and not is_uri(typed["redirectUrl"]):
        problems.append("redirectUrl must be a URL address")
    if "feeBearer" in typed and typed["feeBearer"] not in FEE_BEARERS:
        problems.append("feeBearer must be one of the following values: customer, business")
    if "settlementDestination" in typed and typed["settlementDestination"] not in SETTLEMENT_DESTINATIONS:
        problems.append("settlementDestination must be one of the following values: bank_account, wallet")
    if "settlementTime" in typed and typed["settlementTime"] not in SETTLEMENT_TIMES:
        problems.append("settlementTime must be a valid enum value")
    methods = typed.get("paymentMethods")
    if methods is not None:
        available = payment_methods(currency)
        for method in methods:
            if not isinstance(method, str) or method not in CHARGE_TYPES:
                problems.append(f"each value in paymentMethods must be one of: {', '.join(sorted(CHARGE_TYPES))}")
            elif method not in available:
                problems.append(f"{method} is not available for {currency}")
    if "defaultPaymentMethod" in typed and typed["defaultPaymentMethod"] not in (methods or ()):
        problems.append("defaultPaymentMethod must be one of paymentMethods")
    return problems


def payout_body_problems(body: dict) -> list[str]:
    """fincra-disbursements.yaml CreatePayoutRequest (Joi: unknown keys refused) plus the per-currency
    requirements of PAYOUT_RULES, as VALIDATION_FAILED messages."""
    problems = [f'"{key}" is not allowed' for key in body if key not in PAYOUT_FIELDS]
    problems += [f'"{key}" is required' for key in PAYOUT_REQUIRED if key not in body]
    problems += _types(body, PAYOUT_FIELDS)
    if problems:
        return problems
    if len(body["business"]) != BUSINESS_ID_LENGTH:
        problems.append(f'"business" length must be {BUSINESS_ID_LENGTH} characters long')
    if body["paymentDestination"] not in PAYMENT_DESTINATIONS:
        problems.append('"paymentDestination" must be one of ' + ", ".join(sorted(PAYMENT_DESTINATIONS)))
    if "description" in body and not body["description"]:
        problems.append('"description" is not allowed to be empty')
    if "paymentScheme" in body and body["paymentScheme"] not in PAYMENT_SCHEMES:
        problems.append('"paymentScheme" must be one of ' + ", ".join(sorted(PAYMENT_SCHEMES)))
    destination = body["destinationCurrency"]
    amount = body["amount"]
    if amount <= 0:
        problems.append('"amount" must be a positive number')
    elif destination in ZERO_DECIMAL_CURRENCIES and amount != int(amount):
        problems.append(f'"amount" must be an integer for {destination}')
    beneficiary = body["beneficiary"]
    problems += [f'"beneficiary.{key}" is not allowed' for key in beneficiary if key not in BENEFICIARY_FIELDS]
    problems += [f'"beneficiary.{key}" is required' for key in BENEFICIARY_REQUIRED if key not in beneficiary]
    problems += _types(beneficiary, BENEFICIARY_FIELDS, "beneficiary.")
    if problems:
        return problems
    if beneficiary["type"] not in BENEFICIARY_TYPES:
        problems.append('"beneficiary.type" must be one of corporate, individual, admin-initiated')
    if beneficiary["type"] == "individual" and not beneficiary.get("firstName"):
        problems.append('"beneficiary.firstName" is required')
    if body["paymentDestination"] == "bank_account":
        if not beneficiary.get("accountHolderName"):
            problems.append('"beneficiary.accountHolderName" is required')
        for key in ("mobileMoneyCode", "mobileMoneyId"):
            if key in beneficiary:
                problems.append(f'"beneficiary.{key}" is not allowed')
    rules = PAYOUT_RULES.get(destination)
    if rules and body["paymentDestination"] == "bank_account":
        problems += [f'"{key}" is required' for key in rules["body"] if key not in body]
        problems += [f'"beneficiary.{key}" is required' for key in rules["beneficiary"] if not beneficiary.get(key)]
        if rules["schemes"] and body.get("paymentScheme") not in (None, *rules["schemes"]):
            problems.append(f'"paymentScheme" must be one of {", ".join(rules["schemes"])} for {destination}')
        if "sender" in body:
            problems += _sender_body_problems(body["sender"], PAYOUT_GUIDE_RULES.get(destination, {}).get("sender", ()))
        guide = PAYOUT_GUIDE_RULES.get(destination, {})
        problems += [f'"beneficiary.{key}" is required' for key in guide.get("beneficiary", ())
                     if not beneficiary.get(key)]
        if "address" in beneficiary:
            address = beneficiary["address"]
            problems += [f'"beneficiary.address.{key}" is not allowed' for key in address if key not in ADDRESS_FIELDS]
            problems += [f'"beneficiary.address.{key}" is required' for key in ADDRESS_REQUIRED if key not in address]
            problems += _types(address, ADDRESS_FIELDS, "beneficiary.address.")
        if destination == "NGN" and not NUBAN.fullmatch(str(beneficiary["accountNumber"])):
            problems.append('"beneficiary.accountNumber" must be a 10-digit NUBAN for NGN')
    return problems


def _sender_body_problems(sender, guide_required: tuple[str, ...]) -> list[str]:
    """fincra-disbursements.yaml Sender (required name, type; countryOfOrigin when individual,
    countryOfIncorporation when corporate; idType enum; idNumber at most 30) plus ``guide_required``."""
    if not isinstance(sender, dict):
        return ['"sender" must be of type object']
    problems = [f'"sender.{key}" is required' for key in (*SENDER_REQUIRED, *guide_required) if not sender.get(key)]
    if sender.get("type") == "individual" and not sender.get("countryOfOrigin"):
        problems.append('"sender.countryOfOrigin" is required')
    if sender.get("type") == "corporate" and not sender.get("countryOfIncorporation"):
        problems.append('"sender.countryOfIncorporation" is required')
    if "idType" in sender and sender["idType"] not in SENDER_ID_TYPES:
        problems.append('"sender.idType" must be one of ' + ", ".join(sorted(SENDER_ID_TYPES)))
    if len(str(sender.get("idNumber") or "")) > SENDER_ID_NUMBER_MAX_LENGTH:
        problems.append(f'"sender.idNumber" length must be less than or equal to {SENDER_ID_NUMBER_MAX_LENGTH}')
    return problems


def resolve_body_problems(body: dict) -> list[str]:
    """fincra-core.yaml ResolveAccountRequest (unknown keys refused) as VALIDATION_FAILED messages."""
    problems = [f'"{key}" is not allowed' for key in body if key not in RESOLVE_FIELDS]
    problems += _types(body, RESOLVE_FIELDS)
    if problems:
        return problems
    currency = body.get("currency", "NGN").upper()
    kind = body.get("type", "nuban")
    if currency not in RESOLVE_CURRENCIES:
        problems.append('"currency" must be one of [NGN, GHS]')
    if kind not in RESOLVE_TYPES:
        problems.append('"type" must be one of [nuban, iban, mobile_money, bank_account]')
    if kind in ("nuban", "mobile_money", "bank_account") and not body.get("accountNumber"):
        problems.append('"accountNumber" is required')
    number = body.get("accountNumber", "")
    if currency == "NGN" and number and not NUBAN.fullmatch(number):
        problems.append('"accountNumber" length must be 10 characters long')
    if currency == "GHS" and number and not number.isdigit():
        problems.append('"accountNumber" must only contain digits')
    if currency == "NGN" and kind == "nuban":
        if "bankCode" not in body:
            problems.append('"bankCode" is required')
        elif not NG_BANK_CODE.fullmatch(body["bankCode"]):
            problems.append('"bankCode" must be 3 to 6 digits')
    if kind == "mobile_money" and not re.fullmatch(r"[a-zA-Z]{2,20}", body.get("mobileMoneyCode", "")):
        problems.append('"mobileMoneyCode" is required (letters only)')
    if currency == "GHS" and kind == "bank_account" and not re.fullmatch(r"[a-zA-Z]{8,11}",
                                                                          body.get("bankSwiftCode", "")):
        problems.append('"bankSwiftCode" must be 8 to 11 letters')
    if kind == "iban" and not body.get("iban"):
        problems.append('"iban" is required')
    return problems


# payments/hosted-payment-page.mdx: the hosted link is https://checkout.fincra.com/pay/{payCode}
# (sandbox: https://sandbox-checkout.fincra.com/pay/{payCode}). The merchant-reference look-up has no
# link, only the payCode (its `reference`): after a lost checkout answer the link is rebuilt from it.
CHECKOUT_HOSTS = {"https://api.fincra.com": "https://checkout.fincra.com",
                  "https://sandboxapi.fincra.com": "https://sandbox-checkout.fincra.com"}


def hosted_link(api_base_url: str, pay_code: str) -> str:
    """The hosted checkout page of ``pay_code`` for the FinCra at ``api_base_url`` (the simulator
    serves its own at ``<its url>/pay/<payCode>``)."""
    base = api_base_url.rstrip("/")
    return f"{CHECKOUT_HOSTS.get(base, base)}/pay/{pay_code}"
