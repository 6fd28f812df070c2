"""Run queries as a Supabase client role, the way PostgREST does.

PostgREST, per request, opens a transaction and sets the role and the JWT claims with
``set_config(..., true)``: transaction-local, so nothing leaks to the next user of a pooled
connection (Supabase's transaction pooler included). ``as_role`` does the same in one statement;
RLS policies then see ``auth.uid()`` as the caller.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.db import connections, transaction

SWITCH = (
    "SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"
)


@contextmanager
def as_role(role: str, user_id: UUID | str | None = None, *, using: str = "default") -> Iterator[None]:
    """Inside one transaction (or savepoint), act as ``role`` with ``sub`` = ``user_id``.

    ``user_id=None`` is a request without a token. On a normal exit the previous role and claims
    are restored, because SET LOCAL inside a released savepoint would otherwise outlive the block;
    on an error the savepoint's rollback restores them.
    """
    claims = json.dumps({"sub": str(user_id), "role": role}) if user_id else ""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('role'), coalesce(current_setting('request.jwt.claims', true), '')"
            )
            previous_role, previous_claims = cursor.fetchone()
            cursor.execute(SWITCH, [role, claims])
        yield
        with connections[using].cursor() as cursor:
            cursor.execute(SWITCH, [previous_role, previous_claims])
