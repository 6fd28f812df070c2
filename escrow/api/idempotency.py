"""``Idempotency-Key`` for POSTs: same key and body → the first response again; same key,
another body → 422; the first still running → 409. Keys are per user, kept at least 24 hours.

A request's key goes through three steps (escrow.api.base calls them):

1. ``claim``: the key row is written and committed before the request's own transaction
   starts, with a lease (``IDEMPOTENCY_LEASE_SECONDS``), so a concurrent retry sees it at once.
2. ``hold`` at the start of every transaction that does the request's work: the key row is
   locked until that transaction ends, and the request checks it still holds the key (a request
   that outlived its lease and was taken over stops there: the ``attempt`` is a fencing token).
   ``record`` then writes the answer to the key row **inside the same transaction**: the answer
   commits if and only if the work does.
3. ``complete`` after the response: an answer that was not recorded with the work (a refusal,
   whose transaction rolled back) is stored now; a server error releases the key.

So a retry finds one of: an answer (replayed, whatever happened to the process afterwards); a
key locked by a transaction still running, or within its lease (409 in progress); or a key
without an answer whose lease has passed and that nobody holds: that request died before its
work committed, changed nothing, and the retry runs it.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from escrow.api.errors import error_response
from escrow.db.rls import as_owner
from escrow.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
IN_PROGRESS = "idempotency_key_in_progress"


class KeyTakenOver(APIException):
    """This request outlived its lease and a retry holds the key now: it must not act."""

    status_code = status.HTTP_409_CONFLICT
    default_code = IN_PROGRESS
    default_detail = "A retry with this Idempotency-Key took it over; this request did nothing."


@dataclass
class Claim:
    row: IdempotencyKey | None = None  # ours to hold and complete
    attempt: int = 0  # which try of the key we are: the fencing token
    replay: Response | None = None  # answer this instead of running the request
    recorded: bool = False  # the final answer was written with the work: nothing left to store


def _lease() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def _in_progress() -> Response:
    return error_response(IN_PROGRESS, "A request with this Idempotency-Key is still running; retry later.", 409)


def claim(request) -> Claim:
    key = request.META.get(HEADER, "").strip()
    if request.method != "POST" or not request.user.is_authenticated:
        return Claim()
    if not key:
        if HEADER not in request.META:
            return Claim()
        # Sent but blank (a script's unset variable): running it without a key would give none of
        # the protection the client asked for.
        return Claim(replay=error_response("invalid", "Idempotency-Key is empty: send a unique value or no header.",
                                           400, {"Idempotency-Key": ["Empty."]}))
    if len(key) > MAX_KEY_LENGTH:
        return Claim(replay=error_response("invalid", f"Idempotency-Key is longer than {MAX_KEY_LENGTH}.", 400,
                                           {"Idempotency-Key": ["Too long."]}))
    fingerprint = hashlib.sha256(
        b"\n".join([request.method.encode(), request.get_full_path().encode(), request.body])
    ).hexdigest()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(user=request.user, key=key, fingerprint=fingerprint,
                                                locked_until=Now() + _lease())
        return Claim(row=row, attempt=row.attempt)
    except IntegrityError:
        pass
    try:
        with transaction.atomic():
            # NOWAIT: a lock on the row is a request still inside the transaction of its work.
            first = (IdempotencyKey.objects.select_for_update(nowait=True).filter(user=request.user, key=key)
                     .annotate(now=Now()).first())
            if first is None:  # purged between our insert and this read: treat as new next time
                return Claim(replay=error_response("conflict", "Idempotency-Key is being reused; retry.", 409))
            if first.fingerprint != fingerprint:
                return Claim(replay=error_response(
                    "idempotency_key_reused", "This Idempotency-Key was used with a different request.", 422))
            if first.response_status is not None:
                replay = Response(first.response_body, status=first.response_status)
                replay["Idempotent-Replayed"] = "true"
                return Claim(replay=replay)
            if first.locked_until > first.now:
                return Claim(replay=_in_progress())
            # The lease has passed and nobody holds the row: the last try died before its work
            # committed (its answer would be here). Take the key over and run the request.
            IdempotencyKey.objects.filter(pk=first.pk).update(attempt=F("attempt") + 1,
                                                              locked_until=Now() + _lease())
            return Claim(row=first, attempt=first.attempt + 1)
    except OperationalError:  # the row is locked (NOWAIT): the first request is committing its work now
        return Claim(replay=_in_progress())


def hold(claimed: Claim) -> None:
    """At the start of a transaction that does the request's work: lock the key row until the
    transaction ends, and make sure it is still ours."""
    if claimed.row is None:
        return
    ours = IdempotencyKey.objects.select_for_update().filter(pk=claimed.row.pk, attempt=claimed.attempt,
                                                             response_status__isnull=True)
    if not ours.exists():
        raise KeyTakenOver()


def record(claimed: Claim, response, *, final: bool = True) -> None:
    """Inside the transaction of the work, after ``hold``: the answer to replay if the process
    dies after the commit. ``final=False`` for a provisional answer (the work is committed, a
    step outside the database follows); ``complete`` then stores the final one."""
    if claimed.row is None or response.status_code >= 500:
        return
    # As the owner: the transaction may still be in the client role (a commit ends it), and
    # clients have no access to this table.
    with as_owner():
        IdempotencyKey.objects.filter(pk=claimed.row.pk, attempt=claimed.attempt).update(
            response_status=response.status_code, response_body=getattr(response, "data", None))
    claimed.recorded = final


def complete(claimed: Claim, response) -> None:
    """After the response: store an answer not yet recorded with the work, or release the key.

    Never raises: when the database is gone, the lease lets a retry in later, and whatever
    committed carries its answer already.
    """
    if claimed.row is None or claimed.recorded:
        return
    mine = IdempotencyKey.objects.filter(pk=claimed.row.pk, attempt=claimed.attempt)
    try:
        if response.status_code >= 500:
            # A server error rolled its transaction back: the key is free at once. A provisional
            # answer (work committed before the error) stays and is replayed.
            mine.filter(response_status__isnull=True).update(locked_until=Now())
        else:
            mine.update(response_status=response.status_code, response_body=getattr(response, "data", None))
    except DatabaseError:
        logger.exception("Idempotency-Key %s: the answer could not be stored; its lease will free it",
                         claimed.row.key)


def purge_expired() -> int:
    """Forget keys older than IDEMPOTENCY_KEY_TTL_HOURS (at least 24): the daily job and the command."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
