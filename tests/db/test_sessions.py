"""The database's half of refresh tokens (migration 0018), written around the ORM and the API:
one live token per session, a reason for every revocation, every session of a user ended when
their password changes or they are deactivated, and the table closed to Supabase's client roles."""

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from escrow import services
from escrow.db.rls import as_role
from escrow.models import RefreshToken
from tests.factories import UserFactory


def execute(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def violated(statement: str, params=()) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        execute(statement, params)
    return caught.value.__cause__.diag.constraint_name


def test_a_session_has_one_live_token(db):
    token = services.session_start(user=UserFactory())
    insert = ("insert into refresh_tokens (jti, family, user_id, expires_at)"
              " values (%s, %s, %s, now() + interval '1 day')")

    assert violated(insert, [uuid.uuid4(), token.family, token.user_id]) == "refresh_tokens_family_one_live"
    assert RefreshToken.objects.filter(family=token.family).count() == 1
    execute("update refresh_tokens set used_at = now() where jti = %s", [token.jti])
    execute(insert, [uuid.uuid4(), token.family, token.user_id])  # the next one, once this is used


def test_a_revocation_says_why(db):
    token = services.session_start(user=UserFactory())
    assert violated("update refresh_tokens set revoked_at = now() where jti = %s",
                    [token.jti]) == "refresh_tokens_chk_revoked_reason"
    assert violated("update refresh_tokens set revoked_at = now(), revoked_reason = 'bored' where jti = %s",
                    [token.jti]) == "refresh_tokens_chk_revoked_reason"
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(("change", "reason"), [
    ("hashed_password = 'pbkdf2_sha256$1$salt$other'", "password_changed"),  # manage.py changepassword, any path
    ("is_active = false", "deactivated"),
])
def test_a_password_change_or_deactivation_revokes_every_session(db, change, reason):
    user, bystander = UserFactory(), UserFactory()
    tokens = [services.session_start(user=user) for _ in range(2)]
    kept = services.session_start(user=bystander)

    execute(f"update users set {change} where id = %s", [user.pk])

    assert set(RefreshToken.objects.filter(jti__in=[t.jti for t in tokens]).values_list(
        "revoked_reason", flat=True)) == {reason}
    kept.refresh_from_db()
    assert kept.revoked_at is None


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("statement", [
    "select jti from refresh_tokens",
    "update refresh_tokens set revoked_at = null, revoked_reason = null",  # reviving a session
])
def test_client_roles_cannot_touch_refresh_tokens(db, role, statement):
    services.session_start(user=UserFactory())
    with pytest.raises(DatabaseError, match="permission denied"), as_role(role, None), connection.cursor() as cursor:
        cursor.execute(statement)
