"""Run queries as a Supabase client role, the way PostgREST does — and leave it when needed.

PostgREST, per request, opens a transaction and sets the role and the JWT claims with
``set_config(..., true)``: transaction-local, so nothing leaks to the next user of a pooled
connection (Supabase's transaction pooler included). ``switch_role`` does the same in one
statement, which also returns what it replaced so ``restore_role`` can put it back: a commit
ends the switch anyway, but a block nested in a longer transaction (a savepoint) must not leave
its role behind. RLS policies then see ``auth.uid()`` as the caller.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.db import connections, transaction

Previous = tuple[str, str]

SWITCH = (
    "SELECT current_setting('role'), coalesce(current_setting('request.jwt.claims', true), ''),"
    " set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"
)
SWITCH_ROLE_ONLY = (
    "SELECT current_setting('role'), coalesce(current_setting('request.jwt.claims', true), ''),"
    " set_config('role', %s, true)"
)
RESTORE = "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"


def claims_for(role: str, user_id: UUID | str | None) -> str:
    return json.dumps({"sub": str(user_id), "role": role}) if user_id else ""


def switch_role(role: str, claims: str | None = None, *, using: str = "default") -> Previous:
    """Act as ``role`` (``none``: the session's own role) until the transaction ends or ``restore_role``.
    ``claims=None`` keeps the current claims (one statement either way)."""
    with connections[using].cursor() as cursor:
        if claims is None:
            cursor.execute(SWITCH_ROLE_ONLY, [role])
            previous_role, previous_claims, _ = cursor.fetchone()
        else:
            cursor.execute(SWITCH, [role, claims])
            previous_role, previous_claims, _, _ = cursor.fetchone()
    return previous_role, previous_claims


def restore_role(previous: Previous, *, using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(RESTORE, list(previous))


@contextmanager
def acting_as(role: str, user_id: UUID | str | None = None, *, using: str = "default") -> Iterator[None]:
    """Within the current transaction, act as ``role`` with ``sub`` = ``user_id`` for the block.

    ``user_id=None`` is a request without a token. Leaving the block restores the previous role
    only when this transaction is nested in another (a savepoint): outermost, the COMMIT ends the
    switch, which spares a statement per API request. On an error, the rollback undoes it.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("acting_as needs a transaction: the switch lasts until it ends")
    previous = switch_role(role, claims_for(role, user_id), using=using)
    yield
    if len(connection.atomic_blocks) > 1:
        restore_role(previous, using=using)


@contextmanager
def as_role(role: str, user_id: UUID | str | None = None, *, using: str = "default") -> Iterator[None]:
    """One transaction (or savepoint) acting as ``role``: ``acting_as`` in its own ``atomic``."""
    with transaction.atomic(using=using), acting_as(role, user_id, using=using):
        yield


@contextmanager
def as_owner(*, using: str = "default") -> Iterator[None]:
    """Leave the client role for a service call (which checks authority itself), then go back."""
    previous = switch_role("none", using=using)
    try:
        yield
    finally:
        if previous[0] != "none":
            restore_role(previous, using=using)
