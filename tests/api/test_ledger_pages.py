"""The ledger (GET /transactions/) pages by cursor: every row once, in order, forwards and back,
ties on created_at included; no COUNT and no OFFSET, whatever the page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from escrow.models import Transaction, TransactionType
from tests.api.conftest import client_for
from tests.factories import PricedProjectFactory, TransactionFactory, UserFactory

TEN = Decimal("10.00")


@pytest.fixture
def ledger(db):
    """A user's own rows, their counterparty's rows on their project, and a stranger's, some of
    them sharing one created_at (rows written by one statement do)."""
    me, counterparty, stranger = UserFactory(), UserFactory(), UserFactory()
    mine = PricedProjectFactory(buyer=me, seller=counterparty, creator=me)
    rows = [TransactionFactory(project=mine, user=me) for _ in range(7)]
    rows += [TransactionFactory(project=mine, user=counterparty, transaction_type=TransactionType.FEE, amount=TEN)
             for _ in range(4)]
    rows += [TransactionFactory(project=None, user=me, currency="USD", amount=Decimal("5.00")) for _ in range(2)]
    TransactionFactory(project=PricedProjectFactory(buyer=stranger, seller=counterparty, creator=stranger),
                       user=stranger)
    now = timezone.now()
    for n, row in enumerate(rows):  # a second apart, then the last eight at one instant
        Transaction.objects.filter(pk=row.pk).update(created_at=now - timedelta(seconds=min(n, 5)))
    expected = list(Transaction.objects.filter(pk__in=[r.pk for r in rows]).order_by("-created_at", "id")
                    .values_list("id", flat=True))
    return client_for(me), [str(pk) for pk in expected]


def ids(page) -> list[str]:
    return [row["id"] for row in page["results"]]


def test_every_row_once_in_order_forwards_and_back(ledger):
    client, expected = ledger
    pages, url = [], "/api/v1/transactions/?page_size=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.json())
        url = pages[-1]["next"]
    assert [pk for page in pages for pk in ids(page)] == expected
    assert [len(page["results"]) for page in pages] == [3, 3, 3, 3, 1]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    back, url = [], pages[-1]["previous"]
    while url:
        back.append(client.get(url).json())
        url = back[-1]["previous"]
    assert [ids(page) for page in back] == [ids(page) for page in pages[-2::-1]]
    assert client.get(back[0]["next"]).json()["results"] == pages[-1]["results"]


def test_filters_apply_to_every_page(ledger):
    client, _ = ledger
    first = client.get("/api/v1/transactions/?transaction_type=fee&page_size=3").json()
    second = client.get(first["next"]).json()
    rows = first["results"] + second["results"]
    assert len(rows) == 4 and {row["transaction_type"] for row in rows} == {"fee"} and second["next"] is None


def test_no_count_and_no_offset_on_any_page(ledger):
    client, _ = ledger
    with CaptureQueriesContext(connection) as captured:
        second = client.get(client.get("/api/v1/transactions/?page_size=3").json()["next"])
    assert second.status_code == 200
    sql = " ".join(query["sql"].upper() for query in captured)
    assert "COUNT(" not in sql and "OFFSET" not in sql


def test_a_page_leaves_what_fincra_answered_in_the_database(ledger):
    """A row's gateway_response (often kilobytes of JSON) is shown by no page: no page reads it,
    and no row then loads it (or any other column left out) on its own."""
    client, _ = ledger
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/api/v1/transactions/?page_size=5")
    assert page.status_code == 200 and len(page.json()["results"]) == 5
    ledger_reads = [query["sql"] for query in captured if '"transactions"' in query["sql"]]
    assert len(ledger_reads) == 1 and '"gateway_response"' not in ledger_reads[0]


@pytest.mark.parametrize("cursor", ["nonsense", "bnwyMDI0LTAxLTAxfHg", "eHwyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwfDE"])
def test_a_made_up_cursor_is_a_400_in_the_one_error_shape(db, cursor):
    response = client_for(UserFactory()).get(f"/api/v1/transactions/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"cursor": ["Invalid cursor: use a next or previous link as given."]}
