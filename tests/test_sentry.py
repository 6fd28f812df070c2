"""Sentry: an error in a request reaches Sentry without personal data or secrets. The event is
the one sentry-sdk's Django integration really builds; a transport that keeps it replaces the
network."""

import json

import pytest
import sentry_sdk
from django.conf import settings
from django.urls import include, path
from sentry_sdk.transport import Transport

from amani.sentry import FILTERED, before_send, init_sentry
from escrow.models import User
from tests.api.conftest import client_for
from tests.factories import UserFactory

# A seller's bank details, as the test gives them (not in this file's source, which Sentry sends
# as the frames' context lines).
SELLER = {}


def payout_to_bank(request):
    # Locals as a real payout error would have them: personal data and secrets.
    user = User.objects.get(pk=SELLER["user_id"])
    email, full_name = user.email, user.full_name
    bank_details = SELLER["bank"]
    api_key = settings.FINCRA_SECRET_KEY
    note = f"payout for {email} ({full_name}, {bank_details}, {api_key}) failed"
    raise RuntimeError(f"FinCra refused the payout to {email} ({note[:3]})")


urlpatterns = [path("crash/", payout_to_bank), path("", include("amani.urls"))]


class KeepEvents(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        self.events.extend(item.payload.json for item in envelope.items if item.type == "event")


@pytest.fixture
def sentry():
    init_sentry("https://public@sentry.invalid/1", environment="test", traces_sample_rate=0.0,
                transport=KeepEvents)
    transport = sentry_sdk.get_client().transport
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again for the other tests


def test_an_error_reaches_sentry_without_personal_data(db, settings, sentry):
    settings.ROOT_URLCONF = __name__
    settings.FINCRA_SECRET_KEY = "sk_live_" + "abcdef"
    seller = UserFactory(email="ada.obi@example.com", full_name="Ada " + "Obi")
    SELLER.update(user_id=seller.pk, bank={"account_number": "01234" + "56789", "bank_code": "058",
                                           "account_name": seller.full_name})
    user = UserFactory(email="buyer.private@example.com", full_name="Chinedu Private")
    client = client_for(user)
    client.cookies["sessionid"] = "session-secret-value"
    client.raise_request_exception = False
    response = client.post("/crash/?email=buyer.private@example.com", {"account_number": "9988776655"},
                           format="json", HTTP_X_REQUEST_ID="abcdef12-crash")
    assert response.status_code == 500
    sentry_sdk.flush()
    (event,) = sentry.events
    text = json.dumps(event)
    # The error is there, with the frame of the view and its stack.
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "payout_to_bank"
    # Nothing personal or secret anywhere in the event.
    for secret in ("ada.obi@example.com", "Ada Obi", "0123456789", "sk_live_abcdef", "buyer.private",
                   "Chinedu", "9988776655", "session-secret-value", client._credentials["HTTP_AUTHORIZATION"][7:]):
        assert secret not in text, secret
    assert "vars" not in frame  # no local variables: any of them may hold personal data
    headers = event["request"]["headers"]
    assert headers.get("Authorization", FILTERED) == headers.get("Cookie", FILTERED) == FILTERED
    assert set(headers) <= {"Content-Type", "Content-Length", "Accept", "User-Agent", "X-Request-Id", "Host",
                            "Idempotency-Key", "Authorization", "Cookie"}, headers
    assert event["tags"]["request_id"] == "abcdef12-crash"  # finds the request's log lines
    assert "?" not in event["request"].get("url", ""), event["request"]


def test_before_send_on_a_hand_made_event():
    event = {
        "message": "refund to jane@example.org",
        "user": {"id": "42", "email": "jane@example.org", "username": "jane", "ip_address": "10.0.0.1"},
        "request": {"url": "https://api.example.com/api/v1/projects/?token=abc",
                    "headers": {"Authorization": "Bearer eyJ", "Cookie": "sessionid=x", "User-Agent": "curl"},
                    "cookies": {"sessionid": "x"}, "data": {"password": "hunter2"}, "query_string": "token=abc"},
        "extra": {"full_name": "Jane Doe", "bank": {"iban": "DE89"}, "phone_number": "+2348000000000",
                  "amount": "100.00"},
        "breadcrumbs": {"values": [{"message": "login jane@example.org", "data": {"refresh_token": "r"}}]},
    }
    scrubbed = before_send(event, {})
    assert scrubbed["user"] == {"id": "42"}
    assert scrubbed["request"]["headers"] == {"Authorization": FILTERED, "Cookie": FILTERED, "User-Agent": "curl"}
    assert scrubbed["request"]["cookies"] == scrubbed["request"]["data"] == scrubbed["request"]["query_string"] == FILTERED
    assert scrubbed["request"]["url"] == "https://api.example.com/api/v1/projects/"
    assert scrubbed["extra"] == {"full_name": FILTERED, "bank": FILTERED, "phone_number": FILTERED, "amount": "100.00"}
    assert scrubbed["message"] == f"refund to {FILTERED}"
    assert "jane" not in json.dumps(scrubbed) and "hunter2" not in json.dumps(scrubbed)
