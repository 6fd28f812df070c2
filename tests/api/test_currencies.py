"""Only real currencies: a made-up or non-money ISO code is a 400 naming ``currency``, wherever a
client names one, and nothing is written. (The database refuses them too:
tests/db/test_constraints.py, ``*_chk_currency_iso4217``.)"""

import pytest

from escrow.models import Project
from tests import builders
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import db_snapshot

NOT_CURRENCIES = ["ZZZ", "XTS", "XXX", "XAU", "XDR", "BOV"]
BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Sam Seller", "country": "NG"}


def assert_refused_naming_currency(response, code: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["currency"] and code in error["fields"]["currency"][0]


@pytest.mark.parametrize("code", NOT_CURRENCIES)
def test_a_project_in_a_made_up_currency_is_refused(db, code):
    buyer, seller = UserFactory(), UserFactory()
    before = db_snapshot()
    response = client_for(buyer).post("/api/v1/projects/", {
        "title": "Gold bars", "total_amount": "1000.00", "currency": code,
        "buyer_email": buyer.email, "seller_email": seller.email,
    }, format="json")
    assert_refused_naming_currency(response, code)
    assert db_snapshot() == before


def test_a_draft_cannot_be_moved_to_a_made_up_currency(db):
    project = builders.draft(currency="NGN", amounts=("1000.00",))
    before = db_snapshot()
    response = client_for(project.buyer).patch(f"/api/v1/projects/{project.pk}/", {"currency": "XTS"}, format="json")
    assert_refused_naming_currency(response, "XTS")
    assert db_snapshot() == before and Project.objects.get(pk=project.pk).currency == "NGN"


@pytest.mark.parametrize("code", NOT_CURRENCIES)
def test_a_withdrawal_in_a_made_up_currency_is_refused(db, code):
    seller = builders.completed().seller
    before = db_snapshot()
    response = client_for(seller).post("/api/v1/withdrawals/", {"amount": "10.00", "currency": code,
                                                                "bank_account": BANK}, format="json")
    assert_refused_naming_currency(response, code)
    assert db_snapshot() == before


def test_the_quote_refuses_a_made_up_currency(db):
    response = client_for(UserFactory()).get("/api/v1/commission/quote/", {"amount": "100", "currency": "ZZZ"})
    assert_refused_naming_currency(response, "ZZZ")


@pytest.mark.parametrize("code", ["USD", "EUR", "NGN", "KES", "GHS", "XOF", "XAF", "UGX"])  # and FinCra collects them
def test_real_currencies_are_accepted(db, code):
    buyer, seller = UserFactory(), UserFactory()
    response = client_for(buyer).post("/api/v1/projects/", {
        "title": "Website", "total_amount": "1000", "currency": code,
        "buyer_email": buyer.email, "seller_email": seller.email,
    }, format="json")
    assert response.status_code == 201 and response.json()["currency"] == code
