"""FinCra's HTTP API: checkout collections, bank payouts, account-name resolution and wallet
balances, built on FinCra's contract (``escrow/payments/contract.py``, which names the FinCra file
each rule follows).

Every call has a timeout. GETs (look-ups), and the account-name enquiry, which moves no money, are
retried with short backoff on 5xx, timeouts and broken connections: asking twice changes nothing.
Money-moving POSTs (checkout, payout) are never retried blindly: one whose outcome is unknown (a
timeout, a 5xx, a connection broken after sending) raises ``OutcomeUnknown``, and the caller settles
it from FinCra's record (``get_checkout`` / ``get_payout``) or by re-submitting the same reference,
which FinCra refuses as a duplicate when the first one landed (``DuplicateReference``).

Amounts go out as exact JSON numbers (``Decimal("1000.10")`` -> ``1000.10``) and come back as exact
Decimals (non-integer numbers in the returned dicts are ``Decimal``; ``contract.jsonable`` makes a
copy a plain JSONField can store). Keys and bank details are never logged.
"""

import logging
import time
from decimal import Decimal
from urllib.parse import quote

import requests
from django.conf import settings

from escrow.payments import contract

logger = logging.getLogger(__name__)

GET_ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 0.6)


class FincraError(Exception):
    """FinCra refused or failed; the message never contains a key or bank details."""


class NotConfigured(FincraError):
    pass


class Unauthorized(FincraError):
    """Wrong keys or business (FinCra's 401/403)."""


class Unavailable(FincraError):
    """A look-up kept failing (5xx, timeout, broken connection): try again later."""


class OutcomeUnknown(FincraError):
    """A POST may or may not have been acted on: settle it by looking up our reference."""


class Rejected(FincraError):
    """FinCra answered 4xx: ``status``, ``error_type`` (FinCra's errorType, or for checkout-core's NestJS
    errors the status text in SCREAMING_SNAKE_CASE, e.g. BAD_REQUEST) and ``message`` (FinCra's words)."""

    def __init__(self, status: int, error_type: str, message: str, *, path: str = ""):
        super().__init__(f"{path}: {status} {error_type}: {message}"[:500])
        self.status, self.error_type, self.message = status, error_type, message


class DuplicateReference(Rejected):
    """The reference already exists at FinCra (409 on a checkout, 422 DUPLICATE_CUSTOMER_REFERENCE on a
    payout): the object EXISTS — look it up; never treat this as "failed"."""


class FincraClient:
    def __init__(self, *, base_url: str, secret_key: str, public_key: str, business_id: str, timeout: float = 10):
        if not (base_url and secret_key):
            raise NotConfigured("FINCRA_BASE_URL and FINCRA_SECRET_KEY must be set.")
        self.base_url = base_url.rstrip("/")
        self.business_id = business_id
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({
            contract.HEADER_SECRET_KEY: secret_key, contract.HEADER_PUBLIC_KEY: public_key,
            contract.HEADER_BUSINESS_ID: business_id, "accept": "application/json",
            "content-type": "application/json",
        })

    @classmethod
    def from_settings(cls) -> "FincraClient":
        return cls(base_url=settings.FINCRA_BASE_URL, secret_key=settings.FINCRA_SECRET_KEY,
                   public_key=settings.FINCRA_PUBLIC_KEY, business_id=settings.FINCRA_BUSINESS_ID,
                   timeout=settings.FINCRA_TIMEOUT_SECONDS)

    # --- collections ---

    def create_checkout(self, *, amount: Decimal, currency: str, customer_name: str, customer_email: str,
                        reference: str, redirect_url: str | None, metadata: dict) -> dict:
        """Open a hosted checkout; returns FinCra's data (``link``, ``reference``, ``payCode``).

        Raises ``contract.ContractViolation`` (nothing sent) when FinCra's contract refuses the input —
        services call ``contract.checkout_problems`` first — and ``DuplicateReference`` when FinCra
        already has a payment with this reference (look it up with ``get_checkout``).
        """
        problems = contract.checkout_problems(amount=amount, currency=currency, customer_name=customer_name,
                                              customer_email=customer_email, redirect_url=redirect_url)
        if problems:
            raise contract.ContractViolation(problems)
        body = {
            "amount": amount, "currency": currency,
            "customer": {"name": " ".join(customer_name.split()), "email": customer_email},
            "reference": reference, "paymentMethods": list(contract.payment_methods(currency)),
            "feeBearer": contract.FEE_BEARER, "metadata": metadata,
        }
        if redirect_url:  # a present redirectUrl must be a valid URI: omitted, never ""
            body["redirectUrl"] = redirect_url
        return self._post(contract.CHECKOUT_PATH, body, duplicate=_duplicate_checkout)

    def get_checkout(self, reference: str) -> dict | None:
        """FinCra's payment record by our (merchant) reference, or None. It has ``status`` and ``amount``
        but no ``amountReceived`` (only the charge.successful webhook carries that)."""
        return self._get(contract.CHECKOUT_BY_MERCHANT_REFERENCE_PATH.format(reference=_segment(reference)))

    # --- payouts ---

    def create_payout(self, *, amount: Decimal, currency: str, customer_reference: str, description: str,
                      bank_account: dict, account_name: str, sender: dict | None = None,
                      document_url: str | None = None) -> dict:
        """Pay ``amount`` to ``bank_account`` (our stored dict, ``contract.BANK_ACCOUNT_FIELDS``) in the
        same currency, named ``account_name`` (NGN: as FinCra resolved it; USD: as the seller gave it).
        USD also needs ``sender`` (our business: FinCra's Sender) and ``document_url`` (the supporting
        document FinCra asks for, sent as ``files``). Returns FinCra's payout (``reference``,
        ``status``: processing, ``fee``, ``amountCharged``...).

        Raises ``contract.ContractViolation`` (nothing sent) for what we do not pay (see
        ``contract.payout_problems``), ``DuplicateReference`` when a payout with this customerReference
        exists at FinCra, ``Rejected`` for any other refusal, ``OutcomeUnknown`` when the answer was lost.
        """
        problems = contract.payout_problems(amount=amount, currency=currency, bank_account=bank_account)
        if not isinstance(account_name, str) or not account_name.strip():
            problems["account_name"] = "the account holder's name is required"
        if not description:
            problems["description"] = "required"  # payouts/initiate-transfer.mdx marks it required
        if currency == "USD":
            problems.update(contract.sender_problems(sender))
            if not contract.is_uri(document_url):
                problems["files"] = "the supporting document's URL is required for USD payouts"
        if problems:
            raise contract.ContractViolation(problems)
        holder = " ".join(account_name.split())
        first, last = contract.split_name(holder)
        beneficiary = {"type": "individual", "firstName": first, "lastName": last, "accountHolderName": holder,
                       "accountNumber": bank_account["account_number"].strip()}
        body = {
            "sourceCurrency": currency, "destinationCurrency": currency, "amount": amount,
            "business": self.business_id, "description": description, "customerReference": customer_reference,
            "paymentDestination": contract.SUPPORTED_PAYOUTS[currency], "beneficiary": beneficiary,
        }
        if currency == "NGN":
            beneficiary.update(bankCode=bank_account["bank_code"].strip(), country=bank_account["country"].upper())
        elif currency == "USD":  # payouts/united-states.mdx; CreatePayoutRequest "for destinationCurrency=USD"
            address = {key: value.strip() for key, value in bank_account["address"].items()
                       if isinstance(value, str) and value.strip()}
            address["country"] = address["country"].upper()
            beneficiary.update(bankCode=bank_account["routing_number"].strip(),  # the ABA routing number
                               bankName=bank_account["bank_name"].strip(),
                               country=bank_account["country"].strip().upper(), address=address)
            body.update(paymentScheme=bank_account["payment_scheme"].strip(), sender=dict(sender),
                        customerName=holder, files=document_url)
        return self._post(contract.PAYOUT_PATH, body, duplicate=_duplicate_payout)

    def get_payout(self, customer_reference: str) -> dict | None:
        """FinCra's payout by our customerReference, or None (statuses: contract.PAYOUT_STATUSES)."""
        return self._get(contract.PAYOUT_BY_CUSTOMER_REFERENCE_PATH.format(reference=_segment(customer_reference)))

    def resolve_account(self, *, account_number: str, bank_code: str, currency: str) -> str:
        """The account holder's name as FinCra's name enquiry resolves it (fincra-core.yaml
        /accounts/resolve: NGN NUBAN accounts). ``Rejected`` when FinCra cannot resolve it."""
        if currency != "NGN":  # the only resolvable destination we pay (contract.SUPPORTED_PAYOUTS)
            raise contract.ContractViolation({"currency": f"account names are resolved for NGN only, not {currency}"})
        body = {"currency": currency, "type": "nuban", "accountNumber": account_number, "bankCode": bank_code}
        data = self._request("POST", contract.RESOLVE_ACCOUNT_PATH, body=body, retry=True)
        name = (data or {}).get(contract.RESOLVED_NAME_FIELD) if isinstance(data, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise FincraError(f"{contract.RESOLVE_ACCOUNT_PATH}: FinCra answered without an account name.")
        return " ".join(name.split())

    # --- wallet ---

    def wallet_balances(self) -> dict[str, Decimal]:
        """The available balance of each of our FinCra wallets, by currency."""
        data = self._get(contract.WALLETS_PATH, params={contract.WALLETS_BUSINESS_PARAMETER: self.business_id})
        balances = {}
        for wallet in data if isinstance(data, list) else []:
            field = next((f for f in contract.WALLET_AVAILABLE_FIELDS if wallet.get(f) is not None), None)
            if field is None or not wallet.get("currency"):
                raise FincraError(f"{contract.WALLETS_PATH}: a wallet without currency or balance.")
            balances[str(wallet["currency"]).upper()] = contract.money(wallet[field])
        return balances

    # --- transport ---

    def _post(self, path: str, body: dict, *, duplicate) -> dict:
        try:
            return self._request("POST", path, body=body, retry=False)
        except Rejected as error:
            if duplicate(error):
                raise DuplicateReference(error.status, error.error_type, error.message, path=path) from error
            raise

    def _get(self, path: str, params: dict | None = None):
        return self._request("GET", path, params=params, retry=True)

    def _request(self, method: str, path: str, *, body: dict | None = None, params: dict | None = None,
                 retry: bool):
        data = None if body is None else contract.to_json(body).encode()
        last_error = None
        for attempt in range(GET_ATTEMPTS if retry else 1):
            if attempt:
                time.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
            try:
                response = self.session.request(method, self.base_url + path, data=data, params=params,
                                                timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                # requests cannot always tell "refused before sending" from "broken after": unknown.
                last_error = type(error).__name__
                if not retry:
                    raise OutcomeUnknown(f"{method} {path}: no answer ({last_error}).") from error
                continue
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                if not retry:
                    raise OutcomeUnknown(f"{method} {path}: FinCra answered {response.status_code}.")
                continue
            if response.status_code == 404 and method == "GET":
                return None
            return _data(method, path, response)
        logger.warning("FinCra %s %s failed %d times (%s)", method, path, GET_ATTEMPTS, last_error)
        raise Unavailable(f"{method} {path}: {last_error} after {GET_ATTEMPTS} attempts.")


def _data(method: str, path: str, response: requests.Response):
    try:
        body = contract.from_json(response.content)
    except ValueError as error:
        if response.status_code in (401, 403):
            raise Unauthorized(f"{path}: FinCra refused our keys or business ({response.status_code}).") from error
        raise FincraError(f"{method} {path}: FinCra answered {response.status_code} without JSON.") from error
    if response.status_code in (401, 403):
        _, error_type, message = _error(response.status_code, body)
        raise Unauthorized(f"{path}: FinCra refused our keys or business ({response.status_code} {error_type}: "
                           f"{message[:200]}).")
    if response.status_code >= 400:
        raise Rejected(*_error(response.status_code, body), path=path)
    return body.get("data") if isinstance(body, dict) else None


def _error(status: int, body) -> tuple[int, str, str]:
    """(status, error_type, message) from any of FinCra's error shapes (see contract, "errors")."""
    if not isinstance(body, dict):
        return status, "UNKNOWN", ""
    if body.get("errorType"):  # {success:false, error, errorType[, errors]}
        message = str(body.get("error") or body.get("message") or "")
        details = body.get("errors")
        if isinstance(details, list) and details:
            message = f"{message} ({'; '.join(str(d) for d in details)})"
        return status, str(body["errorType"]), message
    message = body.get("message", "")  # NestJS {statusCode, message, error} (checkout-core)
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    error_type = str(body.get("error") or "").strip().upper().replace(" ", "_") or "UNKNOWN"
    if error_type == "NOT_FOUND":
        error_type = "RESOURCE_NOT_FOUND"  # checkout-core.yaml ErrorType's name for 404
    return status, error_type, str(message or body.get("error") or "")


def _duplicate_checkout(error: Rejected) -> bool:
    return (error.status == contract.DUPLICATE_CHECKOUT_STATUS
            or error.error_type in contract.DUPLICATE_CHECKOUT_ERROR_TYPES)


def _duplicate_payout(error: Rejected) -> bool:
    return error.error_type == contract.DUPLICATE_CUSTOMER_REFERENCE


def _segment(reference: str) -> str:
    return quote(str(reference), safe="")
