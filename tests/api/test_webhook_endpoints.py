"""/api/v1/webhook-endpoints/: the owner's alone; URLs on private addresses refused; the secret
shown once."""

import pytest
from django.db import connection
from django.urls import reverse

from escrow.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from escrow.notify import signing
from tests import builders
from tests.factories import UserFactory
from tests.helpers import db_snapshot

LIST = reverse("webhook-endpoint-list")


@pytest.fixture
def local(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return "http://127.0.0.1:9/hooks"


@pytest.fixture
def endpoint(as_user, local):
    owner = as_user()
    response = owner.post(LIST, {"url": local, "event_types": ["project.accept"]}, format="json")
    assert response.status_code == 201
    return owner, response.json()


def test_the_secret_is_shown_once_in_the_standard_webhooks_form(endpoint):
    owner, created = endpoint
    assert created["secret"].startswith("whsec_")
    assert len(signing.base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert WebhookEndpoint.objects.get(pk=created["id"]).secret == created["secret"]
    for response in (owner.get(LIST), owner.get(reverse("webhook-endpoint-detail", args=[created["id"]]))):
        assert response.status_code == 200
        assert "secret" not in response.content.decode() and created["secret"] not in response.content.decode()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hooks", "http://localhost:8000/", "http://10.1.2.3/", "http://192.168.0.10/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://100.64.0.1/", "https://[fe80::1]/",
])
def test_private_loopback_and_link_local_addresses_are_refused(as_user, url):
    client = as_user()
    before = db_snapshot()
    response = client.post(LIST, {"url": url}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]
    assert "private, loopback or reserved" in response.json()["error"]["message"]
    assert db_snapshot() == before and not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url, rule", [
    ("ftp://example.com/", "http(s) URL"), ("http://user:pw@127.0.0.1/", "user name"),
    ("http://no-such-host.invalid/", "could not be resolved"), ("not a url", "http(s) URL"),
])
def test_malformed_urls_are_refused(as_user, local, url, rule):
    response = as_user().post(LIST, {"url": url}, format="json")
    assert response.status_code == 400 and rule in response.json()["error"]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_https_is_required_outside_the_allowed_networks(as_user, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert as_user().post(LIST, {"url": "http://127.0.0.1/"}, format="json").status_code == 201
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    # A public address by its number (no DNS needed): refused for plain http.
    response = as_user().post(LIST, {"url": "http://93.184.215.14/"}, format="json")
    assert response.status_code == 400 and "https" in response.json()["error"]["message"]


def test_unknown_event_types_are_refused(as_user, local):
    response = as_user().post(LIST, {"url": local, "event_types": ["project.nope"]}, format="json")
    assert response.status_code == 400 and "event_types" in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_anonymous_gets_401_and_writes_nothing(anonymous, endpoint):
    _, created = endpoint
    before = db_snapshot()
    for method, url in [("get", LIST), ("post", LIST),
                        ("get", reverse("webhook-endpoint-detail", args=[created["id"]])),
                        ("patch", reverse("webhook-endpoint-detail", args=[created["id"]])),
                        ("delete", reverse("webhook-endpoint-detail", args=[created["id"]])),
                        ("get", reverse("webhook-endpoint-deliveries", args=[created["id"]]))]:
        assert getattr(anonymous, method)(url, {"url": "http://127.0.0.1/"}, format="json").status_code == 401
    assert db_snapshot() == before


def test_a_stranger_gets_404_and_changes_nothing(as_user, endpoint):
    owner, created = endpoint
    project = builders.proposed()
    WebhookEndpoint.objects.filter(pk=created["id"]).update(owner=project.seller)
    from escrow import services

    services.project_accept(project=project, actor=project.seller)
    message = WebhookMessage.objects.get()
    stranger = as_user()
    before = db_snapshot()
    detail = reverse("webhook-endpoint-detail", args=[created["id"]])
    assert stranger.get(detail).status_code == 404
    assert stranger.patch(detail, {"url": "http://127.0.0.1:1/x"}, format="json").status_code == 404
    assert stranger.delete(detail).status_code == 404
    assert stranger.get(reverse("webhook-endpoint-deliveries", args=[created["id"]])).status_code == 404
    assert stranger.post(reverse("webhook-message-replay", args=[created["id"], message.pk])).status_code == 404
    assert stranger.get(LIST).json()["results"] == []
    assert db_snapshot() == before
    assert WebhookEndpoint.objects.get(pk=created["id"]).url == "http://127.0.0.1:9/hooks"


def test_the_owner_edits_and_deletes(endpoint):
    owner, created = endpoint
    detail = reverse("webhook-endpoint-detail", args=[created["id"]])
    response = owner.patch(detail, {"event_types": [], "description": "shop"}, format="json")
    assert response.status_code == 200 and response.json()["event_types"] == []
    response = owner.patch(detail, {"url": "http://10.0.0.1/"}, format="json")
    assert response.status_code == 400
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:9/hooks"
    assert owner.delete(detail).status_code == 204
    assert not WebhookEndpoint.objects.exists()


# --- the database: what PostgREST would let a client do ---------------------------------------------

def as_authenticated(user_id):
    cursor = connection.cursor()
    cursor.execute("SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)",
                   [f'{{"sub": "{user_id}", "role": "authenticated"}}'])
    return cursor


def test_rls_each_owner_reads_only_their_rows_and_never_the_secret(endpoint):
    from django.db import ProgrammingError, transaction

    owner, created = endpoint
    other = UserFactory()
    WebhookEndpoint.objects.create(owner=other, url="https://example.com/", secret=signing.new_secret())
    with transaction.atomic():
        cursor = as_authenticated(owner.user.pk)
        cursor.execute("SELECT id FROM webhook_endpoints")
        assert [str(r[0]) for r in cursor.fetchall()] == [created["id"]]
        cursor.execute("SELECT count(*) FROM webhook_messages")
        assert cursor.fetchone()[0] == 0
    for statement in ("SELECT secret FROM webhook_endpoints",
                      "INSERT INTO webhook_endpoints (owner_id, url, secret) VALUES (auth.uid(), 'http://10.0.0.1/', "
                      "'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')",
                      "UPDATE webhook_endpoints SET url = 'http://10.0.0.1/'",
                      "DELETE FROM webhook_deliveries"):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
            as_authenticated(owner.user.pk).execute(statement)
    assert WebhookEndpoint.objects.filter(url="http://10.0.0.1/").count() == 0
    assert WebhookDelivery.objects.count() == 0
