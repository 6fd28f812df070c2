"""A FinCra sandbox simulator: the endpoints Amani uses, over real HTTP, with FinCra's auth
headers and response shapes, a hosted checkout page, signed webhooks — and switches for the
failures a real gateway has.

Run it with ``manage.py fincra_simulator --port 8001`` (``make run`` does, when no FinCra keys
are set), or in tests: ``Simulator(...).start()`` on a free port of 127.0.0.1.

FinCra endpoints (``api-key`` must be the secret key, ``x-business-id`` the business, else 401):
- ``POST /checkout/payments`` → ``{"status": true, "data": {"link", "reference", "payCode"}}``
- ``GET /checkout/payments/merchant-reference/{reference}`` → status ``pending|success``, amounts
- ``POST /disbursements/payouts`` → ``{"data": {"reference", "customerReference", "status": "processing"}}``
- ``GET /disbursements/payouts/customer-reference/{reference}`` → status ``processing|successful|failed``

Simulator controls (no auth; never part of FinCra):
- ``GET /checkout/{reference}``: the hosted page with a Pay button
- ``POST /_simulator/checkout/{reference}/pay`` ``{"amount"?}``: pay (under/over-pay with amount)
- ``POST /_simulator/payouts/{customerReference}/fail``: fail a payout (even a successful one)
- ``POST /_simulator/config`` with any of the switches below; ``POST /_simulator/webhooks/flush``

Switches: ``error_rate`` (share of FinCra calls answered 500, after acting on POSTs, so the
outcome is unknown to the caller), ``latency`` (seconds added to FinCra calls), ``duplicates``
(copies of each webhook, sent concurrently), ``reorder`` (hold webhooks until flushed, then send
newest first), ``send_webhooks`` (false: never send). Payouts to an account number in
``FAILING_ACCOUNTS`` fail; the others succeed.
"""

import hashlib
import hmac
import html
import json
import random
import re
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FAILING_ACCOUNTS = frozenset({"0000000000", "9999999999"})


class Simulator:
    def __init__(self, *, secret_key: str, public_key: str, business_id: str, webhook_secret: str,
                 webhook_url: str = "", host: str = "127.0.0.1", port: int = 0):
        self.secret_key, self.public_key, self.business_id = secret_key, public_key, business_id
        self.webhook_secret, self.webhook_url = webhook_secret, webhook_url
        self.payments: dict[str, dict] = {}  # by merchant reference
        self.payouts: dict[str, dict] = {}  # by customer reference
        self.config = {"error_rate": 0.0, "latency": 0.0, "duplicates": 1, "reorder": False, "send_webhooks": True}
        self.held_webhooks: list[dict] = []
        self.sent_webhooks: list[dict] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"

    def start(self) -> "Simulator":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- behaviour ---

    def create_checkout(self, body: dict) -> dict:
        reference = str(body.get("reference") or "")
        if not reference or not body.get("amount") or not body.get("currency"):
            raise _ClientError(422, "reference, amount and currency are required")
        with self.lock:
            payment = self.payments.get(reference)
            if payment is None:  # FinCra keys checkouts by merchant reference: a repeat returns the same
                payment = self.payments[reference] = {
                    "reference": f"fcr-{uuid.uuid4().hex[:16]}", "merchantReference": reference,
                    "payCode": uuid.uuid4().hex[:8], "amount": str(body["amount"]), "currency": body["currency"],
                    "amountReceived": None, "status": "pending", "customer": body.get("customer") or {},
                    "metadata": body.get("metadata") or {},
                }
        return {"link": f"{self.url}/checkout/{reference}", "reference": payment["reference"],
                "payCode": payment["payCode"]}

    def pay(self, reference: str, amount: str | None = None) -> dict:
        with self.lock:
            payment = self.payments.get(reference)
            if payment is None:
                raise _ClientError(404, "no such checkout")
            payment.update(status="success", amountReceived=str(Decimal(amount or payment["amount"])))
        self.emit("charge.successful", {
            "reference": payment["reference"], "merchantReference": reference, "status": "success",
            "amount": payment["amount"], "amountReceived": payment["amountReceived"], "currency": payment["currency"],
        })
        return payment

    def create_payout(self, body: dict) -> dict:
        reference = str(body.get("customerReference") or "")
        beneficiary = body.get("beneficiary") or {}
        if not reference or not body.get("amount") or not beneficiary.get("accountNumber"):
            raise _ClientError(422, "customerReference, amount and beneficiary.accountNumber are required")
        if body.get("business") != self.business_id:
            raise _ClientError(422, "unknown business")
        with self.lock:
            if reference in self.payouts:
                raise _ClientError(409, "duplicate customerReference")
            payout = self.payouts[reference] = {
                "reference": f"fpo-{uuid.uuid4().hex[:16]}", "customerReference": reference,
                "amount": str(body["amount"]), "currency": body.get("destinationCurrency"), "status": "processing",
                "accountNumber": beneficiary["accountNumber"],
            }
        outcome = "failed" if beneficiary["accountNumber"] in FAILING_ACCOUNTS else "successful"
        threading.Timer(0.05, self.settle_payout, args=(reference, outcome)).start()
        return {"reference": payout["reference"], "customerReference": reference, "status": "processing"}

    def settle_payout(self, reference: str, outcome: str) -> dict:
        with self.lock:
            payout = self.payouts.get(reference)
            if payout is None:
                raise _ClientError(404, "no such payout")
            payout["status"] = outcome
        self.emit(f"payout.{outcome}", {"reference": payout["reference"], "customerReference": reference,
                                        "status": outcome, "amountCharged": payout["amount"]})
        return payout

    # --- webhooks ---

    def emit(self, event: str, data: dict) -> None:
        if not self.config["send_webhooks"] or not self.webhook_url:
            return
        payload = {"event": event, "data": data}
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
        body = json.dumps(payload).encode()
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha512).hexdigest()

        def send():
            try:
                requests.post(self.webhook_url, data=body, timeout=30,
                              headers={"content-type": "application/json", "signature": signature})
            except requests.RequestException:
                pass  # FinCra would retry later; reconciliation covers what never arrives

        copies = [threading.Thread(target=send) for _ in range(max(1, int(self.config["duplicates"])))]
        for copy in copies:
            copy.start()
        for copy in copies:
            copy.join(timeout=60)
        with self.lock:
            self.sent_webhooks.append(payload)


class _ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


CHECKOUT_PAGE = """<!doctype html><html><head><title>FinCra checkout (simulator)</title></head>
<body><h1>Pay {amount} {currency}</h1><p>Reference {reference}</p>
<form method="post" action="/_simulator/checkout/{reference}/pay"><button type="submit">Pay</button></form>
</body></html>"""


def _handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self._route("GET")

        def do_POST(self):  # noqa: N802
            self._route("POST")

        def _route(self, method: str) -> None:
            try:
                body = self._body()
                status, payload = self._dispatch(method, self.path.split("?")[0], body)
            except _ClientError as error:
                status, payload = error.status, {"success": False, "message": error.message}
            except (ValueError, TypeError, ArithmeticError):
                status, payload = 400, {"success": False, "message": "malformed request"}
            if isinstance(payload, str):
                self._send(status, payload.encode(), "text/html; charset=utf-8")
            else:
                self._send(status, json.dumps(payload).encode(), "application/json")

        def _dispatch(self, method, path, body):
            if path.startswith("/_simulator/") or (method == "GET" and path.startswith("/checkout/")
                                                   and not path.startswith("/checkout/payments")):
                return self._control(method, path, body)
            if self.headers.get("api-key") != sim.secret_key:
                return 401, {"success": False, "message": "Unauthorized: invalid api-key"}
            if sim.config["latency"]:
                time.sleep(float(sim.config["latency"]))
            fail = random.random() < float(sim.config["error_rate"])
            if method == "POST" and path == "/checkout/payments":
                data = sim.create_checkout(body)
            elif method == "POST" and path == "/disbursements/payouts":
                if self.headers.get("x-business-id") != sim.business_id:
                    return 401, {"success": False, "message": "Unauthorized: invalid business"}
                data = sim.create_payout(body)
            elif method == "GET" and (m := re.fullmatch(r"/checkout/payments/merchant-reference/([\w-]+)", path)):
                data = _copy(sim.payments.get(m.group(1)))
            elif method == "GET" and (m := re.fullmatch(r"/disbursements/payouts/customer-reference/([\w-]+)", path)):
                data = _copy(sim.payouts.get(m.group(1)))
            else:
                return 404, {"success": False, "message": "not found"}
            if fail:  # after acting: the caller cannot know whether a POST happened
                return 500, {"success": False, "message": "internal server error"}
            if data is None:
                return 404, {"success": False, "message": "not found"}
            return (201 if method == "POST" else 200), {"status": True, "message": "ok", "data": data}

        def _control(self, method, path, body):
            if method == "GET" and (m := re.fullmatch(r"/checkout/([\w-]+)", path)):
                payment = sim.payments.get(m.group(1))
                if payment is None:
                    raise _ClientError(404, "no such checkout")
                return 200, CHECKOUT_PAGE.format(amount=html.escape(payment["amount"]),
                                                 currency=html.escape(payment["currency"]),
                                                 reference=html.escape(m.group(1)))
            if method == "POST" and (m := re.fullmatch(r"/_simulator/checkout/([\w-]+)/pay", path)):
                payment = sim.pay(m.group(1), body.get("amount"))
                return 200, {"status": True, "data": _copy(payment)}
            if method == "POST" and (m := re.fullmatch(r"/_simulator/payouts/([\w-]+)/fail", path)):
                return 200, {"status": True, "data": _copy(sim.settle_payout(m.group(1), "failed"))}
            if method == "POST" and path == "/_simulator/config":
                unknown = set(body) - set(sim.config)
                if unknown:
                    raise _ClientError(422, f"unknown switches: {sorted(unknown)}")
                sim.config.update(body)
                return 200, {"status": True, "data": sim.config}
            if method == "POST" and path == "/_simulator/webhooks/flush":
                return 200, {"status": True, "data": {"sent": sim.flush()}}
            return 404, {"success": False, "message": "not found"}

        def _body(self) -> dict:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return {}
            if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return {}  # the hosted page's Pay button
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
            return body

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _copy(record: dict | None) -> dict | None:
    return dict(record) if record is not None else None
