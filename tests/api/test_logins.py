"""Logins: a lockout per account and per address (django-axes) counted atomically; the rate
throttle of login, refresh and registration; the client's address taken from X-Forwarded-For only
behind the configured number of proxies (TRUSTED_PROXY_COUNT)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from escrow import logins
from tests.factories import PASSWORD, account
from tests.helpers import db_snapshot, race

LIMIT = 10


def token(email: str, password: str, **meta):
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json", **meta)


def failures_recorded(**lookup) -> int:
    """Wrong passwords that reached the password check (locked-out attempts are refused before it)."""
    return AccessAttempt.objects.filter(**lookup).aggregate(n=Sum("failures_since_start"))["n"] or 0


@pytest.fixture
def lockout(settings):
    """The lockout under test, not the rate throttle in front of it."""
    settings.AUTH_THROTTLE_RATE = "1000/min"
    settings.AXES_FAILURE_LIMIT = LIMIT
    cache.clear()


def assert_locked_out(response) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "locked_out" and "Too many failed logins" in error["message"]
    assert int(response["Retry-After"]) > 0
    assert "access" not in response.json()


@pytest.mark.slow
def test_forty_parallel_wrong_passwords_check_at_most_the_limit(committed_db, lockout):
    """Forty attempts at once, each with a fresh forged X-Forwarded-For: only LIMIT reach the
    password check; the one that reaches the limit and all later ones are told they are locked out."""
    account(email="victim@example.com")

    codes, errors, _ = race(40, lambda i: token("victim@example.com", f"guess {i}", REMOTE_ADDR="203.0.113.7",
                                                HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code)

    assert not errors
    assert sorted(codes) == [401] * (LIMIT - 1) + [429] * (40 - LIMIT + 1)
    assert failures_recorded(username="victim@example.com") == LIMIT
    # The lockout holds, for the right password too, whatever X-Forwarded-For says...
    for forged in ("", "198.51.100.250", "10.0.0.1, 198.51.100.251"):
        assert_locked_out(token("victim@example.com", PASSWORD, REMOTE_ADDR="203.0.113.7",
                                HTTP_X_FORWARDED_FOR=forged))
    # ...and from another address: the account is locked, not only the address.
    assert_locked_out(token("victim@example.com", PASSWORD, REMOTE_ADDR="192.0.2.99"))
    assert failures_recorded(username="victim@example.com") == LIMIT  # refused attempts are not checked


@pytest.mark.slow
def test_forty_parallel_refreshes_pass_the_rate_throttle_at_most_its_rate(committed_db, settings):
    """The rate throttle (login, refresh, registration) counts atomically in the shared cache."""
    settings.AUTH_THROTTLE_RATE = "10/min"
    cache.clear()

    codes, errors, _ = race(40, lambda i: APIClient().post("/api/v1/auth/token/refresh/", {"refresh": "x.y.z"},
                                                           format="json", REMOTE_ADDR="203.0.113.8").status_code)

    assert not errors
    assert sorted(codes) == [401] * 10 + [429] * 30


@pytest.mark.slow
def test_an_attempt_that_waits_too_long_for_its_turn_is_a_429(committed_db, lockout, monkeypatch):
    """Attempts at one account run one at a time; one that cannot get its turn is told to retry."""
    monkeypatch.setattr(logins, "LOCK_TIMEOUT_MS", 200)
    account(email="victim@example.com")
    hold = "SELECT pg_advisory_{}(hashtextextended('login:account:victim@example.com', 0))"
    with connection.cursor() as cursor:
        cursor.execute(hold.format("lock"))  # another attempt at this account, taking its time
    try:
        responses, errors, _ = race(1, lambda i: token("victim@example.com", PASSWORD))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(hold.format("unlock"))
    assert not errors
    assert responses[0].status_code == 429 and responses[0]["Retry-After"] == "1"
    assert responses[0].json()["error"]["code"] == "throttled"
    assert failures_recorded() == 0
    assert token("victim@example.com", PASSWORD).status_code == 200  # its turn now


def test_the_account_is_locked_from_any_address_and_any_spelling(db, lockout):
    account(email="victim@example.com")
    for i in range(LIMIT):
        spelling = "Victim@Example.COM " if i % 2 else "victim@example.com"
        token(spelling, "wrong", REMOTE_ADDR=f"192.0.2.{i + 1}")
    before = db_snapshot()

    assert_locked_out(token("victim@example.com", PASSWORD, REMOTE_ADDR="198.51.100.77"))
    assert db_snapshot() == before
    # Another account is not affected.
    other = account()
    assert token(other.email, PASSWORD, REMOTE_ADDR="198.51.100.77").status_code == 200


def test_an_address_is_locked_across_accounts(db, lockout):
    """Password spraying: one wrong password each for many accounts, from one address."""
    user = account()
    for i in range(LIMIT):
        token(f"nobody{i}@example.com", "Winter2026!", REMOTE_ADDR="203.0.113.9")

    assert_locked_out(token(user.email, PASSWORD, REMOTE_ADDR="203.0.113.9"))
    assert token(user.email, PASSWORD, REMOTE_ADDR="203.0.113.10").status_code == 200


def test_the_lockout_ends_after_the_cool_off(db, lockout, settings):
    user = account()
    for _ in range(LIMIT):
        token(user.email, "wrong")
    assert_locked_out(token(user.email, PASSWORD))

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = token(user.email, PASSWORD)
    assert response.status_code == 200 and response.json()["access"]


def test_a_forged_forwarded_for_does_not_reset_the_rate_throttle(db, settings):
    """With no trusted proxy (the default) X-Forwarded-For is ignored: one address, one bucket."""
    settings.AUTH_THROTTLE_RATE = "3/min"
    cache.clear()
    client = APIClient()
    codes = [client.post("/api/v1/auth/token/", {"email": "x@example.com", "password": "wrong"}, format="json",
                         HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    blocked = client.post("/api/v1/auth/register/", {"email": "y@example.com", "password": "a long passphrase here",
                                                     "full_name": "Y"}, format="json",
                          HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert blocked.status_code == 429


def test_behind_one_proxy_the_last_forwarded_address_is_the_client(db, settings):
    """TRUSTED_PROXY_COUNT=1: the proxy appends the address it saw; what the client wrote before
    that is not believed."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AUTH_THROTTLE_RATE = "3/min"
    cache.clear()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def attempt(forwarded):
        return token("x@example.com", "wrong", HTTP_X_FORWARDED_FOR=forwarded, **proxy).status_code

    assert [attempt(f"{i}.{i}.{i}.{i}, 198.51.100.1") for i in range(1, 5)] == [401, 401, 401, 429]
    assert attempt("198.51.100.2") == 401  # another client behind the same proxy
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.1", "198.51.100.2"}
    # A proxy that sends something that is not an address: the connection's address counts.
    assert attempt("not-an-address") == 401
    assert AccessAttempt.objects.filter(ip_address="10.0.0.2").exists()
