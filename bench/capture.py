"""The SQL one API request runs, exactly as sent, with its transaction boundaries: what ``make
bench`` replays with pgbench to know what the database alone can do for that request.

Run by the bench in a process of its own, with the server's environment (DATABASE_URL, API_RLS):

    capture.py <path> <token>   → JSON list of statements on stdout (BEGIN/COMMIT included)

The request is made twice through Django's test client (the whole middleware stack and the
view); the second one's statements are printed, once per-process caches are warm as in a
running server.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")


def capture(path: str, token: str) -> list[str]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    statements: list[str] = []
    in_transaction = False

    def record(execute, sql, params, many, context):
        nonlocal in_transaction
        atomic = connection.in_atomic_block
        if atomic != in_transaction:
            statements.append("BEGIN" if atomic else "COMMIT")
        result = execute(sql, params, many, context)
        statements.append(connection.ops.last_executed_query(context["cursor"], sql, params))
        in_transaction = atomic
        return result

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(path).status_code == 200
    with connection.execute_wrapper(record):
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    if in_transaction:
        statements.append("COMMIT")
    return statements


if __name__ == "__main__":
    print(json.dumps(capture(sys.argv[1], sys.argv[2])))
