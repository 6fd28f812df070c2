"""``Idempotency-Key`` for POSTs: same key and body → the first response again; same key,
another body → 422; the first still running → 409. Keys are per user, kept at least 24 hours.

The key row is written and committed before the request's own transaction starts, so a
concurrent request with the same key sees it at once.
"""

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from escrow.api.errors import error_response
from escrow.models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    row: IdempotencyKey | None = None  # ours to complete
    replay: Response | None = None  # answer this instead of running the request


def claim(request) -> Claim:
    key = request.META.get(HEADER, "").strip()
    if not key or request.method != "POST" or not request.user.is_authenticated:
        return Claim()
    if len(key) > MAX_KEY_LENGTH:
        return Claim(replay=error_response("invalid", f"Idempotency-Key is longer than {MAX_KEY_LENGTH}.", 400,
                                           {"Idempotency-Key": ["Too long."]}))
    fingerprint = hashlib.sha256(
        b"\n".join([request.method.encode(), request.get_full_path().encode(), request.body])
    ).hexdigest()
    try:
        with transaction.atomic():
            return Claim(row=IdempotencyKey.objects.create(user=request.user, key=key, fingerprint=fingerprint))
    except IntegrityError:
        pass
    first = IdempotencyKey.objects.filter(user=request.user, key=key).first()
    if first is None:  # purged between our insert and this read: treat as new next time
        return Claim(replay=error_response("conflict", "Idempotency-Key is being reused; retry.", 409))
    if first.fingerprint != fingerprint:
        return Claim(replay=error_response(
            "idempotency_key_reused", "This Idempotency-Key was used with a different request.", 422))
    if first.response_status is None:
        return Claim(replay=error_response(
            "idempotency_key_in_progress", "A request with this Idempotency-Key is still running.", 409))
    replay = Response(first.response_body, status=first.response_status)
    replay["Idempotent-Replayed"] = "true"
    return Claim(replay=replay)


def complete(claimed: Claim, response) -> None:
    if claimed.row is None:
        return
    if response.status_code >= 500:
        claimed.row.delete()  # the request failed on our side: let the client retry it
        return
    claimed.row.response_status = response.status_code
    claimed.row.response_body = response.data
    claimed.row.save(update_fields=["response_status", "response_body"])
