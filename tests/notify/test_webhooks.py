"""Outbound webhooks for real: a receiver on 127.0.0.1, a real worker, the signature checked by
the ``standardwebhooks`` library (Standard Webhooks' own reference implementation)."""

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from standardwebhooks import Webhook

from escrow import services
from escrow.models import MessageStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from escrow.notify import webhooks
from escrow.notify.jobs import endpoint_disabled_email
from tests import builders
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.jobs import wait_for
from tests.notify.receiver import Receiver

pytestmark = pytest.mark.slow


def register(user, url, **body) -> dict:
    response = client_for(user).post(reverse("webhook-endpoint-list"), {"url": url, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_endpoint_failing_three_times_then_succeeding_gets_the_event_once_signed(worker, receiver):
    receiver.statuses = [500, 503, 500]
    project = builders.proposed()
    seller = project.seller
    created = register(seller, receiver.url)

    services.project_accept(project=project, actor=seller)

    assert wait_for(lambda: receiver.accepted(), 20), f"nothing accepted: {receiver.received}"
    time.sleep(1.5)  # any further (wrong) attempt would arrive by now
    assert [r.answered for r in receiver.received] == [500, 503, 500, 200]
    assert len(receiver.accepted()) == 1
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # one message, four attempts
    delivered = receiver.accepted()[0]
    payload = Webhook(created["secret"]).verify(delivered.body, delivered.headers)
    assert payload["type"] == "project.accept"
    assert payload["data"]["schema_version"] == "1"
    assert payload["data"]["project"]["id"] == str(project.pk)
    assert payload["data"]["event"]["actor"] == {"kind": "user", "role": "seller", "name": seller.full_name}
    assert delivered.headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):  # a body changed in transit fails the same check
        Webhook(created["secret"]).verify(delivered.body.replace(b"accept", b"cancel"), delivered.headers)

    message = WebhookMessage.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.DELIVERED, 4)
    log = client_for(seller).get(reverse("webhook-endpoint-deliveries", args=[created["id"]])).json()["results"]
    assert [(d["succeeded"], d["response_status"]) for d in log] == [(True, 200), (False, 500), (False, 503),
                                                                    (False, 500)]
    assert {d["webhook_id"] for d in log} == {delivered.headers["webhook-id"]}
    assert WebhookEndpoint.objects.get().failing_since is None  # the success cleared the failure record


def test_the_owner_replays_a_delivered_message(worker, receiver):
    project = builders.proposed()
    created = register(project.seller, receiver.url)
    services.project_accept(project=project, actor=project.seller)
    assert wait_for(lambda: len(receiver.accepted()) == 1)
    message = WebhookMessage.objects.get()

    stranger = client_for(UserFactory())
    url = reverse("webhook-message-replay", args=[created["id"], message.pk])
    jobs = ProcrastinateJob.objects.count()
    assert stranger.post(url).status_code == 404
    assert ProcrastinateJob.objects.count() == jobs  # nothing queued

    response = client_for(project.seller).post(url)
    assert response.status_code == 202
    assert response.json()["webhook_id"] == message.webhook_id
    assert wait_for(lambda: len(receiver.accepted()) == 2)
    replayed = receiver.accepted()[1]
    assert replayed.headers["webhook-id"] == receiver.accepted()[0].headers["webhook-id"]  # receivers can dedupe
    assert Webhook(created["secret"]).verify(replayed.body, replayed.headers)["type"] == "project.accept"
    assert wait_for(lambda: WebhookDelivery.objects.filter(trigger="owner_replay", succeeded=True).count() == 1)


def test_an_operator_replays_from_the_console(worker, receiver):
    from django.contrib.auth.models import Group

    from tests.admin.test_console import act, login

    project = builders.proposed()
    register(project.seller, receiver.url)
    services.project_accept(project=project, actor=project.seller)
    assert wait_for(lambda: len(receiver.accepted()) == 1)
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Operators"))
    response = act(login(staff), "webhookmessage", "replay", WebhookMessage.objects.all())
    assert response.status_code == 200
    assert wait_for(lambda: len(receiver.accepted()) == 2)
    assert wait_for(lambda: WebhookDelivery.objects.filter(trigger="operator_replay", succeeded=True).exists())


def test_only_the_parties_endpoints_that_want_the_type_get_it(worker, receiver):
    project = builders.proposed()
    register(project.buyer, receiver.url, event_types=["milestone.start"])  # not this type
    register(UserFactory(), receiver.url)  # not a party
    wants = register(project.seller, receiver.url, event_types=["project.accept"])
    services.project_accept(project=project, actor=project.seller)
    assert wait_for(lambda: receiver.accepted())
    time.sleep(0.5)
    assert len(receiver.received) == 1
    assert list(WebhookMessage.objects.values_list("endpoint_id", flat=True)) == [_uuid(wants["id"])]


def test_a_rolled_back_change_sends_nothing(committed_db, receiver):
    project = builders.proposed()
    register(project.seller, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.project_accept(project=project, actor=project.seller)
        raise RuntimeError("the request failed after the change")
    assert not WebhookMessage.objects.exists()
    assert not ProcrastinateJob.objects.filter(task_name="escrow.notify.jobs.deliver_webhook").exists()


def test_an_address_that_became_private_is_refused_at_delivery(committed_db, receiver, settings):
    """DNS rebinding: the name was checked at registration; delivery resolves and checks again."""
    project = builders.proposed()
    register(project.seller, receiver.url)
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # now 127.0.0.1 is what a public name would rebind to
    services.project_accept(project=project, actor=project.seller)
    message = WebhookMessage.objects.get()
    with pytest.raises(webhooks.RetryLater):
        webhooks.webhook_deliver(message_id=message.pk)
    assert receiver.received == []
    attempt = WebhookDelivery.objects.get()
    assert not attempt.succeeded and attempt.response_status is None
    assert "127.0.0.1" in attempt.error and attempt.error.startswith("refused")


def test_retries_last_at_least_24_hours_then_stop(committed_db, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_CAP_SECONDS = 5, 6 * 3600
    delays = [webhooks.backoff(n) for n in range(1, 30)]
    assert all(later >= earlier * 0.8 for earlier, later in zip(delays, delays[1:], strict=False))
    assert 4.5 <= delays[0] <= 5.5 and max(delays) <= 6 * 3600 * 1.1

    dead = Receiver([500] * 10).start()
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    try:
        project = builders.proposed()
        register(project.seller, dead.url)
        services.project_accept(project=project, actor=project.seller)
        message = WebhookMessage.objects.get()
        with pytest.raises(webhooks.RetryLater):  # young: retried
            webhooks.webhook_deliver(message_id=message.pk)
        WebhookMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
        assert webhooks.webhook_deliver(message_id=message.pk) == "failed"  # 24 hours old: given up
        assert WebhookMessage.objects.get().status == MessageStatus.FAILED
        assert webhooks.webhook_deliver(message_id=message.pk) == MessageStatus.FAILED  # and never tried again
        assert len(dead.received) == 2
    finally:
        dead.stop()


def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_told(committed_db, settings):
    dead = Receiver([500] * 10).start()
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    try:
        project = builders.proposed()
        register(project.seller, dead.url)
        WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS,
                                                                               minutes=1))
        services.project_accept(project=project, actor=project.seller)
        assert webhooks.webhook_deliver(message_id=WebhookMessage.objects.get().pk) == "failed"
    finally:
        dead.stop()
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.is_active and "no delivery accepted since" in endpoint.disabled_reason
    assert WebhookMessage.objects.get().status == MessageStatus.FAILED
    job = ProcrastinateJob.objects.get(task_name="escrow.notify.jobs.endpoint_disabled_email")
    assert endpoint_disabled_email(**job.args) == 1  # the job's body, as the worker runs it
    assert [m.to for m in mail.outbox] == [[project.seller.email]]
    assert endpoint.url in mail.outbox[0].body
    # Nothing more is sent to it, until its owner enables it again.
    services.project_fund_start(project=project, actor=project.buyer)
    assert WebhookMessage.objects.count() == 1
    response = client_for(project.seller).patch(reverse("webhook-endpoint-detail", args=[endpoint.pk]),
                                                {"is_active": True}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert WebhookEndpoint.objects.get().failing_since is None


def _uuid(value):
    import uuid

    return uuid.UUID(value)


def test_payload_is_json_with_the_documented_keys(committed_db, receiver):
    project = builders.proposed()
    register(project.seller, receiver.url)
    services.project_accept(project=project, actor=project.seller)
    payload = WebhookMessage.objects.get().payload
    assert set(payload) == {"type", "timestamp", "data"}
    assert set(payload["data"]) == {"schema_version", "event", "project", "milestone"}
    json.dumps(payload)  # what is sent is what is stored
