"""Schema conformance with real objects (schemathesis): every operation of the OpenAPI schema, with
generated inputs, as a signed-in user who is a party of real projects in every state.

Path parameters are not left to chance (a random id is a 404 every time, and nothing past the
lookup is ever reached): each id is drawn from the objects that user can see — projects they buy
or sell in each state, their milestones, ledger rows, invitations they sent (open, withdrawn,
accepted), dispute cases with their offers and evidence, their webhook endpoint and its messages —
and now and then left random, for the 404. Every answer must be:
no server error; a status the schema documents for that operation; a body, content type and
headers that match what the schema says for that status.

Each example runs in a savepoint rolled back after it, so every example meets the objects in
the state they were built in (a DELETE does not leave the next example a 404). (It replaces the
earlier fuzz test, which checked shapes only, with random ids.)
"""

import os
import zlib

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from amani.wsgi import application
from escrow import services
from escrow.api.tokens import issue_tokens
from escrow.models import (
    Dispute,
    DisputeEvidence,
    Milestone,
    Project,
    SettlementOffer,
    Transaction,
    WebhookEndpoint,
    WebhookMessage,
)
from escrow.notify.webhooks import webhook_endpoint_create
from escrow.services.invitations import project_create_by_email
from tests import builders
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "15"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance,
          response_headers_conformance]

# Which kind of object a path parameter names, by the path's start: the first match wins.
KINDS = [
    ("/api/v1/disputes/{id}/offers/{offer_id}/", "offer_id", "offers"),
    ("/api/v1/disputes/{id}/evidence/{evidence_id}/", "evidence_id", "evidence"),
    ("/api/v1/disputes/{id}/", "id", "disputes"),
    ("/api/v1/projects/{id}/invitation/", "id", "invitations"),
    ("/api/v1/projects/{id}/", "id", "projects"),
    ("/api/v1/milestones/{id}/", "id", "milestones"),
    ("/api/v1/transactions/{id}/", "id", "transactions"),
    ("/api/v1/webhook-endpoints/{id}/messages/{message_id}/", "message_id", "webhook_messages"),
    ("/api/v1/webhook-endpoints/{id}/", "id", "webhook_endpoints"),
    ("/api/v1/payout-documents/{id}/", "id", "payout_documents"),
]


@pytest.fixture
def wsgi_in_test_transaction():
    """Like Django's test client: a request's end must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, settings, tmp_path, wsgi_in_test_transaction):
    """A user who is a party of projects in every state, with a webhook endpoint (created first,
    so it has messages), invitations sent, and ledger rows; and the ids they can see."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    me = UserFactory()
    endpoint = webhook_endpoint_create(owner=me, url="http://127.0.0.1:9/hooks")
    as_buyer = [builder(buyer=me) for builder in (
        builders.draft, builders.proposed, builders.accepted, builders.funded, builders.in_progress,
        builders.delivered, builders.disputed, builders.completed, builders.cancelled)]
    as_seller = [builder(seller=me) for builder in (builders.proposed, builders.in_progress, builders.delivered)]
    # Invitations this user sent: open, withdrawn, and accepted (the invitee joined).
    invited = [project_create_by_email(creator=me, buyer_email=me.email, seller_email=f"{state}@example.net",
                                       title=f"Logo ({state})", total_amount="300.00", currency="USD")
               for state in ("open", "withdrawn", "joined")]
    services.invitation_withdraw(project=invited[1], actor=me)
    assert services.invitations_join_for(UserFactory(email="joined@example.net")) == [invited[2]]
    projects = [*as_buyer, *as_seller, *invited]
    # Dispute cases: a milestone's, with a message, a file and the seller's open offer; the whole
    # project's (builders.disputed above), with the user's own open offer.
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    delivered = builders.delivered(buyer=me)
    milestone = delivered.milestones.get(order_index=0)
    services.milestone_dispute(milestone=milestone, actor=me, reason="half of it is missing")
    case = Dispute.objects.get(milestone=milestone)
    services.dispute_message_post(dispute=case, actor=me, body="The second page is missing.")
    services.dispute_evidence_add(dispute=case, actor=me, description="what arrived",
                                  upload=SimpleUploadedFile("page.png", PNG, content_type="image/png"))
    services.offer_make(dispute=case, actor=delivered.seller, seller_amount=case.frozen_amount, buyer_amount="0")
    whole = Dispute.objects.get(project=as_buyer[6])
    services.offer_make(dispute=whole, actor=me, seller_amount="0", buyer_amount=whole.frozen_amount)
    projects.append(delivered)
    ids = {
        "projects": [p.pk for p in projects],
        "invitations": [p.pk for p in invited],
        "milestones": list(Milestone.objects.filter(project__in=projects).values_list("pk", flat=True)),
        "transactions": list(Transaction.objects.filter(project__in=projects).values_list("pk", flat=True)),
        "webhook_endpoints": [endpoint.pk],
        "webhook_messages": list(WebhookMessage.objects.filter(endpoint=endpoint).values_list("pk", flat=True)),
        "payout_documents": [],
        "disputes": list(Dispute.objects.filter(project__in=projects).values_list("pk", flat=True)),
        "offers": list(SettlementOffer.objects.filter(dispute__project__in=projects).values_list("pk", flat=True)),
        "evidence": list(DisputeEvidence.objects.filter(dispute__project__in=projects).values_list("pk", flat=True)),
    }
    assert all(ids[kind] for kind in ids if kind != "payout_documents"), ids
    assert WebhookEndpoint.objects.filter(owner=me).count() == 1 and Project.objects.filter(creator=me).exists()
    return {"headers": {"Authorization": f"Bearer {issue_tokens(me)['access']}"}, "ids": ids}


def real_path_parameters(path: str, generated: dict, ids: dict) -> dict:
    """The generated path parameters with each id replaced by a real one of its kind, picked by the
    generated value (so Hypothesis varies and replays the choice); one choice in each kind keeps
    the generated id, for the 404."""
    chosen = dict(generated)
    for name in generated:
        kind = next((kind for prefix, param, kind in KINDS if param == name and path.startswith(prefix)), None)
        if kind is None:
            continue
        choices = ids[kind]
        pick = zlib.crc32(str(generated[name]).encode()) % (len(choices) + 1)
        if pick < len(choices):
            chosen[name] = str(choices[pick])
    return chosen


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_for_real_objects(case, seeded):
    if case.path_parameters:
        case.path_parameters = real_path_parameters(case.operation.path, case.path_parameters, seeded["ids"])
    with transaction.atomic():
        case.call_and_validate(headers=seeded["headers"], checks=CHECKS)
        transaction.set_rollback(True)
