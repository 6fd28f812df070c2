"""The ``refresh_tokens`` table: one row per refresh token we issued, so a token can end.

A login starts a *session* (``family``): its first refresh token. Each refresh uses the token
(``used_at``) and issues the next one of the same family. A token is exchanged once: the use is a
conditional UPDATE (``escrow.services.sessions``), so of two concurrent refreshes one wins, and a
partial unique index keeps at most one live (neither used nor revoked) token per family whatever
the code does. Presenting an already-used token again is what a thief replaying a stolen token
looks like: the whole family is revoked. Logout revokes the family; deactivating a user or
changing their password revokes all of theirs (a trigger on ``users``, migration 0018).

``user`` is deliberately not a database foreign key: migration 0013 links a Supabase identity to
an API account only while no table refers to the account, and a login must not stop that (the
link changes the password, which revokes these rows). Django still deletes them with the user.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class RevokedReason(models.TextChoices):
    LOGOUT = "logout"
    REUSE = "reuse"  # an already-used token was presented again
    DEACTIVATED = "deactivated"
    PASSWORD_CHANGED = "password_changed"


class RefreshToken(models.Model):
    jti = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.UUIDField(db_index=True)  # the session: the first token's login
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_constraint=False,
                             related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField(db_index=True)  # the JWT's exp; the purge removes rows past it
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=16, choices=RevokedReason.choices, null=True, blank=True)

    class Meta:
        db_table = "refresh_tokens"
        constraints = [
            models.UniqueConstraint(fields=["family"], condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                                    name="refresh_tokens_family_one_live"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_reason__isnull=True)
                # isnull too: `NULL IN (...)` is NULL, which a CHECK lets through.
                | Q(revoked_at__isnull=False, revoked_reason__isnull=False, revoked_reason__in=RevokedReason.values),
                name="refresh_tokens_chk_revoked_reason"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="refresh_tokens_chk_expires_after_created"),
        ]

    def __str__(self) -> str:
        return str(self.jti)
