"""Sessions of our own tokens: a refresh token is exchanged once, a replay revokes the session,
logout ends it, and deactivating a user or changing their password ends all of theirs.

Through the API (login, refresh, logout as a client calls them), the console's real password
form, and real threads for concurrent refreshes.
"""

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from escrow import services
from escrow.models import RefreshToken
from tests.factories import PASSWORD, account
from tests.helpers import race

LOGIN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


@pytest.fixture(autouse=True)
def unthrottled(settings):
    settings.AUTH_THROTTLE_RATE = "1000/min"  # read at each request


def login(user) -> dict:
    response = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def logout(token: str):
    return APIClient().post(LOGOUT, {"refresh": token}, format="json")


def me(access: str) -> int:
    return APIClient().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def row(token: str) -> RefreshToken:
    return RefreshToken.objects.get(jti=jwt.decode(token, options={"verify_signature": False})["jti"])


def family_of(token: str) -> list[RefreshToken]:
    return list(RefreshToken.objects.filter(family=row(token).family).order_by("created_at", "used_at"))


def message(response) -> str:
    return response.json()["error"]["message"]


def test_a_refresh_token_is_exchanged_once(db, settings):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 10  # the tabs' grace, when an operator turns it on
    user = account()
    first = login(user)

    second = refresh(first["refresh"])
    assert second.status_code == 200 and me(second.json()["access"]) == 200

    again = refresh(first["refresh"])  # used a moment ago (a second tab): refused, session kept
    assert again.status_code == 401 and "just exchanged" in message(again)
    assert refresh(second.json()["refresh"]).status_code == 200
    # Both tokens carry the session; the refresh token's id is its row.
    claims = jwt.decode(second.json()["refresh"], options={"verify_signature": False})
    assert claims["session_id"] == str(row(first["refresh"]).family) == jwt.decode(
        second.json()["access"], options={"verify_signature": False})["session_id"]


def test_a_replayed_refresh_token_revokes_the_whole_session(db):
    user = account()
    stolen = login(user)["refresh"]
    newest = refresh(refresh(stolen).json()["refresh"]).json()["refresh"]
    RefreshToken.objects.filter(jti=row(stolen).jti).update(used_at=timezone.now() - timedelta(minutes=5))
    other_login = login(user)["refresh"]

    replay = refresh(stolen)

    assert replay.status_code == 401 and "already used" in message(replay)
    assert [(t.revoked_reason, t.revoked_at is not None) for t in family_of(stolen)] == [("reuse", True)] * 3
    refused = refresh(newest)  # the legitimate client's latest token dies with the session
    assert refused.status_code == 401 and "session has ended" in message(refused)
    assert refresh(other_login).status_code == 200  # another login is another session


def test_strict_reuse_detection_by_default(db, settings):
    assert settings.JWT_REFRESH_REUSE_GRACE_SECONDS == 0  # the default: strict
    first = login(account())["refresh"]
    second = refresh(first).json()["refresh"]

    assert refresh(first).status_code == 401
    assert refresh(second).status_code == 401
    assert {t.revoked_reason for t in family_of(first)} == {"reuse"}


@pytest.mark.parametrize("grace", [10, 0])
def test_of_concurrent_refreshes_with_one_token_exactly_one_succeeds(committed_db, settings, grace):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = grace
    token = login(account())["refresh"]

    responses, errors, _ = race(8, lambda i: refresh(token))

    assert errors == []
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1 and sorted(r.status_code for r in responses) == [200] + [401] * 7
    rows = family_of(token)
    assert len(rows) == 2  # the used token and the one the winner got, nothing more
    if grace:
        # The losers raced a moment after the winner: refused, the winner's session kept.
        assert refresh(winners[0].json()["refresh"]).status_code == 200
    else:
        # Strict: a second use is a replay, the session ends for everyone.
        assert all(t.revoked_reason == "reuse" for t in rows)
        assert refresh(winners[0].json()["refresh"]).status_code == 401


def test_logout_ends_the_session_and_only_it(db):
    user = account()
    session = login(user)
    other = login(user)
    before = RefreshToken.objects.count()

    assert logout(session["refresh"]).status_code == 204

    ended = refresh(session["refresh"])
    assert ended.status_code == 401 and "session has ended" in message(ended)
    assert {t.revoked_reason for t in family_of(session["refresh"])} == {"logout"}
    assert refresh(other["refresh"]).status_code == 200
    # The access token is not looked up: it lasts until its exp (JWT_ACCESS_TTL_SECONDS).
    assert me(session["access"]) == 200
    assert RefreshToken.objects.count() == before + 1  # only the other session's refresh
    assert logout(session["refresh"]).status_code == 204  # again: still ended, nothing new


@pytest.mark.parametrize("token", ["not-a-jwt", "access"])
def test_logout_with_something_else_than_a_refresh_token_is_refused(db, token):
    session = login(account())
    before = list(RefreshToken.objects.values_list("jti", "revoked_at"))
    response = logout(session["access"] if token == "access" else token)
    assert response.status_code == 401
    assert list(RefreshToken.objects.values_list("jti", "revoked_at")) == before


def test_a_refresh_token_from_before_sessions_is_refused(db, settings):
    user = account()
    now = int(time.time())
    old = jwt.encode({"sub": str(user.pk), "email": user.email, "iss": settings.JWT_ISSUER, "iat": now,
                      "aud": "amani:refresh", "exp": now + 3600}, settings.JWT_SIGNING_KEY, algorithm="HS256")
    response = refresh(old)
    assert response.status_code == 401 and "log in again" in message(response)
    assert not RefreshToken.objects.filter(user=user).exists()


def test_a_signed_token_with_an_unknown_id_is_refused(db, settings):
    user = account()
    now = int(time.time())
    forged = jwt.encode({"sub": str(user.pk), "email": user.email, "iss": settings.JWT_ISSUER, "iat": now,
                         "aud": "amani:refresh", "exp": now + 3600, "jti": str(uuid.uuid4())},
                        settings.JWT_SIGNING_KEY, algorithm="HS256")
    assert refresh(forged).status_code == 401
    assert not RefreshToken.objects.filter(user=user).exists()


def test_deactivation_revokes_every_session_for_good(db):
    user = account()
    sessions = [login(user)["refresh"] for _ in range(2)]
    operator = account(is_staff=True, is_superuser=True)

    services.user_deactivate(user=user, actor=operator, reason="fraud report")

    assert set(RefreshToken.objects.filter(user=user).values_list("revoked_reason", flat=True)) == {"deactivated"}
    user.is_active = True  # reactivated later: the old sessions stay ended
    user.save(update_fields=["is_active"])
    assert [refresh(token).status_code for token in sessions] == [401, 401]


def test_a_password_changed_in_the_console_ends_every_session(db):
    user = account()
    session = login(user)
    operator = account(is_staff=True, is_superuser=True)
    console = Client()
    console.force_login(operator)

    response = console.post(f"/admin/escrow/user/{user.pk}/password/",
                            {"password1": "a new Passw0rd to remember", "password2": "a new Passw0rd to remember"})

    assert response.status_code == 302, response.content[:500]
    assert set(RefreshToken.objects.filter(user=user).values_list("revoked_reason", flat=True)) == {"password_changed"}
    assert refresh(session["refresh"]).status_code == 401
    assert refresh(login(operator)["refresh"]).status_code == 200  # the operator's own sessions go on


def test_a_profile_change_ends_nothing(db, as_user):
    user = account()
    session = login(user)
    user.full_name = "Someone Else"
    user.save()  # every column, the password hash unchanged
    assert refresh(session["refresh"]).status_code == 200


def test_expired_refresh_tokens_are_purged(db):
    user = account()
    live = login(user)["refresh"]
    expired = login(user)["refresh"]
    RefreshToken.objects.filter(jti=row(expired).jti).update(created_at=timezone.now() - timedelta(days=8),
                                                             expires_at=timezone.now() - timedelta(days=1))

    assert services.sessions_purge_expired() == 1
    assert list(RefreshToken.objects.filter(user=user)) == [row(live)]
    call_command("refresh_tokens_purge", verbosity=0)  # the same, by hand
    assert RefreshToken.objects.filter(user=user).count() == 1
