"""One API request in a process of its own that dies at a chosen point, as a crash would:
``os._exit`` — no exception handler, no ``finally``, no answer; PostgreSQL sees the connection
drop and rolls back whatever transaction was open.

    python -m tests.api.crashing_request <module:function:before|after> <user id> <path> <key> <json body>

The crash point names a function the request calls: the process dies just before it runs, or
just after it returns. Run by tests/api/test_idempotency.py with DATABASE_URL set to the test
database; exits 9 when it crashed where asked, 0 if the request finished without reaching it.
"""

import importlib
import json
import os
import sys

CRASHED = 9


def crash_at(point: str) -> None:
    module_name, name, when = point.split(":")
    module = importlib.import_module(module_name)
    original = getattr(module, name)

    def crashing(*args, **kwargs):
        if when == "after":
            original(*args, **kwargs)
        print(f"crashing {when} {name}{args}", file=sys.stderr, flush=True)
        os._exit(CRASHED)

    setattr(module, name, crashing)


def main() -> None:
    point, user_id, path, key, body = sys.argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")
    import django

    django.setup()
    from rest_framework.test import APIClient

    from escrow.models import User

    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user_id))
    crash_at(point)
    response = client.post(path, json.loads(body), format="json", HTTP_IDEMPOTENCY_KEY=key)
    print(response.status_code, response.content.decode(), file=sys.stderr)


if __name__ == "__main__":
    main()
