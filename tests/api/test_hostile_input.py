"""Input crafted to crash a parser: an error in the usual shape (400), never a 500, nothing written."""

import hashlib
import hmac

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import db_snapshot

DEEP = "[" * 2048  # about 2 KB: deeper than Python's recursion limit
DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500  # well formed, still too deep


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"title": ' + "[" * 200 + "]" * 200 + "}"])
@pytest.mark.parametrize(("path", "signed_in"), [
    ("/api/v1/auth/token/", False),
    ("/api/v1/auth/register/", False),
    ("/api/v1/auth/token/refresh/", False),
    ("/api/v1/auth/logout/", False),
    ("/api/v1/projects/", True),
])
def test_deeply_nested_json_is_a_400(db, path, signed_in, body):
    client = client_for(UserFactory()) if signed_in else APIClient()
    before = db_snapshot()
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "parse_error" and "nested" in error["message"]
    assert db_snapshot() == before


def test_ordinary_nesting_still_parses(db):
    """The limit is far above anything the API takes: a project with milestones is three levels."""
    response = APIClient().post("/api/v1/auth/register/", '{"email": "a@example.com", "password": "a long passphrase'
                                ' here", "full_name": "A", "extra": {"x": [[{"y": 1}]]}}',
                                content_type="application/json")
    assert response.status_code == 201, response.content


def test_a_signed_but_deeply_nested_webhook_is_a_400(db, settings):
    """The webhook reads its raw body itself (after the signature): the same limit holds there."""
    settings.FINCRA_WEBHOOK_SECRET = "webhook-secret-for-tests"
    body = DEEP.encode()
    signature = hmac.new(settings.FINCRA_WEBHOOK_SECRET.encode(), body, hashlib.sha512).hexdigest()
    before = db_snapshot()
    response = APIClient().post("/api/v1/webhooks/fincra/", body, content_type="application/json",
                                HTTP_SIGNATURE=signature)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "webhook_not_processed"
    assert db_snapshot() == before
