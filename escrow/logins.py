"""Login attempts: who is attempting, one attempt at a time, and the answer to a locked-out client.

Both logins of the service (the API's token endpoint and the operator console) go through
Django's ``authenticate`` with django-axes in front (``AUTHENTICATION_BACKENDS``): a wrong password
is recorded per account and per client address, and once either reaches AUTH_LOCKOUT_FAILURES
the attempt is refused before the password is checked, until AUTH_LOCKOUT_MINUTES have passed.

Axes checks the count, then the password, then records the failure: three steps. Forty attempts
at once would all pass the check before the first is recorded. So each attempt runs inside
``one_at_a_time(address, account)``: a transaction holding a PostgreSQL advisory lock per address
and per account (taken in a fixed order, so two attempts cannot deadlock) until the failure is
committed. Attempts at the same account or from the same address wait for each other (a few
milliseconds when refused, one password hash when checked); others run in parallel. The rate
throttle of the token, refresh and registration endpoints uses the same lock around its
read-modify-write of the shared cache.

The client's address is the connection's (``REMOTE_ADDR``) unless TRUSTED_PROXY_COUNT says how
many reverse proxies append to ``X-Forwarded-For``: then it is the address the outermost of them
saw. A header the client wrote itself is never believed, or every forged value would get a fresh
count.
"""

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

# A waiting attempt gives up (as throttled) rather than hold a worker for long.
LOCK_TIMEOUT_MS = 10_000

LOCKED_OUT_MESSAGE = "Too many failed logins for this account or from this address. Try again in {minutes} minutes."
BUSY_MESSAGE = "Too many login attempts at once for this account or from this address. Try again shortly."


class Busy(Exception):
    """Other attempts at the same account or from the same address held the lock too long."""


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: see the module's docstring. Also axes' AXES_CLIENT_IP_CALLABLE."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote  # not through the proxy (a health probe on the private network)
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # a misconfigured proxy: never store what cannot be an address


def attempted_account(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account an attempt names, spelled as users.email is stored (axes' AXES_USERNAME_CALLABLE),
    so that ``Victim@Example.com`` and ``victim@example.com`` share one count."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username")
    return normalized_account(username)


def normalized_account(username) -> str | None:
    return str(username).strip().lower() if username else None


@contextmanager
def one_at_a_time(*names: str) -> Iterator[None]:
    """A committed transaction holding an advisory lock on each name until it ends."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
            try:
                for name in sorted(set(names)):
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])
            except OperationalError as error:
                if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                    raise Busy from error
                raise
        yield


@contextmanager
def login_attempt(request: HttpRequest, account: str | None) -> Iterator[None]:
    """Around ``authenticate``: one attempt at a time per address and per account. Its failure is
    recorded (and committed) inside; raise the refusal after leaving, or it rolls back."""
    with one_at_a_time(f"login:address:{client_ip(request)}", f"login:account:{normalized_account(account)}"):
        yield


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials) -> HttpResponse:
    """Axes' AXES_LOCKOUT_CALLABLE: what a locked-out client sees (429)."""
    if request.path.startswith("/api/") and original_response is not None and original_response.status_code == 429:
        return original_response  # the token endpoint has answered in the API's shape already
    return refusal(request, "locked_out", LOCKED_OUT_MESSAGE.format(minutes=lockout_minutes()),
                   int(settings.AXES_COOLOFF_TIME.total_seconds()))


def refusal(request: HttpRequest, code: str, message: str, retry_after: int) -> HttpResponse:
    """A 429 in the API's error shape, or the console's login page saying why."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=429)
    else:
        from django.contrib import admin

        # Rendered here: a middleware's answer is not a view's, nothing would render a TemplateResponse.
        response = render(request, "escrow/locked_out.html",
                          {**admin.site.each_context(request), "title": "Locked out", "message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
