"""What every request shares: RLS on its queries, idempotency keys, the error shape, query counts."""

import hashlib
import itertools
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from escrow import services
from escrow.api.base import EscrowAPIView
from escrow.models import IdempotencyKey, Milestone, Project, Transaction
from tests import builders
from tests.api.conftest import client_for
from tests.factories import MilestoneFactory, ProjectFactory, TransactionFactory, UserFactory
from tests.helpers import db_snapshot

# --- RLS inside a request ---


class EverythingView(EscrowAPIView):
    """A careless view: no filter at all."""

    def get(self, request):
        return Response({
            "projects": sorted(str(p) for p in Project.objects.values_list("id", flat=True)),
            "milestones": Milestone.objects.count(),
            "transactions": Transaction.objects.count(),
            "role": _current_role(),
        })


def _current_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("select current_user")
        return cursor.fetchone()[0]


def test_an_unfiltered_queryset_in_a_request_returns_only_the_callers_rows(db):
    mine = builders.funded()
    theirs = [builders.funded() for _ in range(3)]
    request = APIRequestFactory().get("/anything/")
    force_authenticate(request, user=mine.seller)

    body = EverythingView.as_view()(request).data

    assert body["role"] == "authenticated"
    assert body["projects"] == [str(mine.pk)]
    assert body["milestones"] == 2 and body["transactions"] == 2  # its deposit and hold
    assert Project.objects.count() == 1 + len(theirs)  # the owner, outside the request, sees all
    assert _current_role() != "authenticated"  # and the request left the role behind


def test_with_rls_off_the_same_view_sees_everything(db, settings):
    """The switch exists only for the benchmark; this shows what it turns off."""
    settings.API_RLS = False
    builders.funded(), builders.funded()
    request = APIRequestFactory().get("/anything/")
    force_authenticate(request, user=UserFactory())
    assert len(EverythingView.as_view()(request).data["projects"]) == 2


def test_with_rls_off_a_page_of_projects_answers_the_same(db, settings):
    """The benchmark compares the two: the same page, the parties' e-mails and what is held
    included, whoever does the filtering."""
    project = builders.funded()
    client = client_for(project.buyer)
    on = client.get("/api/v1/projects/").json()
    settings.API_RLS = False
    off = client.get("/api/v1/projects/").json()
    row = on["results"][0]
    assert off == on and (row["buyer_email"], row["seller_email"]) == (project.buyer.email, project.seller.email)
    assert Decimal(row["held"]) > 0


# --- idempotency ---

def test_same_key_same_body_replays_the_first_response(db):
    project = builders.draft()
    client = client_for(project.buyer)
    body = {"title": "Extra", "amount": "25.00"}
    first = client.post(f"/api/v1/projects/{project.pk}/milestones/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(f"/api/v1/projects/{project.pk}/milestones/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert project.milestones.count() == 3  # two from the builder, one created once


def test_same_key_other_body_is_422_and_does_nothing(db):
    project = builders.draft()
    client = client_for(project.buyer)
    url = f"/api/v1/projects/{project.pk}/milestones/"
    client.post(url, {"title": "Extra", "amount": "25.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = db_snapshot()
    other = client.post(url, {"title": "Extra", "amount": "99.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert db_snapshot() == before


def test_keys_are_per_user(db):
    project = builders.draft()
    buyer, seller = client_for(project.buyer), client_for(project.seller)
    assert buyer.post(f"/api/v1/projects/{project.pk}/propose/", HTTP_IDEMPOTENCY_KEY="shared").status_code == 200
    accepted = seller.post(f"/api/v1/projects/{project.pk}/accept/", HTTP_IDEMPOTENCY_KEY="shared")
    assert accepted.status_code == 200 and accepted.json()["terms_accepted_at"]


def test_a_refused_action_is_replayed_as_refused(db):
    project = builders.draft()
    seller = client_for(project.seller)
    first = seller.post(f"/api/v1/projects/{project.pk}/propose/", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == 403
    assert seller.post(f"/api/v1/projects/{project.pk}/propose/", HTTP_IDEMPOTENCY_KEY="k-3").json() == first.json()


def test_the_purge_command_keeps_keys_a_day(db):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    user = UserFactory()
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="x", response_status=200)
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=49))
    IdempotencyKey.objects.create(user=user, key="recent", fingerprint="x", response_status=200)
    call_command("idempotency_purge", verbosity=0)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


@pytest.mark.slow
def test_two_concurrent_requests_with_one_key(fincra):
    """The second sees the first still running (409); the money moves once."""
    project = builders.completed(currency="NGN")
    seller = project.seller
    body = {"amount": "100.00", "currency": "NGN",
            "bank_account": {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "S",
                             "country": "NG"}}
    barrier, codes, lock = threading.Barrier(2), [], threading.Lock()

    def withdraw():
        try:
            client = client_for(seller)
            barrier.wait()
            response = client.post("/api/v1/withdrawals/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")
            with lock:
                codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) in ([201, 201], [201, 409])  # a replay if the first had finished, else "in progress"
    assert Transaction.objects.filter(transaction_type="withdrawal").count() == 1
    replay = client_for(seller).post("/api/v1/withdrawals/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(transaction_type="withdrawal").count() == 1


def test_an_in_progress_key_is_409(db):
    """A first request still running has claimed the key (same request, no response yet, its lease running)."""
    from datetime import timedelta

    from django.utils import timezone

    project = builders.draft()
    path = f"/api/v1/projects/{project.pk}/propose/"
    running = hashlib.sha256(b"\n".join([b"POST", path.encode(), b""])).hexdigest()
    IdempotencyKey.objects.create(user=project.buyer, key="busy", fingerprint=running,
                                  locked_until=timezone.now() + timedelta(seconds=60))
    response = client_for(project.buyer).post(path, HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert builders.refreshed(project).status == "draft"


# --- errors ---

def test_a_400_names_the_field(db):
    project = builders.draft()
    response = client_for(project.buyer).post(f"/api/v1/projects/{project.pk}/milestones/",
                                              {"title": "x", "amount": "-5"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "amount" in error["fields"] and error["message"].startswith("amount")


@pytest.mark.parametrize("body", ['{"title": ', "[]", '"text"', '{"title": "x", "amount": 1e400}', "\x00"])
def test_malformed_bodies_are_400_never_500(db, body):
    project = builders.draft()
    before = db_snapshot()
    response = client_for(project.buyer).post(f"/api/v1/projects/{project.pk}/milestones/", body,
                                              content_type="application/json")
    assert response.status_code == 400, response.content
    assert "error" in response.json()
    assert db_snapshot() == before


def test_amounts_finer_than_the_currency_are_refused(db):
    project = builders.draft(currency="UGX", amounts=("1000", "2000"))
    response = client_for(project.buyer).post(f"/api/v1/projects/{project.pk}/milestones/",
                                              {"title": "x", "amount": "10.50"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {
        "amount": ["UGX amounts have 0 decimals at most: 10.50"]}


def test_money_goes_out_in_the_currencys_decimals(db):
    project = builders.draft(currency="UGX", amounts=("150000",))
    body = client_for(project.buyer).get(f"/api/v1/projects/{project.pk}/").json()
    assert (body["total_amount"], body["milestones"][0]["amount"], body["held"]) == ("150000", "150000", "0")


# --- query counts ---

def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/projects/?page_size=100", "/api/v1/transactions/?page_size=100",
                                 "/api/v1/projects/?status=draft&role=buyer&ordering=-total_amount"])
def test_list_endpoints_run_a_constant_number_of_queries(db, url):
    user = UserFactory()
    client = client_for(user)

    def grow(n):
        for _ in range(n):
            project = ProjectFactory(buyer=user, creator=user)
            MilestoneFactory(project=project, amount=project.total_amount)
            TransactionFactory(project=project, user=user)
        # Funded projects too, one of them in a milestone's dispute: their actions depend on open cases.
        builders.funded(buyer=user)
        services.milestone_dispute(milestone=builders.in_progress(buyer=user).milestones.first(), actor=user,
                                   reason="late")

    grow(2)
    few = _queries(client, url)
    grow(30)
    assert _queries(client, url) == few


def test_a_request_authenticates_in_one_query_without_the_password_hash(db):
    """The caller's row and whether an invitation waits for them come in one query, before the
    request's transaction; the row read leaves the password hash out."""
    client = client_for(UserFactory())
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/projects/").status_code == 200
    before_switch = [q for q in itertools.takewhile(lambda q: "set_config('role'" not in q["sql"], captured)
                     if not q["sql"].startswith("SAVEPOINT")]  # the test's own transaction
    assert len(before_switch) == 1
    assert '"invitations"' in before_switch[0]["sql"] and "hashed_password" not in before_switch[0]["sql"]
