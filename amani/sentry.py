"""Sentry error tracking, when ``SENTRY_DSN`` is set, with personal data scrubbed.

The SDK is told to collect no personal data (``data_collection``, which supersedes the deprecated
``send_default_pii=False`` and says the same per category: no user identity, cookies, bodies,
query strings, query parameters or local variables, only harmless request headers). Whatever the
SDK or an integration still puts in, ``before_send`` removes: request headers other than harmless
ones (Authorization, Cookie, API keys), cookies, bodies and query strings; the user down to its
id; local variables of a traceback; and anywhere else (extra, breadcrumbs, contexts) values under
keys that name e-mails, names, phone numbers, bank details, passwords, tokens or keys, and any
e-mail address left in a message. The request's id is a tag, to find its log lines.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"

# Keys whose value is personal or secret, wherever they appear (lower-case, substring match).
SENSITIVE_KEYS = (
    "email", "e_mail", "name", "phone", "address", "account_number", "accountnumber", "bank",
    "iban", "bvn", "password", "passwd", "secret", "token", "api_key", "apikey", "authorization",
    "cookie", "session", "signature", "csrf", "jwt", "dsn", "private", "key",
)
# Keys that contain one of the words above but say nothing personal.
HARMLESS_KEYS = {"task_name", "logger_name", "server_name", "filename", "abs_path", "module", "function",
                 "type", "transaction", "level", "logger", "platform", "environment", "release"}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SAFE_HEADERS = {"content-type", "content-length", "accept", "user-agent", "x-request-id", "host", "idempotency-key"}


def _sensitive(key) -> bool:
    key = str(key).lower()
    return key not in HARMLESS_KEYS and any(word in key for word in SENSITIVE_KEYS)


def scrub(value):
    """``value`` with every sensitive key's value filtered and e-mail addresses in strings masked."""
    if isinstance(value, dict):
        return {key: FILTERED if _sensitive(key) else scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return EMAIL.sub(FILTERED, value)
    return value


def before_send(event, hint):
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        request["headers"] = {key: value if key.lower() in SAFE_HEADERS else FILTERED
                              for key, value in headers.items()}
        for field in ("cookies", "data", "query_string", "env"):
            if request.get(field):
                request[field] = FILTERED
        if request.get("url"):
            request["url"] = request["url"].split("?", 1)[0]
    if isinstance(event.get("user"), dict):
        event["user"] = {"id": event["user"]["id"]} if "id" in event["user"] else {}
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    keep_request = event.pop("request", None)
    keep_user = event.pop("user", None)
    event = scrub(event)
    if keep_request is not None:
        event["request"] = keep_request
    if keep_user is not None:
        event["user"] = keep_user
    return event


def before_breadcrumb(crumb, hint):
    return scrub(crumb)


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float, **options) -> None:
    """``options``: more of ``sentry_sdk.init``'s (the tests give a transport that keeps events)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(SAFE_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            # Off: a local variable can hold anything (a user, a serializer's data, a message naming
            # someone) and no list of key names catches a name inside a string.
            "stack_frame_variables": False,
        },
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=traces_sample_rate,
        **options,
    )
