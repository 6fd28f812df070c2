"""A FinCra sandbox simulator that behaves as FinCra documents itself (``escrow/payments/contract.py``
names the FinCra file behind each rule), over real HTTP, with a hosted checkout page, signed
webhooks, a wallet — and switches for the failures a real gateway has.

Run it with ``manage.py fincra_simulator --port 8001`` (``make run`` does, when no FinCra keys are
set), or in tests: ``Simulator(...).start()`` on a free port of 127.0.0.1; ``.url``, ``.stop()``.

FinCra endpoints, each validated strictly (types, enums, required fields, per-currency rules) and
answering FinCra's own shapes — checkout-core's NestJS errors ``{statusCode, message, error}``, the
other services' ``{success: false, error, errorType[, errors]}``:

- ``POST /checkout-core/payments`` (``x-pub-key``): InitiatePaymentRequest. ``amount`` a JSON number
  >= 1, ``currency`` in FinCra's enum, ``customer.name`` with a space, ``customer.email`` an e-mail,
  ``redirectUrl`` a URI when present, ``paymentMethods`` each available for the currency, ``feeBearer``
  business|customer; unknown keys are stripped, as FinCra's whitelist does. 400 with the class-validator
  messages; **409 on a reference seen before**. 201 ``{status: true, data: {link, reference, payCode}}``.
- ``GET /checkout-core/payments/merchant-reference/{reference}`` (``x-business-id``; missing 401,
  unknown business 503 "Unable to verify business" as FinCra's BusinessIdAuth): the Payment
  ``{reference (payCode), merchantReference, amount, currency, status, customer, metadata, ...}`` —
  **no amountReceived**, 404 when unknown.
- ``POST /disbursements/payouts`` (``api-key``): CreatePayoutRequest, unknown keys refused, ``business``
  24 characters and ours (else 403 ACCESS_DENIED), NUBAN 10 digits for NGN, USD/GBP/EUR's extra fields
  (paymentScheme, sender, customerName, files, sortCode, address), the Sender's country by its type,
  ``Address.street``, and for USD the sender's ID and the bank's name (payouts/united-states.mdx); 422
  VALIDATION_FAILED with ``errors``; **422 DUPLICATE_CUSTOMER_REFERENCE on a customerReference seen before**; 422
  NO_ENOUGH_MONEY_IN_WALLET when amount + fee exceeds the wallet. 200 with the Payout (status
  processing, fee, amountCharged = amount + fee); the wallet is debited amount + fee at once and
  credited back if the payout fails. Payouts settle asynchronously (``payout_delay``): accounts in
  ``FAILING_ACCOUNTS`` fail, the others succeed (``hold_payouts`` keeps them processing).
- ``GET /disbursements/payouts/customer-reference/{reference}``: the Payout, 404 RESOURCE_NOT_FOUND.
- ``POST /core/accounts/resolve``: ResolveAccountRequest (unknown keys refused, NGN NUBAN + bankCode);
  ``{accountNumber, accountName, bankCode}``; accounts in ``UNRESOLVABLE_ACCOUNTS`` are 422
  UNPROCESSABLE_ENTITY "Account could not be resolved"; names come from ``.accounts`` (register with
  the control below), else ``DEFAULT_ACCOUNT_NAME``.
- ``GET /wallets?businessID=``: ``[{currency, availableBalance, ledgerBalance, walletNumber}]``. Every
  wallet opens with ``opening_balance`` (FinCra's sandbox wallets are pre-funded), rises by
  amountToSettle on a collection and falls by amount + fee on a payout.

Webhooks (to ``webhook_url``): FinCra's envelopes ``{event, type, data}`` — ``charge.successful``
(data with amountReceived, amountToSettle = amountReceived - fee when the business bears it, fee),
``charge.failed``, ``payout.successful`` / ``payout.failed`` (type ``disbursement``, ``business``, data
the Payout with fee and amountCharged, ``reason`` on failure) — signed like FinCra: header
``signature``, hex HMAC-SHA512 of the raw body with the webhook secret. Each delivery waits at most
``webhook_timeout`` (FinCra's 10 s) for a 2xx and is NOT retried unless ``retry_webhooks`` is on (then
after each of ``retry_delays`` seconds, FinCra's 5m/30m/2h/6h/24h compressed). Every attempt is
recorded in ``.deliveries`` (payload, raw body, status, seconds, acknowledged in time or not); each
emitted event once in ``.sent_webhooks``.

State the tests read: ``.payments`` (by merchant reference), ``.payouts`` (by customerReference),
``.wallets`` (by currency), ``.accounts``, ``.requests`` (every FinCra request: method, path, query,
parsed body, raw bytes — keys are never recorded), ``.deliveries``, ``.sent_webhooks``.

Controls (no auth; never part of FinCra):
- ``GET /pay/{payCode}``: the hosted page with a Pay button (FinCra's is ``https://checkout.fincra.com/pay/{payCode}``)
- ``POST /_simulator/checkout/{reference}/pay`` ``{"amount"?, "method"?}``: pay (under/over-pay with amount)
- ``POST /_simulator/checkout/{reference}/fail``: the charge fails (``charge.failed``)
- ``POST /_simulator/payouts/{customerReference}/fail`` | ``/succeed``: settle a payout (even a settled one)
- ``POST /_simulator/wallets`` ``{"currency", "balance"}``; ``GET /_simulator/wallets``
- ``POST /_simulator/accounts`` ``{"accountNumber", "bankCode", "accountName"}``: what resolve answers
- ``POST /_simulator/config`` with any of the switches below; ``POST /_simulator/webhooks/flush``;
  ``GET /_simulator/deliveries``

Switches: ``error_rate`` (share of FinCra calls answered 500, after acting on POSTs, so the outcome
is unknown to the caller), ``latency`` (seconds added to FinCra calls), ``drop_answer`` (act on a
checkout/payout POST, then close the connection without answering), ``duplicates`` (copies of each
webhook, sent concurrently), ``reorder`` (hold webhooks until flushed, then send newest first),
``send_webhooks`` (false: never send), ``retry_webhooks``, ``retry_delays``, ``webhook_timeout``,
``hold_payouts``, ``payout_delay``, ``collection_fee_rate``, ``payout_fee``.
"""

import hashlib
import hmac
import html
import itertools
import json
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from escrow.payments import contract

FAILING_ACCOUNTS = frozenset({"0000000000", "9999999999"})
UNRESOLVABLE_ACCOUNTS = frozenset({"1111111111"})
DEFAULT_ACCOUNT_NAME = "Amara Okeke"  # fincra-core.yaml /accounts/resolve example
# fincra-wallets.yaml Currency: the wallets a business has.
WALLET_CURRENCIES = ("NGN", "GBP", "GHS", "KES", "EUR", "USD", "UGX", "TZS", "ZAR", "ZMW", "CDF", "MWK", "MZN",
                     "RWF", "CAD", "XAF", "XOF", "EGP")
DEFAULT_CONFIG = {
    "error_rate": 0.0, "latency": 0.0, "drop_answer": False, "duplicates": 1, "reorder": False,
    "send_webhooks": True, "retry_webhooks": False, "retry_delays": [0.2, 0.5, 1.0, 2.0, 4.0],
    "webhook_timeout": contract.WEBHOOK_TIMEOUT_SECONDS, "hold_payouts": False, "payout_delay": 0.05,
    "collection_fee_rate": "0.015", "payout_fee": "10.00",
}
STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               500: "Internal Server Error", 503: "Service Unavailable"}


class _Answer(Exception):
    """An HTTP answer raised from deep inside a handler (FinCra's error shapes)."""

    def __init__(self, status: int, payload: dict):
        super().__init__(status)
        self.status, self.payload = status, payload


def _checkout_error(status: int, message) -> _Answer:  # checkout-core.yaml ErrorResponse (NestJS)
    return _Answer(status, {"statusCode": status, "message": message, "error": STATUS_TEXT[status]})


def _fincra_error(status: int, error_type: str, error: str, errors: list | None = None) -> _Answer:
    payload = {"success": False, "error": error, "errorType": error_type}  # the shared ErrorResponse
    if errors:
        payload["errors"] = errors
    return _Answer(status, payload)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-contract.decimal_places(currency)), rounding=ROUND_HALF_UP)


class Simulator:
    def __init__(self, *, secret_key: str, public_key: str, business_id: str, webhook_secret: str,
                 webhook_url: str = "", host: str = "127.0.0.1", port: int = 0,
                 opening_balance: Decimal = Decimal("10000000.00")):
        self.secret_key, self.public_key, self.business_id = secret_key, public_key, business_id
        self.webhook_secret, self.webhook_url = webhook_secret, webhook_url
        self.payments: dict[str, dict] = {}  # by merchant reference: FinCra's Payment
        self.payouts: dict[str, dict] = {}  # by customer reference: FinCra's Payout
        self.charges: dict[str, dict] = {}  # by merchant reference: what the page knows (methods, fee...)
        self.wallets: dict[str, Decimal] = {currency: opening_balance for currency in WALLET_CURRENCIES}
        self.accounts: dict[tuple[str, str], str] = {}  # (bankCode, accountNumber) -> name
        self.config = json.loads(json.dumps(DEFAULT_CONFIG))
        self.requests: list[dict] = []
        self.deliveries: list[dict] = []
        self.held_webhooks: list[dict] = []
        self.sent_webhooks: list[dict] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1000)
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"

    def start(self) -> "Simulator":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- collections ---

    def create_checkout(self, body: dict) -> dict:
        if problems := contract.checkout_body_problems(body):
            raise _checkout_error(400, problems)
        body = {key: value for key, value in body.items() if key in contract.CHECKOUT_FIELDS}  # whitelist
        currency = body["currency"]
        with self.lock:
            pay_code = f"fcr-p-{uuid.uuid4().hex[:10]}"
            reference = body.get("reference") or pay_code
            if reference in self.payments:
                raise _checkout_error(409, "Duplicate payment reference")
            self.payments[reference] = {
                "id": next(self._ids), "reference": pay_code, "merchantReference": reference,
                "amount": body["amount"], "currency": currency, "status": "pending",
                "customer": body["customer"], "metadata": body.get("metadata") or {},
                "createdAt": _now(), "updatedAt": _now(),
            }
            self.charges[reference] = {
                "methods": body.get("paymentMethods") or list(contract.payment_methods(currency)),
                "feeBearer": body.get("feeBearer", contract.FEE_BEARER), "redirectUrl": body.get("redirectUrl"),
            }
        # payments/hosted-payment-page.mdx: `reference` is the merchant's, payCode FinCra's.
        return {"link": contract.hosted_link(self.url, pay_code), "reference": reference, "payCode": pay_code}

    def pay(self, reference: str, amount=None, method: str | None = None) -> dict:
        """The buyer pays (``amount``: what arrived, for under/over-payments); charge.successful."""
        with self.lock:
            payment = self._pending_payment(reference)
            charge = self.charges[reference]
            received = contract.money(amount) if amount is not None else payment["amount"]
            currency = payment["currency"]
            fee = _quantize(payment["amount"] * Decimal(str(self.config["collection_fee_rate"])), currency)
            settle = received - fee if charge["feeBearer"] == "business" else received
            payment.update(status=contract.PAYMENT_SUCCESS, updatedAt=_now())
            charge.update(amountReceived=received, amountToSettle=settle, fee=fee,
                          method=method or charge["methods"][0])
            self.wallets[currency] = self.wallets.get(currency, Decimal(0)) + settle
            data = self._charge_data(reference)
        self.emit(contract.CHARGE_SUCCESSFUL, contract.WEBHOOK_TYPES["charge"], data)
        return data

    def fail_checkout(self, reference: str) -> dict:
        with self.lock:
            payment = self._pending_payment(reference)
            payment.update(status=contract.PAYMENT_FAILED, updatedAt=_now())
            self.charges[reference]["method"] = self.charges[reference]["methods"][0]
            data = self._charge_data(reference)
        self.emit(contract.CHARGE_FAILED, contract.WEBHOOK_TYPES["charge"], data)
        return data

    def _pending_payment(self, reference: str) -> dict:
        payment = self.payments.get(reference)
        if payment is None:
            raise _checkout_error(404, "Payment not found")
        if payment["status"] != "pending":
            raise _checkout_error(409, f"Payment is {payment['status']}")
        return payment

    def _charge_data(self, reference: str) -> dict:
        payment, charge = self.payments[reference], self.charges[reference]
        data = {
            "id": payment["id"], "reference": payment["reference"], "chargeReference": f"chg-{payment['id']}",
            "merchantReference": reference, "amount": payment["amount"], "currency": payment["currency"],
            "status": payment["status"], "type": charge["method"], "feeBearer": charge["feeBearer"],
            "settlementDestination": "wallet", "customer": payment["customer"], "metadata": payment["metadata"],
        }
        if payment["status"] == contract.PAYMENT_SUCCESS:
            data.update(amountReceived=charge["amountReceived"], amountToSettle=charge["amountToSettle"],
                        fee=charge["fee"])
        return data

    # --- payouts ---

    def create_payout(self, body: dict) -> dict:
        if problems := contract.payout_body_problems(body):
            raise _fincra_error(422, "VALIDATION_FAILED", problems[0], problems)
        if body["business"] != self.business_id:
            raise _fincra_error(403, "ACCESS_DENIED", "Cannot proceed with payout. Invalid business supplied")
        source, destination = body["sourceCurrency"], body["destinationCurrency"]
        if source != destination and not body.get("quoteReference"):
            raise _fincra_error(422, "UNPROCESSABLE_ENTITY", "A quoteReference is required for cross-currency payouts")
        reference = body["customerReference"]
        beneficiary = body["beneficiary"]
        with self.lock:
            if reference in self.payouts:
                raise _fincra_error(422, contract.DUPLICATE_CUSTOMER_REFERENCE,
                                    "Cannot continue, Duplicate Customer Reference Passed")
            if source not in self.wallets:
                raise _fincra_error(404, "RESOURCE_NOT_FOUND", f"You do not have a {source} wallet")
            amount = body["amount"]
            fee = _quantize(Decimal(str(self.config["payout_fee"])), source)
            if self.wallets[source] < amount + fee:
                raise _fincra_error(422, "NO_ENOUGH_MONEY_IN_WALLET",
                                    "You dont have enough money in your wallet to make this payout")
            self.wallets[source] -= amount + fee
            payout = self.payouts[reference] = {
                "id": next(self._ids), "reference": f"PO-{uuid.uuid4().hex[:10]}", "customerReference": reference,
                "status": "processing", "sourceCurrency": source, "destinationCurrency": destination,
                "amountCharged": amount + fee, "amountReceived": amount, "fee": fee,
                "paymentDestination": body["paymentDestination"],
                "recipient": {"name": beneficiary.get("accountHolderName") or beneficiary.get("firstName", ""),
                              "accountNumber": beneficiary["accountNumber"], "type": beneficiary["type"]},
                "createdAt": _now(), "updatedAt": _now(),
            }
            answer = {**payout, "documentsRequired": []}  # payouts/initiate-transfer.mdx
        if not self.config["hold_payouts"]:
            outcome = "failed" if beneficiary["accountNumber"] in FAILING_ACCOUNTS else "successful"
            timer = threading.Timer(float(self.config["payout_delay"]), self._settle_quietly, args=(reference, outcome))
            timer.daemon = True
            timer.start()
        return answer

    def _settle_quietly(self, reference: str, outcome: str) -> None:
        try:
            self.settle_payout(reference, outcome)
        except _Answer:
            pass

    def settle_payout(self, reference: str, outcome: str) -> dict:
        """Settle a payout (successful|failed), even a settled one; a failure gives the wallet back
        amount + fee. Emits payout.<outcome>."""
        with self.lock:
            payout = self.payouts.get(reference)
            if payout is None:
                raise _fincra_error(404, "RESOURCE_NOT_FOUND", "Payout not found")
            if outcome == payout["status"]:
                return dict(payout)
            if outcome == contract.PAYOUT_FAILED:
                self.wallets[payout["sourceCurrency"]] += payout["amountCharged"]
                payout["reason"] = "Beneficiary bank rejected the transfer"
            elif payout["status"] == contract.PAYOUT_FAILED:  # failed -> successful: debit again
                self.wallets[payout["sourceCurrency"]] -= payout["amountCharged"]
                payout.pop("reason", None)
            payout.update(status=outcome, updatedAt=_now())
            data = dict(payout)
        self.emit(f"payout.{outcome}", contract.WEBHOOK_TYPES["payout"], data, business=self.business_id)
        return data

    # --- account resolution and wallets ---

    def resolve(self, body: dict) -> dict:
        if problems := contract.resolve_body_problems(body):
            raise _fincra_error(422, "VALIDATION_FAILED", problems[0], problems)
        number, code = body.get("accountNumber", ""), body.get("bankCode", "")
        if number in UNRESOLVABLE_ACCOUNTS:
            raise _fincra_error(422, "UNPROCESSABLE_ENTITY",
                                "Account could not be resolved. Please check your selection and try again")
        with self.lock:
            name = self.accounts.get((code, number), DEFAULT_ACCOUNT_NAME)
        return {"accountNumber": number, "accountName": name, "bankCode": code}

    def register_account(self, *, account_number: str, bank_code: str, account_name: str) -> None:
        with self.lock:
            self.accounts[(bank_code, account_number)] = account_name

    def set_balance(self, currency: str, balance) -> None:
        with self.lock:
            self.wallets[currency] = contract.money(balance)

    def wallet_list(self) -> list[dict]:
        with self.lock:
            return [{"id": index + 1, "currency": currency, "availableBalance": balance, "ledgerBalance": balance,
                     "walletNumber": f"{index + 1:010d}"} for index, (currency, balance) in enumerate(self.wallets.items())]

    # --- webhooks ---

    def emit(self, event: str, kind: str, data: dict, **extra) -> None:
        if not self.config["send_webhooks"] or not self.webhook_url:
            return
        payload = {"event": event, "type": kind, **extra, "data": data}
        with self.lock:
            if self.config["reorder"]:
                self.held_webhooks.append(payload)
                return
        self.deliver(payload)

    def flush(self) -> int:
        with self.lock:
            held, self.held_webhooks = self.held_webhooks, []
        for payload in reversed(held):  # newest first: out of order
            self.deliver(payload)
        return len(held)

    def deliver(self, payload: dict) -> None:
        """Send ``duplicates`` copies concurrently and wait for their first attempts (each at most
        ``webhook_timeout`` s); retries, when switched on, happen later in the background."""
        raw = contract.to_json(payload).encode()
        signature = hmac.new(self.webhook_secret.encode(), raw, hashlib.sha512).hexdigest()
        copies = [threading.Thread(target=self._attempt, args=(payload, raw, signature, copy, 1), daemon=True)
                  for copy in range(max(1, int(self.config["duplicates"])))]
        for thread in copies:
            thread.start()
        for thread in copies:
            thread.join(timeout=float(self.config["webhook_timeout"]) + 5)
        with self.lock:
            self.sent_webhooks.append(payload)

    def _attempt(self, payload: dict, raw: bytes, signature: str, copy: int, attempt: int) -> None:
        timeout = float(self.config["webhook_timeout"])
        status, error = None, ""
        started = time.monotonic()
        try:
            response = requests.post(self.webhook_url, data=raw, timeout=timeout, headers={
                "content-type": "application/json", contract.SIGNATURE_HEADER: signature})
            status = response.status_code
        except requests.RequestException as failure:
            error = type(failure).__name__
        seconds = time.monotonic() - started
        acknowledged = status is not None and 200 <= status < 300 and seconds <= timeout
        with self.lock:
            self.deliveries.append({"event": payload["event"], "payload": payload, "raw": raw, "signature": signature,
                                    "copy": copy, "attempt": attempt, "status": status, "error": error,
                                    "seconds": round(seconds, 3), "acknowledged": acknowledged})
            delays = list(self.config["retry_delays"]) if self.config["retry_webhooks"] else []
        if not acknowledged and attempt <= len(delays):
            timer = threading.Timer(float(delays[attempt - 1]), self._attempt,
                                    args=(payload, raw, signature, copy, attempt + 1))
            timer.daemon = True
            timer.start()

    # --- configuration ---

    def configure(self, switches: dict) -> dict:
        unknown = set(switches) - set(DEFAULT_CONFIG)
        if unknown:
            raise _Answer(422, {"success": False, "error": f"unknown switches: {sorted(unknown)}"})
        with self.lock:
            self.config.update(switches)
            return dict(self.config)


CHECKOUT_PAGE = """<!doctype html><html><head><title>FinCra checkout (simulator)</title></head>
<body><h1>Pay {amount} {currency}</h1><p>Reference {reference}</p><p>Methods: {methods}</p>
<form method="post" action="/_simulator/checkout/{reference}/pay"><button type="submit">Pay</button></form>
</body></html>"""

REFERENCE = r"([^/]+)"


def _handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self._route("GET")

        def do_POST(self):  # noqa: N802
            self._route("POST")

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}
            raw = self._raw()
            control = path.startswith("/_simulator/") or (method == "GET" and path.startswith("/pay/"))
            try:
                if control:
                    status, payload = self._control(method, path, self._control_body(raw))
                else:
                    status, payload = self._fincra(method, path, query, raw)
            except _Answer as answer:
                status, payload = answer.status, answer.payload
            except (KeyError, ValueError, TypeError, ArithmeticError) as error:
                if not control:
                    raise  # a simulator bug: let it show
                status, payload = 400, {"success": False, "error": f"malformed control request: {error}"}
            if payload is None:  # drop_answer: acted, then hang up without a word
                self.close_connection = True
                return
            if isinstance(payload, str):
                self._send(status, payload.encode(), "text/html; charset=utf-8")
            elif control:
                self._send(status, json.dumps(payload, default=_plain).encode(), "application/json")
            else:
                self._send(status, contract.to_json(payload).encode(), "application/json")

        # --- FinCra ---

        def _fincra(self, method, path, query, raw):
            checkout = path.startswith("/checkout-core/")
            body = self._fincra_body(raw, checkout) if method == "POST" else {}
            with sim.lock:
                sim.requests.append({"method": method, "path": path, "query": query, "body": body, "raw": raw})
            self._authenticate(method, path, checkout)
            if sim.config["latency"]:
                time.sleep(float(sim.config["latency"]))
            fail = random.random() < float(sim.config["error_rate"])
            if fail and method == "GET":
                raise self._server_error(checkout)
            if method == "POST" and path == contract.CHECKOUT_PATH:
                status, answer = 201, {"status": True, "message": "Hosted link generated",
                                       "data": sim.create_checkout(body)}
            elif method == "POST" and path == contract.PAYOUT_PATH:
                status, answer = 200, {"success": True, "message": "Payout initiated successfully",
                                       "data": sim.create_payout(body)}
            elif method == "POST" and path == contract.RESOLVE_ACCOUNT_PATH:
                status, answer = 200, {"success": True, "message": "Account resolved successfully",
                                       "data": sim.resolve(body)}
            elif method == "GET" and (m := _match(contract.CHECKOUT_BY_MERCHANT_REFERENCE_PATH, path)):
                with sim.lock:
                    payment = sim.payments.get(m)
                    payment = dict(payment) if payment else None
                if payment is None:
                    raise _checkout_error(404, "Payment not found")
                status, answer = 200, {"status": True, "message": "success", "data": payment}
            elif method == "GET" and (m := _match(contract.PAYOUT_BY_CUSTOMER_REFERENCE_PATH, path)):
                with sim.lock:
                    payout = sim.payouts.get(m)
                    payout = dict(payout) if payout else None
                if payout is None:
                    raise _fincra_error(404, "RESOURCE_NOT_FOUND", "Payout not found")
                status, answer = 200, {"success": True, "message": "Payout fetched successfully", "data": payout}
            elif method == "GET" and path == contract.WALLETS_PATH:
                business = query.get(contract.WALLETS_BUSINESS_PARAMETER)
                if not business:
                    raise _fincra_error(422, "UNPROCESSABLE_ENTITY", "No payload sent")
                if business != sim.business_id:
                    raise _fincra_error(403, "ACCESS_DENIED", "You are not allowed to access this business")
                status, answer = 200, {"success": True, "message": "wallets fetched", "data": sim.wallet_list()}
            elif checkout:
                raise _checkout_error(404, f"Cannot {method} {path}")
            else:
                raise _fincra_error(404, "RESOURCE_NOT_FOUND", f"API Endpoint ({path} -> {method}) not found")
            if method == "POST" and path != contract.RESOLVE_ACCOUNT_PATH and sim.config["drop_answer"]:
                return 0, None
            if fail:  # after acting: the caller cannot know whether a POST happened
                raise self._server_error(checkout)
            return status, answer

        @staticmethod
        def _server_error(checkout: bool) -> _Answer:
            if checkout:
                return _checkout_error(500, "Internal server error")
            return _fincra_error(500, "INTERNAL_SERVER_ERROR",
                                 "Error occured during operation. We're currently checking why this is happening.")

        def _authenticate(self, method, path, checkout) -> None:
            if checkout and method == "POST":  # PubKeyAuth
                key = self.headers.get(contract.HEADER_PUBLIC_KEY)
                if not key:
                    raise _checkout_error(401, "x-pub-key must be provided in the header")
                if key != sim.public_key:
                    raise _checkout_error(403, "Forbidden resource")
            elif checkout:  # BusinessIdAuth: missing 401, unresolvable business 503
                business = self.headers.get(contract.HEADER_BUSINESS_ID)
                if not business:
                    raise _checkout_error(401, "x-business-id must be provided in the header")
                if business != sim.business_id:
                    raise _checkout_error(503, "Unable to verify business")
            else:  # ApiKeyAuth
                key = self.headers.get(contract.HEADER_SECRET_KEY) or self.headers.get("apikey")
                if not key:
                    raise _fincra_error(403, "ACCESS_DENIED", "No API Key Provided")
                if key != sim.secret_key:
                    raise _fincra_error(403, "ACCESS_DENIED", "Invalid API Key Provided")

        def _fincra_body(self, raw: bytes, checkout: bool) -> dict:
            try:
                body = contract.from_json(raw) if raw else None
            except ValueError:
                body = None
            if isinstance(body, dict):
                return body
            if checkout:
                raise _checkout_error(400, "Unexpected token in JSON body")
            raise _fincra_error(422, "UNPROCESSABLE_ENTITY", "No payload sent")

        # --- controls ---

        def _control(self, method, path, body):
            if method == "GET" and (m := re.fullmatch(r"/pay/" + REFERENCE, path)):
                pay_code = unquote(m.group(1))
                with sim.lock:
                    reference = next((ref for ref, p in sim.payments.items() if p["reference"] == pay_code), "")
                    payment, charge = sim.payments.get(reference), sim.charges.get(reference)
                if payment is None:
                    raise _checkout_error(404, "Payment not found")
                return 200, CHECKOUT_PAGE.format(amount=html.escape(format(payment["amount"], "f")),
                                                 currency=html.escape(payment["currency"]),
                                                 reference=html.escape(reference),
                                                 methods=html.escape(", ".join(charge["methods"])))
            if method == "POST" and (m := re.fullmatch(r"/_simulator/checkout/" + REFERENCE + "/pay", path)):
                return 200, {"status": True, "data": sim.pay(unquote(m.group(1)), body.get("amount"),
                                                               body.get("method"))}
            if method == "POST" and (m := re.fullmatch(r"/_simulator/checkout/" + REFERENCE + "/fail", path)):
                return 200, {"status": True, "data": sim.fail_checkout(unquote(m.group(1)))}
            if method == "POST" and (m := re.fullmatch(r"/_simulator/payouts/" + REFERENCE + "/(fail|succeed)", path)):
                outcome = contract.PAYOUT_FAILED if m.group(2) == "fail" else contract.PAYOUT_SUCCESSFUL
                return 200, {"status": True, "data": sim.settle_payout(unquote(m.group(1)), outcome)}
            if method == "POST" and path == "/_simulator/wallets":
                sim.set_balance(str(body["currency"]), body["balance"])
                return 200, {"status": True, "data": sim.wallet_list()}
            if method == "GET" and path == "/_simulator/wallets":
                return 200, {"status": True, "data": sim.wallet_list()}
            if method == "POST" and path == "/_simulator/accounts":
                sim.register_account(account_number=str(body["accountNumber"]), bank_code=str(body["bankCode"]),
                                     account_name=str(body["accountName"]))
                return 200, {"status": True, "data": body}
            if method == "POST" and path == "/_simulator/config":
                return 200, {"status": True, "data": sim.configure(body)}
            if method == "POST" and path == "/_simulator/webhooks/flush":
                return 200, {"status": True, "data": {"sent": sim.flush()}}
            if method == "GET" and path == "/_simulator/deliveries":
                with sim.lock:
                    rows = [{k: v for k, v in row.items() if k != "raw"} for row in sim.deliveries]
                return 200, {"status": True, "data": rows}
            return 404, {"success": False, "error": "not found"}

        def _control_body(self, raw: bytes) -> dict:
            if not raw or self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return {}  # the hosted page's Pay button
            try:
                body = contract.from_json(raw)
            except ValueError:
                raise _Answer(400, {"success": False, "error": "malformed JSON"}) from None
            if not isinstance(body, dict):
                raise _Answer(400, {"success": False, "error": "body must be an object"})
            return body

        def _raw(self) -> bytes:
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _match(template: str, path: str) -> str | None:
    pattern = re.escape(template).replace(re.escape("{reference}"), REFERENCE)
    m = re.fullmatch(pattern, path)
    return unquote(m.group(1)) if m else None


def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON")
