"""Outbound webhooks: endpoints, the messages each state change owes them, delivery and replay.

A state change's messages are written by ``record_event`` (escrow/services/audit.py) in the
change's transaction, each with its delivery job: a change that rolls back sends nothing, one that
commits is delivered by the worker (at least once; the ``webhook-id`` header lets the receiver
drop a duplicate). No lock is held while a receiver is called.

Retries: after a failed attempt, again after ``WEBHOOK_RETRY_BASE_SECONDS`` × 2^(attempts − 1)
(at most ``WEBHOOK_RETRY_CAP_SECONDS``, ±10 %), for as long as the message is younger than
``WEBHOOK_RETRY_HOURS`` (24 by default: it is tried for at least that long). An endpoint that has
not accepted anything for ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled at its next failure, and its
owner is told by e-mail.
"""

import json
import logging
import random
import time
from datetime import timedelta
from uuid import uuid4

import certifi
import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from escrow.db.prepared import prepared
from escrow.errors import InvalidInput, InvalidTransition
from escrow.models import DeliveryTrigger, MessageStatus, User, WebhookDelivery, WebhookEndpoint, WebhookMessage
from escrow.notify import addresses, events, signing

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 1024
USER_AGENT = "Amani-Webhooks/1"


class RetryLater(Exception):
    """The attempt failed and the message is still within its retry window."""

    def __init__(self, seconds: float, message: str):
        super().__init__(message)
        self.seconds = seconds


# --- endpoints ------------------------------------------------------------------------------------

def _event_types(event_types) -> list[str]:
    unknown = sorted(set(event_types) - set(events.EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"Unknown event type(s): {', '.join(unknown)}. See docs/webhooks.md.", field="event_types")
    return sorted(set(event_types))


@transaction.atomic
def webhook_endpoint_create(*, owner: User, url: str, event_types=(), description: str = "") -> WebhookEndpoint:
    """A new endpoint with a new secret (the only time the secret is returned)."""
    addresses.check(url)
    if WebhookEndpoint.objects.filter(owner=owner).count() >= settings.WEBHOOK_MAX_ENDPOINTS:
        raise InvalidInput(f"At most {settings.WEBHOOK_MAX_ENDPOINTS} endpoints per user.", field="url")
    return WebhookEndpoint.objects.create(owner=owner, url=url, event_types=_event_types(event_types),
                                          description=description, secret=signing.new_secret())


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, event_types=None,
                            description: str | None = None, is_active: bool | None = None) -> WebhookEndpoint:
    """Edit an endpoint; enabling a disabled one clears its failure record."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    fields = ["updated_at"]
    if url is not None:
        addresses.check(url)
        endpoint.url = url
        fields.append("url")
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
        fields.append("event_types")
    if description is not None:
        endpoint.description = description
        fields.append("description")
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        endpoint.failing_since = None
        endpoint.disabled_reason = "" if is_active else "disabled by its owner"
        fields += ["is_active", "failing_since", "disabled_reason"]
    endpoint.save(update_fields=fields)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its messages and delivery log (waiting jobs find nothing to do)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


# --- messages, written with the state change ------------------------------------------------------

def webhook_messages_queue(*, event, project, milestone=None) -> list[WebhookMessage]:
    """In the state change's transaction: a message and its delivery job for each active endpoint
    of the project's parties that wants this event's type."""
    if event.action in events.HIDDEN_ACTIONS:
        return []
    event_type = events.type_of(event)
    parties = sorted({project.creator_id, project.buyer_id, project.seller_id} - {None}, key=str)
    active = prepared(("active endpoints", len(parties)), lambda *owners: WebhookEndpoint.objects.filter(
        owner_id__in=owners, is_active=True).only("id", "event_types"), [uuid4() for _ in parties])
    endpoints = [e for e in active.run(*parties) if e.wants(event_type)]
    if not endpoints:
        return []
    names = dict(User.objects.filter(pk__in=parties).values_list("pk", "full_name"))
    payload = events.webhook_payload(event, project, milestone, names)
    messages = WebhookMessage.objects.bulk_create(
        WebhookMessage(endpoint_id=endpoint.pk, event=event, event_type=event_type, payload=payload)
        for endpoint in endpoints
    )
    from escrow.notify.jobs import defer_delivery

    for message in messages:
        defer_delivery(message.pk, DeliveryTrigger.AUTOMATIC)
    return messages


@transaction.atomic
def webhook_replay(*, message: WebhookMessage, trigger: str) -> WebhookMessage:
    """Send a message again, once, whatever its status (the owner's or an operator's replay)."""
    endpoint = WebhookEndpoint.objects.get(pk=message.endpoint_id)
    if not endpoint.is_active:
        raise InvalidTransition("The endpoint is disabled: enable it before replaying its messages.")
    from escrow.notify.jobs import defer_delivery

    defer_delivery(message.pk, trigger)
    return message


# --- delivery -------------------------------------------------------------------------------------

def webhook_deliver(*, message_id, trigger: str = DeliveryTrigger.AUTOMATIC) -> str:
    """One attempt at a message; raises ``RetryLater`` when an automatic attempt should be retried."""
    message = WebhookMessage.objects.select_related("endpoint").filter(pk=message_id).first()
    if message is None:
        return "gone"  # its endpoint was deleted
    automatic = trigger == DeliveryTrigger.AUTOMATIC
    if automatic and message.status != MessageStatus.PENDING:
        return message.status  # delivered (or given up) already: never twice
    if not message.endpoint.is_active:
        if automatic:
            WebhookMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(
                status=MessageStatus.FAILED)
        return "endpoint disabled"
    outcome = _attempt(message)
    with transaction.atomic():
        message = WebhookMessage.objects.select_for_update().get(pk=message.pk)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=message.endpoint_id)
        now = timezone.now()
        WebhookDelivery.objects.create(message=message, endpoint=endpoint, trigger=trigger, **outcome)
        message.attempts += 1
        fields = ["attempts"]
        if outcome["succeeded"]:
            if message.status != MessageStatus.DELIVERED:
                message.status, message.delivered_at = MessageStatus.DELIVERED, now
                fields += ["status", "delivered_at"]
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
            message.save(update_fields=fields)
            return "delivered"
        retry_in = None
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since", "updated_at"])
        elif endpoint.is_active and endpoint.failing_since <= now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS):
            _disable(endpoint, now)
        if automatic and message.status == MessageStatus.PENDING:
            if endpoint.is_active and message.created_at > now - timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
                retry_in = backoff(message.attempts)
            else:
                message.status = MessageStatus.FAILED
                fields.append("status")
        message.save(update_fields=fields)
    if retry_in is not None:
        raise RetryLater(retry_in, f"attempt {message.attempts} failed: {outcome['error'] or outcome['response_status']}")
    return "failed"


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: exponential, capped, jittered."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 40)
    return min(base, settings.WEBHOOK_RETRY_CAP_SECONDS) * random.uniform(0.9, 1.1)


def _disable(endpoint: WebhookEndpoint, now) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = (f"no delivery accepted since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
                                f"({settings.WEBHOOK_DISABLE_AFTER_HOURS} hours)")
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    WebhookMessage.objects.filter(endpoint=endpoint, status=MessageStatus.PENDING).update(status=MessageStatus.FAILED)
    from escrow.notify.jobs import endpoint_disabled_email

    endpoint_disabled_email.defer(endpoint_id=str(endpoint.pk))
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, endpoint.disabled_reason)


def _attempt(message: WebhookMessage) -> dict:
    """POST the message to its endpoint (resolved and checked now, connected to the checked
    address, redirects not followed). Returns the delivery row's fields."""
    started = time.monotonic()
    result = {"succeeded": False, "response_status": None, "response_excerpt": "", "error": ""}
    try:
        target = addresses.check(message.endpoint.url)
    except addresses.RefusedURL as refused:
        return {**result, "error": f"refused: {refused.message}"[:255], "duration_ms": 0}
    body = json.dumps(message.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    headers = {
        **signing.headers(message.endpoint.secret, msg_id=message.webhook_id, timestamp=int(time.time()), body=body),
        "content-type": "application/json", "user-agent": USER_AGENT, "host": target.host_header,
    }
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, timeout=timeout, retries=False,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                assert_same_host=False, preload_content=False)
        excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        response.release_conn()
        result.update(succeeded=200 <= response.status < 300, response_status=response.status,
                      response_excerpt=excerpt.decode("utf-8", "replace"))
        if not result["succeeded"]:
            result["error"] = f"HTTP {response.status}"
    except urllib3.exceptions.HTTPError as error:
        result["error"] = f"{type(error).__name__}: {error}"[:255]
    finally:
        pool.close()
    return {**result, "duration_ms": int((time.monotonic() - started) * 1000)}
