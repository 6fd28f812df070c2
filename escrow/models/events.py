"""The ``escrow_events`` table: the audit trail of every escrow state change.

Written by the services in the same transaction as the change it records, so a change without
its event cannot be committed. Append-only (a trigger refuses UPDATE and DELETE).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from escrow.models.fields import uuid_pk


class ActorKind(models.TextChoices):
    USER = "user"
    OPERATOR = "operator"
    SYSTEM = "system"


class EscrowEvent(models.Model):
    id = uuid_pk()
    # Null for the system (the inspection-period command, the payment gateway).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    action = models.CharField(max_length=40)
    # What changed: the project or one of its milestones (a milestone's dispute records both).
    # Empty on rows written before it existed (their subject is read from ``milestone``).
    subject = models.CharField(max_length=10, blank=True, default="", db_default="")
    # Null only for events about a user's own money outside any project (withdrawals).
    project = models.ForeignKey(
        "escrow.Project", on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    milestone = models.ForeignKey(
        "escrow.Milestone", on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    from_state = models.CharField(max_length=20, blank=True, default="")
    to_state = models.CharField(max_length=20, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now(), db_index=True)

    class Meta:
        db_table = "escrow_events"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"
