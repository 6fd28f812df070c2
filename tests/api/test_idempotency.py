"""Idempotency-Key through crashes, lost databases and server errors: a retry replays what
committed, and re-runs only a request that changed nothing, once its lease has passed.

The crashes are real: the first request runs in a process of its own that dies at a chosen point
(tests/api/crashing_request.py), and this process retries through the API.
"""

import json
import os
import secrets
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models.functions import Now
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from escrow import services
from escrow.models import IdempotencyKey, Milestone, Transaction
from tests import builders
from tests.api.conftest import client_for
from tests.api.crashing_request import CRASHED
from tests.db.conftest import Server
from tests.helpers import db_snapshot

pytestmark = pytest.mark.slow

WITHDRAWAL = {"amount": "100.00", "currency": "NGN",
              "bank_account": {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Sam Seller",
                               "country": "NG"}}
MILESTONE = {"title": "Extra", "amount": "25.00"}


def crash(point: str, user, path: str, key: str, body: dict, fincra=None, **env) -> str:
    """Run the request in another process that dies at ``point``; fail if it did not get there."""
    if fincra is not None:  # the process talks to the same FinCra stand-in
        env = {"FINCRA_BASE_URL": fincra.url, "FINCRA_SECRET_KEY": fincra.secret_key,
               "FINCRA_PUBLIC_KEY": fincra.public_key, "FINCRA_BUSINESS_ID": fincra.business_id,
               "FINCRA_WEBHOOK_SECRET": fincra.webhook_secret, "FINCRA_REDIRECT_URL": "https://example.com/paid",
               **env}
    result = subprocess.run(
        [sys.executable, "-m", "tests.api.crashing_request", point, str(user.pk), path, key, json.dumps(body)],
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DATABASE_URL": Server(connection.settings_dict).url(connection.settings_dict["NAME"]),
             "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "ALLOWED_HOSTS": "testserver", **env},
    )
    assert result.returncode == CRASHED, f"did not crash at {point}:\n{result.stdout}\n{result.stderr}"
    return result.stderr


def lease_runs_out(user, key: str) -> None:
    IdempotencyKey.objects.filter(user=user, key=key).update(locked_until=Now() - timedelta(seconds=1))


def withdrawals(user) -> list[Transaction]:
    return list(Transaction.objects.filter(user=user, transaction_type="withdrawal"))


# --- a crash after the work committed: the retry replays it, nothing runs twice ---

def test_a_withdrawal_that_committed_and_crashed_is_replayed_never_paid_twice(fincra):
    """The withdrawal and its payout job committed; the process died before answering."""
    seller = builders.completed(currency="NGN").seller
    crash("escrow.api.idempotency:complete:before", seller, "/api/v1/withdrawals/", "pay-once", WITHDRAWAL,
          fincra=fincra)
    [withdrawal] = withdrawals(seller)

    retry = client_for(seller).post("/api/v1/withdrawals/", WITHDRAWAL, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == str(withdrawal.pk)

    lease_runs_out(seller, "pay-once")  # and long after: still the same answer
    later = client_for(seller).post("/api/v1/withdrawals/", WITHDRAWAL, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")
    assert later.status_code == 201 and later.json()["id"] == str(withdrawal.pk)
    assert withdrawals(seller) == [withdrawal]
    assert ProcrastinateJob.objects.filter(task_name="escrow.payments.jobs.submit_payout").count() == 1


def test_an_atomic_request_that_committed_and_crashed_is_replayed(committed_db):
    project = builders.draft()
    path = f"/api/v1/projects/{project.pk}/milestones/"
    crash("escrow.api.idempotency:complete:before", project.buyer, path, "add-once", MILESTONE)
    created = Milestone.objects.get(project=project, title="Extra")

    retry = client_for(project.buyer).post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="add-once")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == str(created.pk)
    assert project.milestones.count() == 3  # two from the builder, one created once


# --- a crash before the commit: nothing changed; in progress for the lease, then run once ---

CRASHED_BEFORE_COMMIT = {
    "milestone": ("escrow.services:milestone_create:after", builders.draft, "buyer",
                  "/api/v1/projects/{project}/milestones/", MILESTONE, Milestone.objects.filter(title="Extra")),
    "withdrawal": ("escrow.services:withdrawal_request:after", lambda: builders.completed(currency="NGN"), "seller",
                   "/api/v1/withdrawals/", WITHDRAWAL, Transaction.objects.filter(transaction_type="withdrawal")),
}


@pytest.mark.parametrize("case", CRASHED_BEFORE_COMMIT)
def test_a_request_that_crashed_before_its_commit_runs_once_after_the_lease(committed_db, request, case):
    point, build, owner, url, body, made = CRASHED_BEFORE_COMMIT[case]
    fincra = request.getfixturevalue("fincra") if case == "withdrawal" else None
    project = build()
    user, path = getattr(project, owner), url.format(project=project.pk)
    before = db_snapshot()
    crash(point, user, path, "k", body, fincra=fincra, IDEMPOTENCY_LEASE_SECONDS="3600")
    assert db_snapshot() == before and not made.exists()  # the work died with its transaction
    key = IdempotencyKey.objects.get(user=user, key="k")
    assert key.response_status is None
    assert timedelta(seconds=3590) < key.locked_until - key.created_at < timedelta(seconds=3610)  # the setting

    within = client_for(user).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert within.status_code == 409 and within.json()["error"]["code"] == "idempotency_key_in_progress"
    assert db_snapshot() == before

    lease_runs_out(user, "k")
    after = client_for(user).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = client_for(user).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert after.status_code == 201 and again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert [str(row.pk) for row in made.all()] == [after.json()["id"]] == [again.json()["id"]]  # made once
    assert IdempotencyKey.objects.get(user=user, key="k").attempt == 2


def test_fund_that_crashed_after_its_deposit_reuses_it_on_retry(committed_db):
    """``fund`` records no answer with its pending deposit: re-running it reuses that deposit."""
    project = builders.accepted()
    path = f"/api/v1/projects/{project.pk}/fund/"
    crash("escrow.payments.gateway:start_checkout:before", project.buyer, path, "fund", {})
    [deposit] = Transaction.objects.filter(project=project, transaction_type="deposit")
    assert client_for(project.buyer).post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="fund").status_code == 409
    lease_runs_out(project.buyer, "fund")
    retry = client_for(project.buyer).post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="fund")
    assert retry.status_code == 200 and retry.json()["transaction_id"] == str(deposit.pk)
    assert list(Transaction.objects.filter(project=project, transaction_type="deposit")) == [deposit]


# --- server errors ---

def test_a_server_error_rolls_back_and_frees_the_key_at_once(db, monkeypatch):
    project = builders.draft()
    path = f"/api/v1/projects/{project.pk}/milestones/"
    real = services.milestone_create

    def create_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("a bug after the work")

    monkeypatch.setattr(services, "milestone_create", create_then_fail)
    client = client_for(project.buyer)
    client.raise_request_exception = False
    before = db_snapshot()
    assert client.post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 500
    assert db_snapshot() == before
    key = IdempotencyKey.objects.get(user=project.buyer, key="k")
    assert key.response_status is None and key.locked_until <= timezone.now()

    monkeypatch.setattr(services, "milestone_create", real)
    retry = client.post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert retry.status_code == 201 and project.milestones.count() == 3


# --- a slow first request past its lease ---

def test_a_retry_after_the_lease_does_not_run_beside_a_request_still_in_its_transaction(committed_db, monkeypatch,
                                                                                       settings):
    """The lease ran out while the first request is still working: its transaction holds the key
    row, so the retry is told "in progress" instead of running a second time."""
    settings.IDEMPOTENCY_LEASE_SECONDS = 1
    project = builders.draft()
    path = f"/api/v1/projects/{project.pk}/milestones/"
    working, finish, answers = threading.Event(), threading.Event(), []
    real = services.milestone_create

    def slow_create(**kwargs):
        milestone = real(**kwargs)
        working.set()
        assert finish.wait(30)
        return milestone

    monkeypatch.setattr(services, "milestone_create", slow_create)

    def first():
        try:
            answers.append(client_for(project.buyer).post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="slow"))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert working.wait(30)
        while IdempotencyKey.objects.filter(key="slow", locked_until__gt=Now()).exists():
            threading.Event().wait(0.1)
        retry = client_for(project.buyer).post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="slow")
        assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_key_in_progress"
    finally:
        finish.set()
        thread.join(30)
    assert answers[0].status_code == 201
    replay = client_for(project.buyer).post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="slow")
    assert replay.json() == answers[0].json() and replay["Idempotent-Replayed"] == "true"
    assert project.milestones.count() == 3


def test_a_request_whose_database_connection_drops_is_rolled_back_and_its_key_freed(committed_db, monkeypatch):
    """The database ends the request's session mid-transaction (a failover, a restart): the work
    is lost with it, the client gets a 500, and a retry with the same key runs, once."""
    project = builders.draft()
    path = f"/api/v1/projects/{project.pk}/milestones/"
    working, dropped, answers = threading.Event(), threading.Event(), []
    backend = {}
    real = services.milestone_create

    def create_then_lose_the_database(**kwargs):
        milestone = real(**kwargs)
        backend["pid"] = connection.connection.info.backend_pid
        working.set()
        assert dropped.wait(30)
        return milestone

    monkeypatch.setattr(services, "milestone_create", create_then_lose_the_database)

    def first():
        try:
            client = client_for(project.buyer)
            client.raise_request_exception = False
            answers.append(client.post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="drop"))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert working.wait(30)
        with connection.cursor() as cursor:
            cursor.execute("select pg_terminate_backend(%s)", [backend["pid"]])
    finally:
        dropped.set()
        thread.join(30)
    assert answers[0].status_code == 500
    assert not Milestone.objects.filter(title="Extra").exists()

    monkeypatch.setattr(services, "milestone_create", real)
    retry = client_for(project.buyer).post(path, MILESTONE, format="json", HTTP_IDEMPOTENCY_KEY="drop")
    assert retry.status_code == 201
    assert [str(m.pk) for m in Milestone.objects.filter(title="Extra")] == [retry.json()["id"]]


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_idempotency_key_is_refused_naming_the_header(db, key):
    """A blank key is a client bug (an unset variable in a script): refused, not run without one."""
    project = builders.draft()
    before = db_snapshot()
    response = client_for(project.buyer).post(f"/api/v1/projects/{project.pk}/milestones/", MILESTONE, format="json",
                                              HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert db_snapshot() == before
    assert not IdempotencyKey.objects.exists()
