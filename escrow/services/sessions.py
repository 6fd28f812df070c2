"""Sessions of the API's own tokens: a login's refresh-token family (``refresh_tokens``).

- ``session_start``: a login; the first refresh token of a new family.
- ``session_refresh``: exchange a refresh token for the next one of its family, once. The use is
  one conditional UPDATE (unused, unrevoked, unexpired → used): PostgreSQL lets one of two
  concurrent exchanges update the row, the other waits for it and then matches nothing.
- A token presented again after it was used is a replay (the thief's or the owner's, we cannot
  tell which): the whole family is revoked, both lose the session (OAuth 2.0 Security BCP,
  RFC 9700 §4.14.2). Within JWT_REFRESH_REUSE_GRACE_SECONDS of the use it is refused without
  revoking, so that a client whose two tabs refresh at once is not logged out.
- ``session_end``: logout, the family revoked. Access tokens are not looked up here: they end
  on their own after JWT_ACCESS_TTL_SECONDS.
- Deactivating a user or changing their password revokes all their families (a trigger on
  ``users``, migration 0018), so nothing here has to be called for that.

Refusals that revoke commit before they are raised: call these outside any transaction of the
caller's (the API's refresh and logout views are not atomic), or the revocation rolls back.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from escrow.errors import SessionRefused
from escrow.models import RefreshToken, RevokedReason, User

ENDED = "This session has ended; log in again."


def session_start(*, user: User) -> RefreshToken:
    """A login: the first refresh token of a new family."""
    return _issue(user_id=user.pk, family=uuid.uuid4())


def session_refresh(*, jti: uuid.UUID, user_id: uuid.UUID) -> RefreshToken:
    """Use the refresh token ``jti`` (its signature already checked) and return the next one."""
    with transaction.atomic():
        used = RefreshToken.objects.filter(
            jti=jti, user_id=user_id, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=Now()
        ).update(used_at=Now())
        if used:
            # The row is ours (locked by the UPDATE) until commit.
            family = RefreshToken.objects.values_list("family", flat=True).get(jti=jti)
            if not User.objects.filter(pk=user_id, is_active=True).exists():
                raise SessionRefused("No active user for this token.")
            return _issue(user_id=user_id, family=family)
    token = RefreshToken.objects.filter(jti=jti, user_id=user_id).first()
    if token is None:
        raise SessionRefused("Unknown refresh token; log in again.")
    if token.revoked_at is not None:
        raise SessionRefused(ENDED)
    if token.used_at is None:  # not used, not revoked: it expired
        raise SessionRefused("Refresh token expired.")
    if token.used_at > timezone.now() - timedelta(seconds=settings.JWT_REFRESH_REUSE_GRACE_SECONDS):
        raise SessionRefused("This refresh token was just exchanged; use the new one.")
    _revoke_family(token.family, RevokedReason.REUSE)
    raise SessionRefused("This refresh token was already used: the session is revoked; log in again.")


def session_end(*, jti: uuid.UUID, user_id: uuid.UUID) -> None:
    """Logout: revoke the family of this refresh token (any token of it, used or not)."""
    family = RefreshToken.objects.filter(jti=jti, user_id=user_id).values_list("family", flat=True).first()
    if family is None:
        raise SessionRefused("Unknown refresh token; log in again.")
    _revoke_family(family, RevokedReason.LOGOUT)


def sessions_purge_expired() -> int:
    """Delete refresh tokens past their expiry (their JWT is refused by its ``exp`` anyway)."""
    deleted, _ = RefreshToken.objects.filter(expires_at__lt=Now()).delete()
    return deleted


def _issue(*, user_id, family) -> RefreshToken:
    now = timezone.now().replace(microsecond=0)  # the JWT's iat and exp are whole seconds
    return RefreshToken.objects.create(user_id=user_id, family=family, created_at=now,
                                       expires_at=now + timedelta(seconds=settings.JWT_REFRESH_TTL_SECONDS))


@transaction.atomic
def _revoke_family(family: uuid.UUID, reason: str) -> int:
    return RefreshToken.objects.filter(family=family, revoked_at__isnull=True).update(revoked_at=Now(),
                                                                                     revoked_reason=reason)
