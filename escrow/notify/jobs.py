"""Outbound webhooks and e-mail notifications as procrastinate jobs, deferred in the transaction of
the state change that owes them: each webhook message's delivery; each e-mail notification
(escrow/notify/email.py), the one telling an owner their endpoint was disabled among them; the
periodic reminder of inspection deadlines.

Thin: the work is in ``escrow.notify.webhooks``. A delivery's retries follow the message's own
schedule (``RetryLater`` carries the delay), not a job-wide one.
"""

import smtplib

from django.conf import settings
from django.db import DatabaseError
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app

from escrow.worker import CappedBackoff, defer_once


class DeliverySchedule(BaseRetryStrategy):
    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        from escrow.notify.webhooks import RetryLater

        if isinstance(exception, RetryLater):
            return RetryDecision(retry_in={"seconds": exception.seconds})
        if isinstance(exception, DatabaseError) and job.attempts < 20:
            return RetryDecision(retry_in={"seconds": 30})  # the database was away: the message waits
        return None


# A mail server that refused or could not be reached: EMAIL_RETRY_BASE_SECONDS × 2^n, at most six
# hours apart, for EMAIL_RETRY_MAX_ATTEMPTS attempts (about a day with the defaults).
EMAIL_RETRY = CappedBackoff(retry_on=(smtplib.SMTPException, OSError, DatabaseError),
                            base=lambda: settings.EMAIL_RETRY_BASE_SECONDS, cap=6 * 3600,
                            max_attempts=lambda: settings.EMAIL_RETRY_MAX_ATTEMPTS)


@app.task(queue="webhooks", retry=DeliverySchedule())
def deliver_webhook(message_id: str, trigger: str = "automatic") -> str:
    """One attempt at a webhook message (retried on its schedule while it fails)."""
    from escrow.notify.webhooks import webhook_deliver

    return webhook_deliver(message_id=message_id, trigger=trigger)


@app.task(queue="webhooks", retry=EMAIL_RETRY)
def endpoint_disabled_email(endpoint_id: str) -> int:
    """Tell the owner that their endpoint was disabled, and how to enable it again."""
    from escrow.models import WebhookEndpoint
    from escrow.notify.email import notification_send

    owner_id = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return 0
    return notification_send(kind="webhook_endpoint_disabled", recipient_id=owner_id, endpoint_id=endpoint_id)


@app.task(queue="email", retry=EMAIL_RETRY)
def send_notification(kind: str, recipient_id: str, **refs) -> int:
    """One e-mail notification (escrow/notify/email.py), retried while the mail server refuses it."""
    from escrow.notify.email import notification_send

    return notification_send(kind=kind, recipient_id=recipient_id, **refs)


@app.periodic(cron="*/10 * * * *", periodic_id="inspection_reminders")
@app.task(queue="periodic", queueing_lock="inspection_reminders")
def inspection_reminders(timestamp: int) -> int:
    """Remind buyers whose inspection period ends within a day (once per delivery)."""
    from escrow.notify.email import inspection_reminders_queue

    return len(inspection_reminders_queue())


def defer_delivery(message_id, trigger: str) -> None:
    """Queue an attempt; one automatic job per message (a replay is a job of its own)."""
    defer_once(deliver_webhook, f"outbound-webhook-{message_id}" if trigger == "automatic" else None,
               message_id=str(message_id), trigger=str(trigger))
