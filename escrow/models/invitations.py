"""The ``invitations`` table: a counterparty named by e-mail before they are a party (issue 12).

One row per invitation of a draft project's missing party. The link's token is never stored: only
its SHA-256 (``token_hash``); the token itself is derived from the invitation and SECRET_KEY when
the e-mail is sent (escrow/services/invitations.py). An invitation is open until it is accepted
(the invitee became the party), withdrawn by the creator, or past ``expires_at``; at most one is
open per project (``invitations_one_open``). Clients' database roles cannot reach the table
(no policy, closed by the hardening after migrate; docs/rls.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from escrow.models.fields import uuid_pk


class InvitationRole(models.TextChoices):
    BUYER = "buyer"
    SELLER = "seller"


class Invitation(models.Model):
    id = uuid_pk()
    project = models.ForeignKey("escrow.Project", on_delete=models.CASCADE, related_name="invitations")
    email = models.CharField(max_length=254)  # lower-cased
    role = models.CharField(max_length=6, choices=InvitationRole.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    sent_at = models.DateTimeField()  # the last (re)send: the token is derived from it
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invitations"
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(accepted_at__isnull=True, withdrawn_at__isnull=True),
                                    name="invitations_one_open"),
            models.CheckConstraint(condition=Q(role__in=InvitationRole.values), name="invitations_chk_role"),
            models.CheckConstraint(condition=Q(email=models.functions.Lower("email")) & Q(email__contains="@"),
                                   name="invitations_chk_email_lower"),
            models.CheckConstraint(condition=Q(accepted_at__isnull=True) | Q(withdrawn_at__isnull=True),
                                   name="invitations_chk_one_outcome"),
            models.CheckConstraint(condition=Q(accepted_at__isnull=True, accepted_by__isnull=True)
                                   | Q(accepted_at__isnull=False, accepted_by__isnull=False),
                                   name="invitations_chk_accepted_by"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("sent_at")), name="invitations_chk_expires"),
        ]
        indexes = [models.Index(fields=["email"], name="invitations_email_idx")]

    def __str__(self) -> str:
        return f"{self.role} {self.email}"
