"""Outbound webhooks as procrastinate jobs: each message's delivery, deferred in the transaction
of the state change that owes it; the e-mail that tells an owner their endpoint was disabled.

Thin: the work is in ``escrow.notify.webhooks``. A delivery's retries follow the message's own
schedule (``RetryLater`` carries the delay), not a job-wide one.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued


class DeliverySchedule(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        from escrow.notify.webhooks import RetryLater

        if isinstance(exception, RetryLater):
            return RetryDecision(retry_in={"seconds": exception.seconds})
        if isinstance(exception, DatabaseError) and job.attempts < 20:
            return RetryDecision(retry_in={"seconds": 30})  # the database was away: the message waits
        return None


@app.task(queue="webhooks", retry=DeliverySchedule())
def deliver_webhook(message_id: str, trigger: str = "automatic") -> str:
    """One attempt at a webhook message (retried on its schedule while it fails)."""
    from escrow.notify.webhooks import webhook_deliver

    return webhook_deliver(message_id=message_id, trigger=trigger)


@app.task(queue="webhooks", retry=5)
def endpoint_disabled_email(endpoint_id: str) -> int:
    """Tell the owner that their endpoint was disabled, and how to enable it again."""
    from escrow.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.select_related("owner").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.is_active:
        return 0
    return send_mail(
        subject="Amani: your webhook endpoint was disabled",
        message=(f"Hello {endpoint.owner.full_name},\n\nYour webhook endpoint {endpoint.url} was disabled: "
                 f"{endpoint.disabled_reason}.\nNo events are sent to it until you enable it again "
                 "(PATCH /api/v1/webhook-endpoints/{id}/ with is_active true); the events it missed can be "
                 "replayed from its delivery log.\n\nAmani").replace("{id}", str(endpoint.pk)),
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[endpoint.owner.email],
    )


def defer_delivery(message_id, trigger: str) -> None:
    """Queue an attempt; one automatic job per message (a replay is a job of its own)."""
    job = deliver_webhook.configure(
        queueing_lock=f"webhook-{message_id}" if trigger == "automatic" else None)
    try:
        with transaction.atomic():  # a savepoint: a refused duplicate must not abort the caller's transaction
            job.defer(message_id=str(message_id), trigger=str(trigger))
    except AlreadyEnqueued:
        pass
