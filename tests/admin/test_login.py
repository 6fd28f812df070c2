"""The operator console's login is locked out like the API's: per account and per address,
with a clear message, whatever X-Forwarded-For says."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, account

LIMIT = 10


@pytest.fixture
def operator(db, settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    return account(is_staff=True, is_superuser=True)


def admin_login(client: Client, email: str, password: str, **meta):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password}, **meta)


def assert_locked_out(client: Client, response) -> None:
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_twenty_wrong_passwords_then_the_right_one_is_locked_out(operator):
    client = Client()
    codes = [admin_login(client, operator.email, f"guess {i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
             for i in range(20)]

    assert codes == [200] * (LIMIT - 1) + [429] * (20 - LIMIT + 1)  # 200: the form again, with its error
    assert_locked_out(client, admin_login(client, operator.email, PASSWORD))
    # The account, not only the address: another address is refused too.
    other = Client(REMOTE_ADDR="192.0.2.50")
    assert_locked_out(other, admin_login(other, operator.email, PASSWORD))


def test_the_lockout_ends_after_the_cool_off(operator, settings):
    client = Client()
    for _ in range(LIMIT):
        admin_login(client, operator.email, "wrong")
    assert_locked_out(client, admin_login(client, operator.email, PASSWORD))

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    response = admin_login(client, operator.email, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(operator.pk)


def test_failures_at_the_api_lock_the_console_too(operator, settings):
    settings.AUTH_THROTTLE_RATE = "1000/min"
    for i in range(LIMIT):
        APIClient().post("/api/v1/auth/token/", {"email": operator.email, "password": "wrong"}, format="json",
                         REMOTE_ADDR=f"192.0.2.{i + 1}")
    client = Client()
    assert_locked_out(client, admin_login(client, operator.email, PASSWORD))


def test_a_superuser_lifts_a_lockout_in_the_console(operator, admin_client):
    client = Client()
    for _ in range(LIMIT):
        admin_login(client, operator.email, "wrong")
    attempt = AccessAttempt.objects.get(username=operator.email)
    assert admin_client.get("/admin/axes/accessattempt/").status_code == 200

    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    assert admin_login(client, operator.email, PASSWORD).status_code == 302
