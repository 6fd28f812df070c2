"""Outbound webhooks: the endpoints users register, the messages owed to them, each attempt.

- ``webhook_endpoints``: a user's URL, the event types it wants (none: all) and its signing
  secret (Standard Webhooks' ``whsec_`` form). The secret is shown once, when created; the client
  roles have no grant on that column, so neither the API (which runs as ``authenticated``) nor
  PostgREST can read it back.
- ``webhook_messages``: one per (endpoint, audit event), written in the transaction of the state
  change, with the exact payload sent on every attempt (its id is the ``webhook-id`` header, the
  same on every retry and replay so the receiver can drop duplicates).
- ``webhook_deliveries``: one per HTTP attempt (or refusal before one), the log the owner reads.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now

from escrow.models.fields import TimestampedModel, uuid_pk


class WebhookEndpoint(TimestampedModel):
    id = uuid_pk()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=255, blank=True, default="", db_default="")
    # Empty: every event type.
    event_types = ArrayField(models.CharField(max_length=64), blank=True, default=list, db_default=[])
    secret = models.CharField(max_length=128)
    is_active = models.BooleanField(default=True, db_default=True)
    # Set by the first failed attempt after a success; cleared by the next success. An endpoint
    # failing for WEBHOOK_DISABLE_AFTER_HOURS is disabled (``disabled_reason`` says why).
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True, default="", db_default="")

    class Meta:
        db_table = "webhook_endpoints"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "is_active"], name="webhook_endpoints_owner_idx")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class MessageStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its first attempt or a retry
    DELIVERED = "delivered"  # a 2xx came back
    FAILED = "failed"  # retries ran out, or the endpoint was disabled or deleted meanwhile


class WebhookMessage(models.Model):
    id = uuid_pk()
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    # Null for a test message (none sent yet; kept for later kinds of messages).
    event = models.ForeignKey("escrow.EscrowEvent", on_delete=models.PROTECT, related_name="+", null=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING,
                              db_default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_messages"
        ordering = ["-created_at"]
        constraints = [
            # An event reaches an endpoint once, however often it is recorded or retried.
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_messages_endpoint_event_unique"),
        ]
        indexes = [models.Index(fields=["endpoint", "created_at"], name="webhook_messages_ep_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryTrigger(models.TextChoices):
    AUTOMATIC = "automatic"  # the first attempt and the retries
    OWNER_REPLAY = "owner_replay"
    OPERATOR_REPLAY = "operator_replay"


class WebhookDelivery(models.Model):
    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalised so the owner's log and its policy read one table.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    trigger = models.CharField(max_length=20, choices=DeliveryTrigger.choices)
    attempted_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    succeeded = models.BooleanField()
    # Null when no answer came (refused address, connection error, timeout).
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first KiB of the answer, or what went wrong.
    response_excerpt = models.TextField(blank=True, default="")
    error = models.CharField(max_length=255, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhook_deliveries_ep_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} {'ok' if self.succeeded else 'failed'}"
