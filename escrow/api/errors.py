"""One JSON shape for every error:

    {"error": {"code": "invalid_transition", "message": "Cannot approve ...", "fields": {}}}

``fields`` maps a field name to its messages on a 400. Domain errors keep the engine's message:
NotAllowed → 403, InvalidTransition / AmountsDoNotAddUp / InsufficientBalance → 409,
InvalidInput → 400. A database rule that a service did not see coming is a 409, not a 500.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from escrow.errors import (
    AmountsDoNotAddUp,
    EscrowError,
    InsufficientBalance,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
)

DOMAIN_STATUS = {
    NotAllowed: status.HTTP_403_FORBIDDEN,
    InvalidTransition: status.HTTP_409_CONFLICT,
    AmountsDoNotAddUp: status.HTTP_409_CONFLICT,
    InsufficientBalance: status.HTTP_409_CONFLICT,
    InvalidInput: status.HTTP_400_BAD_REQUEST,
}


def error_response(code: str, message: str, http_status: int, fields: dict | None = None, headers=None) -> Response:
    return Response({"error": {"code": code, "message": message, "fields": fields or {}}}, status=http_status,
                    headers=headers)


def exception_handler(exc, context):
    # The request's transaction has already rolled back: the error left its ``with`` block
    # (escrow.api.base). Nothing to undo here.
    if isinstance(exc, EscrowError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        return error_response(exc.code, exc.message, DOMAIN_STATUS.get(type(exc), 400), fields)
    if isinstance(exc, Http404):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = {name: _messages(value) for name, value in detail.items()}
        first = next(iter(fields.items()), ("input", ["Invalid input."]))
        return error_response("invalid", f"{first[0]}: {first[1][0]}", status.HTTP_400_BAD_REQUEST, fields)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        return error_response(code, str(exc.detail), exc.status_code, headers=headers)
    if isinstance(exc, IntegrityError):
        cause = getattr(exc, "__cause__", None)
        constraint = getattr(getattr(cause, "diag", None), "constraint_name", None) or "database rule"
        return error_response("conflict", f"Refused by {constraint}.", status.HTTP_409_CONFLICT)
    if isinstance(exc, DataError):
        return error_response("invalid", "A value is out of range or malformed.", status.HTTP_400_BAD_REQUEST)
    return None  # anything else is a bug: a 500, logged by Django


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    return [str(value)]


def _json_or_default(request, http_status: int, code: str, message: str, default):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=http_status)
    return default()


def not_found(request, exception=None):
    """handler404: URLs under /api/ that match no route answer in the API's error shape."""
    from django.views import defaults

    return _json_or_default(request, 404, "not_found", "Not found.",
                            lambda: defaults.page_not_found(request, exception))


def server_error(request):
    """handler500: never an HTML page for an API client."""
    from django.views import defaults

    return _json_or_default(request, 500, "server_error", "Internal error; it has been logged.",
                            lambda: defaults.server_error(request))
