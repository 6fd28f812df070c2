"""A complete escrow through HTTP: two clients, from registration to withdrawal, the payment and
the payout going through FinCra's stand-in and the job worker."""

from decimal import Decimal

import pytest
import requests
from rest_framework.test import APIClient

from escrow.models import EscrowEvent, Project, Transaction
from tests.helpers import assert_ledger_invariants
from tests.jobs import run_jobs

PASSWORD = "a long and unusual passphrase"
BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Sam Seller", "country": "NG"}


def register_and_login(email: str, name: str) -> APIClient:
    client = APIClient()
    created = client.post("/api/v1/auth/register/", {"email": email, "password": PASSWORD, "full_name": name},
                          format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["email"] == email.lower() and "password" not in created.json()
    tokens = client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json").json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def ok(response, code=200) -> dict:
    assert response.status_code == code, (response.status_code, response.content[:500])
    return response.json() if response.content else {}


@pytest.mark.slow
def test_complete_escrow_over_http(fincra):
    buyer = register_and_login("Buyer@Example.com", "Bea Buyer")
    seller = register_and_login("seller@example.com", "Sam Seller")

    project = ok(buyer.post("/api/v1/projects/", {
        "title": "Website", "total_amount": "1500.00", "currency": "NGN",
        "buyer_email": "buyer@example.com", "seller_email": "SELLER@example.com", "fee_bearer": "split",
    }, format="json"), 201)
    assert project["status"] == "draft" and project["total_amount"] == "1500.00" and project["held"] == "0.00"
    # The seller is invited (registered or not, the answer is the same) and joins at their next request.
    assert set(project["actions"]) == {"edit", "delete", "cancel"} and project["seller_id"] is None
    pid = project["id"]
    assert ok(seller.get(f"/api/v1/projects/{pid}/"))["seller_email"] == "seller@example.com"

    design = ok(buyer.post(f"/api/v1/projects/{pid}/milestones/", {"title": "Design", "amount": "500"}, format="json"), 201)
    build = ok(buyer.post(f"/api/v1/projects/{pid}/milestones/", {"title": "Build", "amount": 1000}, format="json"), 201)
    assert (design["order_index"], build["order_index"], build["amount"]) == (0, 1, "1000.00")

    assert ok(buyer.post(f"/api/v1/projects/{pid}/propose/"))["status"] == "pending"
    assert ok(seller.post(f"/api/v1/projects/{pid}/accept/"))["terms_accepted_at"]
    funding = ok(buyer.post(f"/api/v1/projects/{pid}/fund/"))
    assert (funding["amount"], funding["currency"]) == ("1518.75", "NGN")  # split: buyer pays half of 37.50

    paid = requests.post(f"{fincra.url}/_simulator/checkout/{funding['reference']}/pay", json={}, timeout=30)
    assert paid.ok and ok(seller.get(f"/api/v1/projects/{pid}/"))["status"] == "pending"  # not on the webhook's word
    run_jobs()  # the webhook's job verifies the payment with FinCra
    assert ok(seller.get(f"/api/v1/projects/{pid}/"))["status"] == "active"

    for milestone in (design, build):
        mid = milestone["id"]
        assert ok(seller.post(f"/api/v1/milestones/{mid}/start/"))["status"] == "in_progress"
        assert ok(seller.post(f"/api/v1/milestones/{mid}/submit/", {"notes": "done"}, format="json"))["status"] == "completed"
        approved = ok(buyer.post(f"/api/v1/milestones/{mid}/approve/"))
        assert approved["status"] == "approved" and approved["is_paid"]

    done = ok(buyer.get(f"/api/v1/projects/{pid}/"))
    assert done["status"] == "completed" and done["held"] == "0.00"
    assert ok(seller.get("/api/v1/balance/")) == [{"currency": "NGN", "available": "1481.25"}]

    withdrawal = ok(seller.post("/api/v1/withdrawals/", {"amount": "1481.25", "currency": "NGN", "bank_account": BANK},
                                format="json"), 201)
    assert (withdrawal["transaction_type"], withdrawal["status"], withdrawal["amount"]) == ("withdrawal", "pending", "1481.25")
    assert ok(seller.get("/api/v1/balance/")) == [{"currency": "NGN", "available": "0.00"}]
    run_jobs()  # the payout job
    assert fincra.payouts[withdrawal["id"]]["amountReceived"] == Decimal("1481.25")

    mine = ok(seller.get("/api/v1/transactions/?transaction_type=escrow_release"))
    assert mine["next"] is None and len(mine["results"]) == 2 and {r["amount"] for r in mine["results"]} == {"493.75", "987.50"}
    assert EscrowEvent.objects.filter(project_id=pid).count() >= 10
    assert Project.objects.get(pk=pid).status == "completed"
    assert Transaction.objects.filter(project_id=pid).count() == 6  # deposit, hold, 2 × (release + commission)
    assert_ledger_invariants()
