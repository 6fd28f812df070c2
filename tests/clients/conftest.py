"""Peers nobody here wrote, run on the schema a live server of the app serves.

The Node tools are pinned in tests/clients/package.json with its lock file and installed by
`npm ci` there (`make test` does it when npm is present; .ci/run always). openapi-python-client is
pinned in requirements-dev.txt. Without Node the Node tests skip, naming what to install; in CI
(CI set) a missing tool fails instead, so a broken install cannot pass as skipped.
"""

from pathlib import Path

import pytest
import requests

SCHEMA_PATH = "/api/v1/schema/"


@pytest.fixture
def server(live_server, committed_db):
    """A live server of the app on committed data, with the login throttle's counts cleared (the
    programs log in a few times from 127.0.0.1, as do other tests in the same minute)."""
    from django.core.cache import cache

    cache.clear()
    return live_server.url


@pytest.fixture
def live_schema(server, tmp_path) -> Path:
    """The OpenAPI schema as the live server serves it, saved as JSON."""
    response = requests.get(f"{server}{SCHEMA_PATH}", params={"format": "json"}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json"), response.headers
    path = tmp_path / "schema.json"
    path.write_bytes(response.content)
    return path
