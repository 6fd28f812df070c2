"""The ``webhook_events`` table: every signed FinCra webhook we accepted, once.

The key is the SHA-256 of the raw body, so a duplicate delivery is recognised and changes
nothing. ``flag`` marks what an operator should look at (an unknown reference, a payment FinCra
does not confirm, a contradicting payout outcome, an event we do not handle).
"""

from django.db import models


class WebhookEvent(models.Model):
    key = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=64, db_index=True)
    reference = models.CharField(max_length=255, blank=True, default="", db_index=True)
    payload = models.JSONField()
    flag = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_events"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.reference}"
