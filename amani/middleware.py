"""The request's log line, its id, and its metrics.

First in ``MIDDLEWARE``, so the line and the figures cover everything the request went through
(CORS, sessions, authentication, the view), and every answer carries ``X-Request-ID``.
"""

import logging
import re
import time
import uuid

import sentry_sdk
from django.conf import settings
from django.core.signals import request_finished
from django.db import connections
from django.dispatch import receiver
from django.utils.functional import empty

from amani import metrics
from amani.logs import log_context

logger = logging.getLogger("amani.request")

# A proxy's or a client's id is kept only when it looks like one (a UUID, a trace id): nothing
# that could forge a log line or a header.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id(request) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    if settings.REQUEST_ID_FROM_HEADER and REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def user_id(request):
    """The authenticated user's id, as the view saw it (DRF sets ``request.user`` when it
    authenticates). A session user nobody looked at is not loaded just for the log."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


@receiver(request_finished, dispatch_uid="amani.middleware.forget_request")
def forget_request(**kwargs):
    log_context.set({})


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = request_id(request)
        # Until the response is closed (request_finished, below): Django logs a 4xx or 5xx
        # (django.request) after the middleware has returned, and that line is the request's too.
        log_context.set({"request_id": request.id})
        sentry_sdk.set_tag("request_id", request.id)  # nothing when Sentry is off
        started = time.perf_counter()
        with connections["default"].execute_wrapper(metrics.observe_query):
            response = self.get_response(request)
        duration = time.perf_counter() - started
        response["X-Request-ID"] = request.id
        match = getattr(request, "resolver_match", None)
        route = match.route if match else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, duration)
        logger.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"request_id": request.id, "user_id": user_id(request), "method": request.method,
                   "path": request.path, "route": route, "status": response.status_code,
                   "duration_ms": round(duration * 1000, 1)},
        )
        return response
