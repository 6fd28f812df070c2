"""/metrics: Prometheus' text format behind METRICS_TOKEN, with request and database figures
counted by the process and escrow and job figures read from the database at each scrape."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from escrow.models import Transaction
from tests import builders

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape() -> dict:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_without_a_token_configured_there_are_no_metrics(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN])
def test_a_missing_or_wrong_token_is_401(db, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"amani_" not in response.content


def test_requests_and_their_queries_are_counted(db, token):
    before = scrape()
    assert Client().get("/readyz").status_code == 200
    after = scrape()
    key = ("amani_http_requests_total", (("method", "GET"), ("route", "readyz"), ("status", "200")))
    assert after[key] == before.get(key, 0) + 1
    assert after[("amani_db_queries_total", ())] > before[("amani_db_queries_total", ())]
    assert after[("amani_http_request_duration_seconds_count", (("method", "GET"), ("route", "readyz")))] >= 1


def test_escrow_gauges_reflect_a_funded_project(db, token):
    empty = scrape()
    assert not [key for key in empty if key[0] == "amani_escrow_held"]
    project = builders.funded(amounts=("400.00", "600.00"), currency="NGN")
    samples = scrape()
    assert samples[("amani_escrow_held", (("currency", "NGN"),))] == float(project.total_amount) > 0
    assert samples[("amani_escrow_disputes_open", ())] == 0


def test_open_disputes_and_payments_pending_are_counted(db, token):
    builders.disputed()
    builders.proposed()
    builders.accepted()
    accepted = builders.accepted()
    from escrow import services

    services.project_fund_start(project=accepted, actor=accepted.buyer)  # a deposit now pending
    samples = scrape()
    assert samples[("amani_escrow_disputes_open", ())] == 1
    pending = Transaction.objects.filter(transaction_type="deposit", status__in=["pending", "processing"])
    assert sum(value for (name, labels), value in samples.items()
               if name == "amani_escrow_payments_pending" and ("type", "deposit") in labels) == pending.count() >= 1
    assert samples[("amani_escrow_payments_stuck", (("type", "deposit"),))] == 0  # started just now


def test_the_job_queue_is_read_at_scrape_time(db, token):
    from escrow.jobs import auto_approve

    auto_approve.defer(timestamp=0)
    samples = scrape()
    waiting = [value for (name, labels), value in samples.items()
               if name == "amani_jobs" and ("status", "todo") in labels and ("task", "escrow.jobs.auto_approve") in labels]
    assert waiting == [1]
    assert samples[("amani_jobs_oldest_waiting_seconds", ())] >= 0


def test_metrics_are_not_redirected_to_https(db, settings, token):
    """Prometheus scrapes over plain HTTP from inside the network."""
    from tests.test_settings import production_value

    for name in ("SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT"):
        setattr(settings, name, production_value(name))
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
