"""Object-level access: strangers get 404 (never 403: they must not learn the object exists),
anonymous callers 401, the wrong party a 403 or 409 — and in every case nothing changes."""

import pytest
from rest_framework.test import APIClient

from tests import builders
from tests.api.conftest import client_for
from tests.factories import TransactionFactory, UserFactory
from tests.helpers import db_snapshot

REASON = {"reason": "not as agreed"}

# (method, path template, body) for every endpoint that names an object.
OBJECT_ENDPOINTS = [
    ("get", "/api/v1/projects/{project}/", None),
    ("patch", "/api/v1/projects/{project}/", {"title": "Mine now"}),
    ("delete", "/api/v1/projects/{project}/", None),
    ("get", "/api/v1/projects/{project}/milestones/", None),
    ("post", "/api/v1/projects/{project}/milestones/", {"title": "Extra", "amount": "1.00"}),
    ("post", "/api/v1/projects/{project}/propose/", None),
    ("post", "/api/v1/projects/{project}/accept/", None),
    ("post", "/api/v1/projects/{project}/fund/", None),
    ("post", "/api/v1/projects/{project}/cancel/", None),
    ("post", "/api/v1/projects/{project}/dispute/", REASON),
    ("get", "/api/v1/milestones/{milestone}/", None),
    ("patch", "/api/v1/milestones/{milestone}/", {"title": "Mine now"}),
    ("delete", "/api/v1/milestones/{milestone}/", None),
    ("post", "/api/v1/milestones/{milestone}/start/", None),
    ("post", "/api/v1/milestones/{milestone}/submit/", {"notes": "x"}),
    ("post", "/api/v1/milestones/{milestone}/approve/", None),
    ("post", "/api/v1/milestones/{milestone}/reject/", REASON),
    ("post", "/api/v1/milestones/{milestone}/dispute/", REASON),
    ("get", "/api/v1/transactions/{transaction}/", None),
]

# Endpoints that need a user but name no object.
USER_ENDPOINTS = [
    ("get", "/api/v1/users/me/", None),
    ("patch", "/api/v1/users/me/", {"full_name": "x"}),
    ("get", "/api/v1/projects/", None),
    ("post", "/api/v1/projects/", {"title": "t", "total_amount": "1", "buyer_email": "a@example.com",
                                   "seller_email": "b@example.com"}),
    ("get", "/api/v1/transactions/", None),
    ("get", "/api/v1/balance/", None),
    ("post", "/api/v1/withdrawals/", {"amount": "1", "currency": "USD", "bank_account": {}}),
]


def call(client, method, path, body, ids):
    return getattr(client, method)(path.format(**ids), body, format="json")


@pytest.fixture(params=["draft", "delivered"])
def world(request, db):
    """A project (draft, or funded with a delivered milestone), its parties, and a ledger row."""
    project = builders.draft() if request.param == "draft" else builders.delivered()
    milestone = project.milestones.get(order_index=0)
    row = project.transactions.first() or TransactionFactory(project=project)
    return project, {"project": project.pk, "milestone": milestone.pk, "transaction": row.pk}


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS)
def test_a_stranger_gets_404_and_changes_nothing(world, method, path, body):
    _, ids = world
    stranger = client_for(UserFactory())
    before = db_snapshot()
    response = call(stranger, method, path, body, ids)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ENDPOINTS + USER_ENDPOINTS)
def test_an_anonymous_caller_gets_401_and_changes_nothing(world, method, path, body):
    _, ids = world
    before = db_snapshot()
    response = call(APIClient(), method, path, body, ids)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert db_snapshot() == before


WRONG_PARTY = [
    # (project state, who, method, path, body)
    ("draft", "seller", "patch", "/api/v1/projects/{project}/", {"title": "Seller's terms"}),
    ("draft", "seller", "delete", "/api/v1/projects/{project}/", None),
    ("draft", "seller", "post", "/api/v1/projects/{project}/propose/", None),
    ("draft", "seller", "post", "/api/v1/projects/{project}/milestones/", {"title": "x", "amount": "1"}),
    ("draft", "seller", "delete", "/api/v1/milestones/{milestone}/", None),
    ("delivered", "seller", "post", "/api/v1/milestones/{milestone}/approve/", None),
    ("delivered", "seller", "post", "/api/v1/milestones/{milestone}/reject/", REASON),
    ("delivered", "buyer", "post", "/api/v1/milestones/{milestone}/submit/", {"notes": "x"}),
    ("delivered", "buyer", "post", "/api/v1/milestones/{milestone}/start/", None),
    ("delivered", "seller", "post", "/api/v1/projects/{project}/fund/", None),
    ("delivered", "buyer", "patch", "/api/v1/projects/{project}/", {"total_amount": "1.00"}),
    ("delivered", "buyer", "delete", "/api/v1/projects/{project}/", None),
    ("delivered", "buyer", "post", "/api/v1/projects/{project}/propose/", None),
]


@pytest.mark.parametrize(("state", "who", "method", "path", "body"), WRONG_PARTY)
def test_the_wrong_party_is_refused_and_nothing_changes(db, state, who, method, path, body):
    project = builders.draft() if state == "draft" else builders.delivered()
    ids = {"project": project.pk, "milestone": project.milestones.get(order_index=0).pk}
    client = client_for(getattr(project, who))
    before = db_snapshot()
    response = call(client, method, path, body, ids)
    assert response.status_code in (403, 409), response.content
    error = response.json()["error"]
    assert error["code"] in ("not_allowed", "invalid_transition") and error["message"]
    assert db_snapshot() == before


def test_transitions_not_allowed_say_why(db):
    project = builders.delivered()
    milestone = project.milestones.get(order_index=1)  # pending: not delivered yet
    response = client_for(project.buyer).post(f"/api/v1/milestones/{milestone.pk}/approve/")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "invalid_transition",
        "message": "Cannot approve a milestone that is pending (allowed from: completed).",
        "fields": {},
    }


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_each_party_sees_the_others_email_and_nothing_private(db, who):
    """Under RLS a client reads only its own users row; the parties' e-mails come from the public
    profiles, and the API shows nothing of a counterparty beyond them."""
    project = builders.delivered()
    project.seller.phone_number, project.seller.bio = "+254700000002", "private"
    project.seller.save(update_fields=["phone_number", "bio"])
    client = client_for(getattr(project, who))
    for body in (client.get(f"/api/v1/projects/{project.pk}/").json(),
                 client.get("/api/v1/projects/").json()["results"][0]):
        assert (body["buyer_email"], body["seller_email"], body["creator_email"]) == (
            project.buyer.email, project.seller.email, project.creator.email)
        assert "+254700000002" not in str(body) and "private" not in str(body)


def test_an_operator_who_is_the_seller_cannot_approve_their_own_milestone(db):
    """Staff with the operator permission, on their own deal: a seller's powers, no more."""
    project = builders.delivered()
    seller = builders.make_operator(project.seller)
    milestone = project.milestones.get(order_index=0)
    client = client_for(seller)
    shown = client.get(f"/api/v1/milestones/{milestone.pk}/").json()
    assert "approve" not in shown["actions"]
    assert "approve" not in client.get(f"/api/v1/projects/{project.pk}/").json()["milestones"][0]["actions"]
    before = db_snapshot()
    response = client.post(f"/api/v1/milestones/{milestone.pk}/approve/", {"reason": "looks done to me"},
                           format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_allowed", response.content
    assert db_snapshot() == before
