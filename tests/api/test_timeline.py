"""GET /api/v1/projects/{id}/events/: the audit trail as the parties may see it."""

import pytest
from django.urls import reverse

from escrow import services
from escrow.models import EscrowEvent
from tests import builders
from tests.helpers import db_snapshot


def events(client, project, **params) -> dict:
    response = client.get(reverse("project-events", args=[project.pk]), params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def resolved(db):
    """Disputed by the buyer, resolved by an operator with a note."""
    project = builders.disputed()
    services.dispute_resolve(project=project, actor=builders.make_operator(), outcome="refund",
                             note="Seller agreed to refund the buyer")
    return builders.refreshed(project)


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_each_party_reads_the_timeline_with_roles_names_reasons_and_the_operators_note(as_user, resolved, party):
    body = events(as_user(getattr(resolved, party)), resolved, page_size=100)
    entries = body["results"]
    types = [e["type"] for e in entries]
    assert types[:4] == ["project.propose", "project.accept", "project.fund", "project.confirm_deposit"]
    assert "milestone.start" in types and "project.begin_work" in types
    dispute = next(e for e in entries if e["type"] == "project.dispute")
    assert dispute["actor"] == {"kind": "user", "role": "buyer", "name": resolved.buyer.full_name}
    assert (dispute["from_state"], dispute["to_state"]) == ("in_progress", "disputed")
    assert dispute["details"]["reason"] == "late"
    resolution = entries[-1]
    assert resolution["type"] == "project.resolve"
    assert resolution["actor"] == {"kind": "operator", "role": "operator", "name": None}  # staff are not named
    assert resolution["details"]["note"] == "Seller agreed to refund the buyer"
    assert resolution["to_state"] == "refunded"
    confirm = next(e for e in entries if e["type"] == "project.confirm_deposit")
    assert confirm["actor"]["kind"] == "system" and "deposit" not in confirm["details"]
    # Never another user's private data: no e-mail, phone or user id anywhere.
    text = str(body)
    for user in (resolved.buyer, resolved.seller):
        assert user.email not in text and str(user.pk) not in text
        assert not user.phone_number or user.phone_number not in text


def test_a_stranger_gets_404_and_anonymous_401(as_user, anonymous, resolved):
    stranger = as_user()
    before = db_snapshot()
    url = reverse("project-events", args=[resolved.pk])
    assert stranger.get(url).status_code == 404
    assert anonymous.get(url).status_code == 401
    assert stranger.get(reverse("project-events", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404
    assert db_snapshot() == before


def test_cursor_pagination_walks_every_entry_once_in_order(as_user, resolved):
    client = as_user(resolved.buyer)
    seen, body = [], events(client, resolved, page_size=3)
    while True:
        seen += [e["id"] for e in body["results"]]
        if not body["next"]:
            break
        response = client.get(body["next"])
        assert response.status_code == 200
        body = response.json()
    expected = list(EscrowEvent.objects.filter(project=resolved).order_by("created_at", "id")
                    .values_list("id", flat=True))
    assert seen == [str(i) for i in expected]


def test_internal_events_and_gateway_words_are_not_shown(as_user, db):
    project = builders.accepted()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    services.deposit_fail(reference=deposit.pk, reason="FinCra status failed")
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount - 1)  # flagged for an operator
    entries = events(as_user(project.buyer), project)["results"]
    assert "project.deposit_failed" in [e["type"] for e in entries]
    assert "project.deposit_flagged" not in [e["type"] for e in entries]
    assert EscrowEvent.objects.filter(project=project, action="deposit_flagged").exists()
    assert "FinCra" not in str(entries)
