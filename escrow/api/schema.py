"""The OpenAPI schema says everything an operation can answer, so generated clients can trust it.

``EscrowAutoSchema`` (DEFAULT_SCHEMA_CLASS) derives from each view what the request cycle
(escrow.api.base) and the error handler (escrow.api.errors) can answer besides the view's own
declared answers, all in the one error shape:

- 400 when the operation takes a body, query parameters or an ``Idempotency-Key``;
- 401 when it reads a bearer token (an invalid or expired one is refused even where none is needed);
- 403 for writes by a signed-in caller (a service's ``not_allowed``, or CSRF for a console session);
- 404 when the path names an object (one the caller may not see is not found, as if absent), and on
  paged lists (a page past the last);
- 409 for writes (a transition the state does not allow, a database rule, a key still in progress);
- 415 when the operation takes a body (JSON only);
- 422 for POSTs with an ``Idempotency-Key`` reused with another body;
- 429 where requests are throttled (with ``Retry-After``).

Authenticated POSTs also declare the ``Idempotency-Key`` request header and the
``Idempotent-Replayed`` response header. Money input fields say what the API accepts: no sign, at
most two decimals (a currency with fewer refuses more, with a 400 naming the field).

Each operation's summary and description come from escrow.api.operations (by operationId).

The postprocessing hook ``shared_enums`` makes a query parameter's enum refer to the component of
the same values, and names the values of enums whose values are not identifiers
(``-created_at``) with ``x-enum-varnames``, so generators make one type with readable names.
"""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import AllowAny

from escrow.api.fields import MoneyInputField
from escrow.api.idempotency import MAX_KEY_LENGTH
from escrow.api.operations import OPERATIONS, TAGS

WRITES = ("POST", "PUT", "PATCH", "DELETE")

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `error.fields` names each field and what is wrong with it.",
    "401": "Missing, invalid or expired credentials.",
    "403": "Not allowed: the caller is not the party (or operator) who may do this.",
    "404": "No such object, or one the caller may not see.",
    "409": "Conflict: the object's state does not allow this now, a database rule refused it, or a request "
           "with the same Idempotency-Key is still running.",
    "415": "The body must be JSON (`Content-Type: application/json`).",
    "422": "This Idempotency-Key was used with a different request.",
    "429": "Too many attempts: retry after `Retry-After` seconds.",
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description=(f"A unique value (1 to {MAX_KEY_LENGTH} characters, e.g. a UUID) to make a retry safe: the same key "
                 "with the same request answers the first answer again (with `Idempotent-Replayed: true`) "
                 "for at least 24 hours; an empty value is refused with a 400."))
IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", str, OpenApiParameter.HEADER, response=True, required=False, enum=["true"],
    description="Present when this is the stored answer of an earlier request with the same Idempotency-Key.")
RETRY_AFTER = OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=["429"], required=False,
                               description="Seconds to wait before trying again.")

# A positive amount: 1 to 13 digits before the point (leading zeros aside), at most 2 after it, not zero.
MONEY_INPUT_PATTERN = r"^0*(?:[1-9][0-9]{0,12}(?:\.[0-9]{1,2})?|\.(?:0[1-9]|[1-9][0-9]?))$"


class EscrowAutoSchema(AutoSchema):
    def get_summary(self):
        return super().get_summary() or self._documented()[0]

    def get_description(self):
        # Not the view's docstring (written for maintainers, and inherited from the base classes).
        return self._documented()[1]

    def _documented(self) -> tuple[str, str]:
        return OPERATIONS.get(self.get_operation_id(), ("", ""))

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._idempotent():
            parameters += [IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED]
        if self.view.throttle_classes:
            parameters.append(RETRY_AFTER)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                description = ERROR_DESCRIPTIONS[code]
                if code == "404" and not re.search(r"{\w+}", self.path):
                    description = "No such page: past the last one, or a cursor that is not ours."
                responses[code] = {**self._get_response_for_code(self._error_serializer(), code),
                                   "description": description}
            elif not responses[code].get("description"):
                responses[code]["description"] = ERROR_DESCRIPTIONS.get(code, "")
        return dict(sorted(responses.items()))

    def _get_paginator(self):
        # An action declared with ``pagination_class=None`` answers a plain list, whatever the viewset's.
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        if "pagination_class" in getattr(handler, "kwargs", {}) and handler.kwargs["pagination_class"] is None:
            return None
        return super()._get_paginator()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, MoneyInputField):
            schema["pattern"] = MONEY_INPUT_PATTERN
            schema["description"] = (schema.get("description", "") + " A positive amount as a string, at most the "
                                     "currency's decimals (2; 0 for UGX, XAF, XOF).").strip()
        return schema

    def _error_serializer(self):
        from escrow.api.views.common import ERROR

        return ERROR

    def _signed_in(self) -> bool:
        return bool(self.view.authentication_classes) and not all(
            permission is AllowAny for permission in self.view.permission_classes)

    def _idempotent(self) -> bool:
        return self.method == "POST" and self._signed_in()

    def _takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _error_statuses(self) -> list[str]:
        codes = set()
        has_query = any(p["in"] == "query" for p in self._get_parameters())
        if self._takes_body() or has_query or self._idempotent():
            codes.add("400")
        if self._takes_body():
            codes.add("415")
        if self.view.authentication_classes:
            codes.add("401")
        if self.method in WRITES and self._signed_in():
            codes |= {"403", "409"}
        if re.search(r"{\w+}", self.path) or self._is_list_view() and isinstance(
                self._get_paginator(), PageNumberPagination | CursorPagination):
            codes.add("404")  # DRF's page past the last, or its cursor that is not ours
        if self._idempotent():
            codes.add("422")
        if self.view.throttle_classes:
            codes.add("429")
        return sorted(codes)


def shared_enums(result, generator, request, public):
    """POSTPROCESSING_HOOKS, after drf-spectacular's own enum hook. Also declares the tags."""
    result["tags"] = TAGS
    schemas = result.get("components", {}).get("schemas", {})
    by_values = {frozenset(schema["enum"]): name for name, schema in schemas.items() if "enum" in schema}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                values = frozenset(schema.get("enum", ()))
                if values in by_values:
                    parameter["schema"] = {"$ref": f"#/components/schemas/{by_values[values]}"}
                elif values:
                    schema["x-enum-varnames"] = enum_varnames(schema["enum"])
    for name, schema in schemas.items():
        if "enum" in schema and not all(_identifier(v) for v in schema["enum"] if v):
            schema["x-enum-varnames"] = enum_varnames(schema["enum"])
        if name.startswith("Paginated"):
            # DRF's example links (api.example.org, one with a stray quote) are not URIs of this API.
            for link in ("next", "previous"):
                schema.get("properties", {}).get(link, {}).pop("example", None)
    return result


def enum_varnames(values) -> list[str]:
    """``-created_at`` → ``CREATED_AT_DESC``; ``project.funded`` → ``PROJECT_FUNDED``."""
    names = []
    for value in values:
        text = str(value)
        descending = text.startswith("-")
        name = re.sub(r"\W+", "_", text.lstrip("-")).strip("_").upper() or "EMPTY"
        names.append(f"{name}_DESC" if descending else name)
    return names


def _identifier(value) -> bool:
    return isinstance(value, str) and value.isidentifier()

