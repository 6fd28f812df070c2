"""FinCra's HTTP API: checkout collections and bank payouts.

Every call has a timeout. GETs (look-ups) are retried with backoff on 5xx, timeouts and broken
connections: asking twice changes nothing. POSTs are never retried blindly: a POST whose outcome
is unknown (a timeout or a 5xx after sending) raises ``OutcomeUnknown``, and the caller settles
it later by looking our reference up (``manage.py fincra_reconcile``) — the old system retried
POSTs and paid twice. Keys and bank details are never logged.
"""

import logging
import time
from decimal import Decimal

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

GET_ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 0.6)


class FincraError(Exception):
    """FinCra refused or failed; the message never contains a key or bank details."""


class NotConfigured(FincraError):
    pass


class Unauthorized(FincraError):
    """Wrong keys (FinCra's 401/403)."""


class Rejected(FincraError):
    """FinCra answered 4xx to a POST: it did not act on it."""


class Unavailable(FincraError):
    """A look-up kept failing (5xx, timeout): try again later."""


class OutcomeUnknown(FincraError):
    """A POST may or may not have been acted on: settle it by looking up our reference."""


class FincraClient:
    def __init__(self, *, base_url: str, secret_key: str, public_key: str, business_id: str, timeout: float = 10):
        if not (base_url and secret_key):
            raise NotConfigured("FINCRA_BASE_URL and FINCRA_SECRET_KEY must be set.")
        self.base_url = base_url.rstrip("/")
        self.business_id = business_id
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({
            "api-key": secret_key, "x-pub-key": public_key, "x-business-id": business_id,
            "accept": "application/json", "content-type": "application/json",
        })

    @classmethod
    def from_settings(cls) -> "FincraClient":
        return cls(base_url=settings.FINCRA_BASE_URL, secret_key=settings.FINCRA_SECRET_KEY,
                   public_key=settings.FINCRA_PUBLIC_KEY, business_id=settings.FINCRA_BUSINESS_ID,
                   timeout=settings.FINCRA_TIMEOUT_SECONDS)

    # --- collections ---

    def create_checkout(self, *, amount: Decimal, currency: str, customer: dict, reference: str,
                        redirect_url: str, metadata: dict) -> dict:
        return self._post("/checkout/payments", {
            "amount": str(amount), "currency": currency, "customer": customer, "reference": reference,
            "redirectUrl": redirect_url, "metadata": metadata, "paymentMethods": ["card", "bank_transfer"],
            "feeBearer": "business",
        })

    def get_checkout(self, reference: str) -> dict | None:
        return self._get(f"/checkout/payments/merchant-reference/{reference}")

    # --- payouts ---

    def create_payout(self, *, amount: Decimal, currency: str, customer_reference: str, description: str,
                      beneficiary: dict) -> dict:
        return self._post("/disbursements/payouts", {
            "business": self.business_id, "sourceCurrency": currency, "destinationCurrency": currency,
            "amount": str(amount), "description": description, "paymentDestination": "bank_account",
            "customerReference": customer_reference, "beneficiary": beneficiary,
        })

    def get_payout(self, customer_reference: str) -> dict | None:
        return self._get(f"/disbursements/payouts/customer-reference/{customer_reference}")

    # --- transport ---

    def _post(self, path: str, body: dict) -> dict:
        try:
            response = self.session.post(self.base_url + path, json=body, timeout=self.timeout)
        except requests.ConnectionError as error:
            # Refused before anything was sent? requests cannot always tell: treat as unknown.
            raise OutcomeUnknown(f"POST {path}: no answer ({type(error).__name__}).") from error
        except requests.Timeout as error:
            raise OutcomeUnknown(f"POST {path}: timed out after {self.timeout}s.") from error
        if response.status_code >= 500:
            raise OutcomeUnknown(f"POST {path}: FinCra answered {response.status_code}.")
        return self._data(path, response)

    def _get(self, path: str) -> dict | None:
        last_error = None
        for attempt in range(GET_ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
            try:
                response = self.session.get(self.base_url + path, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                last_error = f"{type(error).__name__}"
                continue
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code == 404:
                return None
            return self._data(path, response)
        logger.warning("FinCra GET %s failed %d times (%s)", path, GET_ATTEMPTS, last_error)
        raise Unavailable(f"GET {path}: {last_error} after {GET_ATTEMPTS} attempts.")

    @staticmethod
    def _data(path: str, response: requests.Response) -> dict:
        if response.status_code in (401, 403):
            raise Unauthorized(f"{path}: FinCra refused our keys ({response.status_code}).")
        try:
            body = response.json()
        except ValueError as error:
            raise FincraError(f"{path}: FinCra answered {response.status_code} without JSON.") from error
        if response.status_code >= 400:
            raise Rejected(f"{path}: {response.status_code} {str(body.get('message', ''))[:200]}")
        return body.get("data") or {}
