"""``actions`` in the API's answers: what the caller may do now, nothing that would answer 409."""

from escrow.models import Transaction
from tests import builders
from tests.api.conftest import client_for
from tests.helpers import db_snapshot


def test_actions_follow_the_terms_through_propose_and_accept(db):
    project = builders.draft()
    buyer, seller = client_for(project.buyer), client_for(project.seller)
    url = f"/api/v1/projects/{project.pk}/"

    proposed = buyer.post(f"{url}propose/")
    assert proposed.status_code == 200, proposed.content
    assert "fund" not in proposed.json()["actions"]
    assert "accept" in seller.get(url).json()["actions"]
    before = db_snapshot()
    refused = buyer.post(f"{url}fund/")
    assert refused.status_code == 409 and "not accepted" in refused.json()["error"]["message"], refused.content
    assert db_snapshot() == before

    accepted = seller.post(f"{url}accept/")
    assert accepted.status_code == 200, accepted.content
    assert "accept" not in accepted.json()["actions"]
    assert set(accepted.json()["actions"]) == {"cancel"}
    assert set(buyer.get(url).json()["actions"]) == {"fund", "cancel"}
    before = db_snapshot()
    assert seller.post(f"{url}accept/").status_code == 409
    assert db_snapshot() == before
    assert not Transaction.objects.filter(project=project).exists()
