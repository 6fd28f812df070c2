"""CORS: a browser app on an allowed origin can call /api/; other origins, and other paths, cannot.

The requests are the ones a browser sends: a preflight (OPTIONS with Origin and
Access-Control-Request-*) without any token, then the real request with its Origin.
"""

import pytest
from django.test import Client

from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import db_snapshot

APP = "https://app.example.com"
PROJECTS = "/api/v1/projects/"


@pytest.fixture
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def preflight(path: str, origin: str, method: str = "POST",
              headers: str = "authorization, content-type, idempotency-key"):
    return Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers)


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(db, allowed):
    before = db_snapshot()
    response = preflight(PROJECTS, APP)

    assert response.status_code == 200  # it was a 401: the preflight reached the view
    assert response["Access-Control-Allow-Origin"] == APP
    assert {"POST", "GET", "PATCH", "DELETE"} <= {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed_headers
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies
    assert db_snapshot() == before


def test_a_preflight_from_another_origin_gets_no_cors_headers(db, allowed):
    response = preflight(PROJECTS, "https://evil.example.net")

    # The browser refuses the real request: nothing allows this origin.
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_no_origin_is_allowed_by_default(db):
    response = preflight(PROJECTS, APP)
    assert "Access-Control-Allow-Origin" not in response


def test_only_api_paths_answer_cors(db, allowed):
    response = preflight("/admin/login/", APP)
    assert "Access-Control-Allow-Origin" not in response


def test_the_real_request_exposes_the_api_headers(db, allowed):
    client = client_for(UserFactory())
    response = client.get(PROJECTS, HTTP_ORIGIN=APP)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"idempotent-replayed", "retry-after", "x-request-id"} <= exposed


def test_an_error_answer_is_readable_by_the_allowed_origin(db, allowed):
    """A 401 without CORS headers would reach the app as an opaque network error."""
    response = Client().get(PROJECTS, HTTP_ORIGIN=APP)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == APP
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_idempotent_replay_is_flagged_to_the_browser(db, allowed):
    client = client_for(UserFactory())
    body = {"title": "Logo", "description": "", "currency": "NGN", "seller_email": UserFactory().email}
    first = client.post(PROJECTS, body, format="json", HTTP_ORIGIN=APP, HTTP_IDEMPOTENCY_KEY="cors-1")
    again = client.post(PROJECTS, body, format="json", HTTP_ORIGIN=APP, HTTP_IDEMPOTENCY_KEY="cors-1")

    assert first.status_code == again.status_code and again["Idempotent-Replayed"] == "true"
    assert again["Access-Control-Allow-Origin"] == APP
