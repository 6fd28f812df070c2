"""FinCra over real HTTP: the bundled simulator on 127.0.0.1, its webhooks delivered to a live
server of the app. The client is never patched; failures come from the simulator's switches."""

import hashlib
import hmac
import json
import secrets
import time
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from escrow.models import EscrowEvent, ProjectStatus, Transaction, TransactionStatus, WebhookEvent
from escrow.payments.fincra import FincraClient, Unauthorized
from escrow.payments.simulator import Simulator
from escrow.selectors import available_balance
from tests import builders
from tests.api.conftest import client_for
from tests.helpers import assert_ledger_invariants, db_snapshot

pytestmark = pytest.mark.slow

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}
FAILING_BANK = {**BANK, "account_number": "0000000000"}


@pytest.fixture
def fincra(live_server, settings, committed_db):
    keys = {name: secrets.token_hex(8) for name in ("secret_key", "public_key", "business_id", "webhook_secret")}
    simulator = Simulator(**keys, webhook_url=f"{live_server.url}/api/v1/webhooks/fincra/").start()
    settings.FINCRA_BASE_URL = simulator.url
    settings.FINCRA_SECRET_KEY, settings.FINCRA_PUBLIC_KEY = keys["secret_key"], keys["public_key"]
    settings.FINCRA_BUSINESS_ID, settings.FINCRA_WEBHOOK_SECRET = keys["business_id"], keys["webhook_secret"]
    settings.FINCRA_TIMEOUT_SECONDS = 1
    simulator.webhook_endpoint = f"{live_server.url}/api/v1/webhooks/fincra/"
    yield simulator
    simulator.stop()


def switch(simulator, **config):
    assert requests.post(f"{simulator.url}/_simulator/config", json=config, timeout=5).ok


def fund(project) -> dict:
    response = client_for(project.buyer).post(f"/api/v1/projects/{project.pk}/fund/")
    assert response.status_code == 200, response.content
    return response.json()


def pay(simulator, reference, **body):
    response = requests.post(f"{simulator.url}/_simulator/checkout/{reference}/pay", json=body, timeout=30)
    assert response.ok, response.text


def signed(simulator, payload: dict) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, hmac.new(simulator.webhook_secret.encode(), body, hashlib.sha512).hexdigest()


def wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def holds(project) -> int:
    return Transaction.objects.filter(project=project, transaction_type="escrow_hold").count()


# --- funding ---

def test_fund_pay_webhook_verify_hold_active(fincra):
    project = builders.accepted()
    funding = fund(project)
    assert funding["checkout_url"] == f"{fincra.url}/checkout/{funding['reference']}"
    page = requests.get(funding["checkout_url"], timeout=5)
    assert page.status_code == 200 and "<button" in page.text and "1000.00 USD" in page.text
    assert fund(project)["checkout_url"] == funding["checkout_url"]  # asked once: the same checkout
    assert len(fincra.payments) == 1

    pay(fincra, funding["reference"])

    project = builders.refreshed(project)
    assert project.status == ProjectStatus.ACTIVE and holds(project) == 1
    deposit = Transaction.objects.get(pk=funding["reference"])
    assert deposit.status == TransactionStatus.COMPLETED
    assert deposit.gateway_transaction_id == fincra.payments[funding["reference"]]["reference"]
    assert WebhookEvent.objects.get().flag == ""
    assert_ledger_invariants()


def test_the_same_webhook_ten_times_holds_once(fincra):
    project = builders.accepted()
    reference = fund(project)["reference"]
    switch(fincra, duplicates=10)  # ten copies, sent concurrently
    pay(fincra, reference)
    body, signature = signed(fincra, fincra.sent_webhooks[-1])
    for _ in range(3):  # and late copies, one by one
        assert requests.post(fincra.webhook_endpoint, data=body, headers={"signature": signature}, timeout=10).ok
    assert holds(project) == 1
    assert EscrowEvent.objects.filter(project=project, action="confirm_deposit").count() == 1
    assert WebhookEvent.objects.count() == 1
    assert_ledger_invariants()


@pytest.mark.parametrize("signature", [None, "", "0" * 128, "forged"])
def test_forged_or_missing_signatures_are_401_and_store_nothing(fincra, signature):
    project = builders.accepted()
    reference = fund(project)["reference"]
    body = json.dumps({"event": "charge.successful", "data": {"merchantReference": reference}}).encode()
    before = db_snapshot()
    headers = {} if signature is None else {"signature": signature}
    response = requests.post(fincra.webhook_endpoint, data=body, headers=headers, timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
    assert WebhookEvent.objects.count() == 0 and db_snapshot() == before


def test_a_signed_event_fincra_does_not_confirm_holds_nothing(fincra):
    project = builders.accepted()
    reference = fund(project)["reference"]  # a checkout exists, but nobody paid
    body, signature = signed(fincra, {"event": "charge.successful",
                                      "data": {"merchantReference": reference, "amountReceived": "1000.00"}})
    response = requests.post(fincra.webhook_endpoint, data=body, headers={"signature": signature}, timeout=10)
    assert response.status_code == 200 and response.json()["flag"] == "not_paid"
    assert holds(project) == 0 and builders.refreshed(project).status == ProjectStatus.PENDING
    assert WebhookEvent.objects.get().flag == "not_paid"


@pytest.mark.parametrize("paid", ["999.99", "1000.01"])
def test_under_and_over_payment_hold_nothing_and_are_flagged(fincra, paid):
    project = builders.accepted()
    reference = fund(project)["reference"]
    pay(fincra, reference, amount=paid)
    deposit = Transaction.objects.get(pk=reference)
    assert deposit.extra_data["flag"] == "amount_mismatch" and deposit.extra_data["amount_received"] == paid
    assert holds(project) == 0 and builders.refreshed(project).status == ProjectStatus.PENDING
    assert WebhookEvent.objects.get().flag == "amount_mismatch"


def test_events_for_unknown_references_are_stored_and_flagged(fincra):
    for payload in ({"event": "charge.successful", "data": {"merchantReference": "not-ours"}},
                    {"event": "virtualaccount.approved", "data": {"reference": "x"}}):
        body, signature = signed(fincra, payload)
        assert requests.post(fincra.webhook_endpoint, data=body, headers={"signature": signature}, timeout=10).ok
    assert sorted(WebhookEvent.objects.values_list("flag", flat=True)) == ["unhandled_event", "unknown_reference"]


def test_a_webhook_never_sent_is_settled_by_reconciliation(fincra):
    project = builders.accepted()
    reference = fund(project)["reference"]
    switch(fincra, send_webhooks=False)
    pay(fincra, reference)
    assert builders.refreshed(project).status == ProjectStatus.PENDING
    call_command("fincra_reconcile", "--older-than", "0", stdout=(out := _Buffer()))
    assert f"deposit {reference}: pending -> completed" in out.text
    assert builders.refreshed(project).status == ProjectStatus.ACTIVE and holds(project) == 1
    call_command("fincra_reconcile", "--older-than", "0", stdout=(again := _Buffer()))
    assert "0 changed" in again.text and holds(project) == 1


def test_reordered_deliveries_settle_each_project_once(fincra):
    first, second = builders.accepted(), builders.accepted()
    references = [fund(first)["reference"], fund(second)["reference"]]
    switch(fincra, reorder=True)
    for reference in references:
        pay(fincra, reference)
    assert holds(first) == holds(second) == 0  # nothing delivered yet
    flushed = requests.post(f"{fincra.url}/_simulator/webhooks/flush", timeout=30).json()["data"]["sent"]
    assert flushed == 2
    assert [e.reference for e in WebhookEvent.objects.order_by("created_at")] == references[::-1]  # newest first
    assert holds(first) == holds(second) == 1
    assert_ledger_invariants()


# --- payouts ---

def withdraw(project, bank=BANK, amount="975.00") -> dict:
    response = client_for(project.seller).post("/api/v1/withdrawals/", {"amount": amount, "currency": "USD",
                                                                        "bank_account": bank}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def status_of(withdrawal: dict) -> str:
    return Transaction.objects.get(pk=withdrawal["id"]).status


def test_a_payout_succeeds(fincra):
    project = builders.completed()
    withdrawal = withdraw(project)
    assert withdrawal["status"] in ("processing", "completed")
    assert fincra.payouts[withdrawal["id"]]["accountNumber"] == BANK["account_number"]
    assert wait_for(lambda: status_of(withdrawal) == "completed")
    assert available_balance(project.seller_id, "USD") == Decimal("0.00")
    assert_ledger_invariants()


def test_a_failed_payout_gives_the_balance_back(fincra):
    project = builders.completed()
    withdrawal = withdraw(project, bank=FAILING_BANK)
    assert wait_for(lambda: status_of(withdrawal) == "failed")
    assert available_balance(project.seller_id, "USD") == Decimal("975.00")
    assert_ledger_invariants()


def test_failed_after_successful_keeps_the_first_and_flags_it(fincra):
    project = builders.completed()
    withdrawal = withdraw(project)
    assert wait_for(lambda: status_of(withdrawal) == "completed")
    assert requests.post(f"{fincra.url}/_simulator/payouts/{withdrawal['id']}/fail", timeout=30).ok
    row = Transaction.objects.get(pk=withdrawal["id"])
    assert row.status == "completed" and row.extra_data["flag"] == "conflicting_outcome"
    assert WebhookEvent.objects.filter(event="payout.failed").get().flag == "conflicting_outcome"
    assert available_balance(project.seller_id, "USD") == Decimal("0.00")


@pytest.mark.parametrize("failure", [{"error_rate": 1.0}, {"latency": 2}])
def test_an_unknown_payout_outcome_is_settled_by_reconciliation(fincra, failure):
    """FinCra acted but its answer was lost (a 500, a timeout): paid exactly once."""
    project = builders.completed()
    switch(fincra, send_webhooks=False, **failure)
    withdrawal = withdraw(project)
    row = Transaction.objects.get(pk=withdrawal["id"])
    assert row.status == "pending" and row.extra_data["payout"] == "unknown"
    assert available_balance(project.seller_id, "USD") == Decimal("0.00")  # reserved meanwhile
    assert wait_for(lambda: fincra.payouts.get(withdrawal["id"], {}).get("status") == "successful")
    switch(fincra, error_rate=0.0, latency=0)
    call_command("fincra_reconcile", "--older-than", "0", stdout=_Buffer())
    assert status_of(withdrawal) == "completed"
    assert len(fincra.payouts) == 1  # one payout at FinCra: never re-sent
    assert Transaction.objects.filter(transaction_type="withdrawal").count() == 1
    assert_ledger_invariants()


def test_a_payout_that_never_reached_fincra_fails_back(fincra):
    project = builders.completed()
    fincra.httpd.shutdown()  # FinCra is down: connection refused
    fincra.httpd.server_close()
    withdrawal = withdraw(project)
    assert Transaction.objects.get(pk=withdrawal["id"]).extra_data["payout"] == "unknown"
    restarted = Simulator(secret_key=fincra.secret_key, public_key=fincra.public_key, business_id=fincra.business_id,
                          webhook_secret=fincra.webhook_secret, port=fincra.httpd.server_address[1]).start()
    try:
        call_command("fincra_reconcile", "--older-than", "0", stdout=_Buffer())
    finally:
        restarted.stop()
    assert status_of(withdrawal) == "failed"
    assert available_balance(project.seller_id, "USD") == Decimal("975.00")


# --- the client itself ---

def test_wrong_keys_are_refused_like_fincra(fincra):
    client = FincraClient(base_url=fincra.url, secret_key="wrong", public_key="x", business_id="y", timeout=2)
    with pytest.raises(Unauthorized):
        client.get_checkout("anything")


class _Buffer:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass
