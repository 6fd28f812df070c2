"""/api/v1/disputes/: the case of a dispute through the API — messages, evidence files (by content,
through the storage, downloaded only after the access check), settlement offers settling a dispute
without an operator — and that strangers and anonymous callers reach none of it."""

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from escrow import services
from escrow.models import Dispute, DisputeEvidence, SettlementOffer
from escrow.selectors import available_balances, project_held
from tests import builders
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, response.content[:500])
    return response.json() if response.content and response["Content-Type"].startswith("application/json") else None


@pytest.fixture
def storage(settings, tmp_path):
    """Evidence files in a folder of this test (the local FileSystemStorage, as by default)."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def case(db):
    """A milestone of 400.00 USD disputed by the buyer (fee bearer buyer: 410.00 frozen); the other
    milestone (600.00) is in progress."""
    project = builders.delivered(fee_bearer="buyer")
    services.milestone_start(milestone=project.milestones.get(order_index=1), actor=project.seller)
    disputed = project.milestones.get(order_index=0)
    services.milestone_dispute(milestone=disputed, actor=project.buyer, reason="half of it is missing")
    dispute = Dispute.objects.get(milestone=disputed)
    return dispute, client_for(project.buyer), client_for(project.seller)


def test_a_milestone_dispute_freezes_that_milestone_and_the_other_goes_on(case):
    dispute, buyer, seller = case
    body = ok(buyer.get(f"/api/v1/disputes/?project={dispute.project_id}"))
    assert [d["id"] for d in body] == [str(dispute.pk)]
    detail = ok(seller.get(f"/api/v1/disputes/{dispute.pk}/"))
    assert (detail["scope"], detail["frozen_amount"], detail["raised_by_role"], detail["status"]) == (
        "milestone", "410.00", "buyer", "open")
    assert {"make_offer", "post_message", "add_evidence"} <= set(detail["allowed_actions"])
    assert "resolve" not in detail["allowed_actions"]
    other = dispute.project.milestones.get(order_index=1)
    ok(seller.post(f"/api/v1/milestones/{other.pk}/submit/", {"notes": "done"}, format="json"))
    ok(buyer.post(f"/api/v1/milestones/{other.pk}/approve/", {}, format="json"))  # released: 600 + 15
    assert project_held(dispute.project_id) == Decimal("410.00")
    assert builders.refreshed(dispute.project).status == "in_progress"
    refused = buyer.post(f"/api/v1/milestones/{dispute.milestone_id}/approve/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"


def test_messages_are_shared_but_internal_notes_never_reach_the_parties(case):
    dispute, buyer, seller = case
    created = ok(buyer.post(f"/api/v1/disputes/{dispute.pk}/messages/", {"body": "Here is what is missing."},
                            format="json"), 201)
    assert created["author_role"] == "buyer"
    services.dispute_message_post(dispute=dispute, actor=builders.make_operator(), body="The buyer seems right.",
                                  internal=True)
    services.dispute_message_post(dispute=dispute, actor=builders.make_operator(), body="Please send the files.")
    seen = ok(seller.get(f"/api/v1/disputes/{dispute.pk}/messages/"))
    assert [(m["author_role"], m["body"]) for m in seen] == [
        ("buyer", "Here is what is missing."), ("operator", "Please send the files.")]
    before = db_snapshot()
    assert buyer.post(f"/api/v1/disputes/{dispute.pk}/messages/", {"body": "  "}, format="json").status_code == 400
    assert db_snapshot() == before


def test_evidence_is_checked_by_content_stored_and_downloaded_only_by_the_parties(case, storage):
    dispute, buyer, seller = case
    upload = SimpleUploadedFile("invoice.exe", PNG, content_type="application/octet-stream")
    created = ok(buyer.post(f"/api/v1/disputes/{dispute.pk}/evidence/", {"file": upload, "description": "screen"},
                            format="multipart"), 201)
    assert (created["content_type"], created["size"], created["sha256"]) == (
        "image/png", len(PNG), hashlib.sha256(PNG).hexdigest())
    files = stored_files(storage)
    assert len(files) == 1 and files[0].suffix == ".png" and "invoice" not in files[0].name
    download = seller.get(created["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png" and "attachment" in download["Content-Disposition"]
    listed = ok(seller.get(f"/api/v1/disputes/{dispute.pk}/evidence/"))
    assert [e["id"] for e in listed] == [created["id"]]
    stranger = client_for(UserFactory())
    assert stranger.get(created["download_url"]).status_code == 404
    assert APIClient().get(created["download_url"]).status_code == 401


@pytest.mark.parametrize(("name", "content", "message"), [
    ("contract.pdf", b"MZ\x90\x00 this is a program, not a PDF", "by their content"),
    ("photo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "by their content"),
    ("big.pdf", PDF + b"0" * 2048, "at most"),
])
def test_refused_evidence_writes_nothing(case, storage, settings, name, content, message):
    settings.ESCROW_EVIDENCE_MAX_BYTES = 1024
    dispute, buyer, _ = case
    before = db_snapshot()
    response = buyer.post(f"/api/v1/disputes/{dispute.pk}/evidence/",
                          {"file": SimpleUploadedFile(name, content, content_type="application/pdf")},
                          format="multipart")
    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert db_snapshot() == before and stored_files(storage) == []


def test_a_failure_right_after_the_file_is_stored_leaves_no_file(case, storage, monkeypatch):
    """The file is written to the storage first; if its row is not written, the file goes too."""
    dispute, buyer, _ = case

    def crash(*args, **kwargs):
        raise RuntimeError("the process died right after storing the file")

    monkeypatch.setattr(DisputeEvidence.objects, "create", crash)
    before = db_snapshot()
    with pytest.raises(RuntimeError):
        services.dispute_evidence_add(dispute=dispute, actor=buyer.user,
                                      upload=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"))
    assert db_snapshot() == before and stored_files(storage) == []


def test_the_parties_settle_by_offer_without_an_operator(case):
    dispute, buyer, seller = case
    base = f"/api/v1/disputes/{dispute.pk}/offers/"
    first = ok(seller.post(base, {"seller_amount": "410.00", "buyer_amount": "0.00", "note": "all of it"},
                           format="json"), 201)
    before = db_snapshot()
    own = seller.post(f"{base}{first['id']}/accept/", format="json")
    assert own.status_code == 409 and "own offer" in own.json()["error"]["message"]
    wrong = buyer.post(f"{base}{first['id']}/counter/", {"seller_amount": "200.00", "buyer_amount": "200.00"},
                       format="json")
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "amounts_do_not_add_up"
    assert db_snapshot() == before
    counter = ok(buyer.post(f"{base}{first['id']}/counter/", {"seller_amount": "210.00", "buyer_amount": "200.00"},
                            format="json"), 201)
    assert counter["made_by_role"] == "buyer"
    accept = f"{base}{counter['id']}/accept/"
    answer = ok(seller.post(accept, format="json", HTTP_IDEMPOTENCY_KEY="accept-1"))
    again = ok(seller.post(accept, format="json", HTTP_IDEMPOTENCY_KEY="accept-1"))
    assert answer == again and answer["status"] == "accepted"
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome, dispute.seller_amount, dispute.buyer_amount) == (
        "resolved", "settled", Decimal("210.00"), Decimal("200.00"))
    milestone = dispute.milestone
    milestone.refresh_from_db()
    assert (milestone.status, milestone.outcome) == ("split", "settled")
    # The operators' split rules: the seller's part bears the 2.5% commission (5.25).
    assert available_balances(dispute.project.seller_id) == {"USD": Decimal("204.75")}
    assert available_balances(dispute.project.buyer_id) == {"USD": Decimal("200.00")}
    assert list(SettlementOffer.objects.filter(dispute=dispute).values_list("status", flat=True)) == [
        "countered", "accepted"]
    assert ok(buyer.get(f"/api/v1/disputes/{dispute.pk}/"))["allowed_actions"] == []
    assert_ledger_invariants()


def test_withdraw_is_the_makers_own(case):
    dispute, buyer, seller = case
    base = f"/api/v1/disputes/{dispute.pk}/offers/"
    offer = ok(buyer.post(base, {"seller_amount": "0", "buyer_amount": "410.00"}, format="json"), 201)
    before = db_snapshot()
    assert seller.post(f"{base}{offer['id']}/withdraw/").status_code == 409
    assert db_snapshot() == before
    assert ok(buyer.post(f"{base}{offer['id']}/withdraw/"))["status"] == "withdrawn"
    assert ok(seller.post(base, {"seller_amount": "410.00", "buyer_amount": "0"}, format="json"), 201)


# (method, path, body) of every endpoint naming a case or one of its parts.
def case_endpoints(dispute, offer, evidence):
    base = f"/api/v1/disputes/{dispute.pk}"
    split = {"seller_amount": "205.00", "buyer_amount": "205.00"}
    return [
        ("get", f"{base}/", None), ("get", f"{base}/messages/", None), ("post", f"{base}/messages/", {"body": "hi"}),
        ("get", f"{base}/evidence/", None), ("get", f"{base}/evidence/{evidence.pk}/download/", None),
        ("get", f"{base}/offers/", None), ("post", f"{base}/offers/", split),
        ("post", f"{base}/offers/{offer.pk}/accept/", None), ("post", f"{base}/offers/{offer.pk}/counter/", split),
        ("post", f"{base}/offers/{offer.pk}/withdraw/", None),
    ]


@pytest.mark.parametrize("who", ["stranger", "anonymous", "deactivated party"])
def test_strangers_and_anonymous_callers_reach_nothing(case, storage, who):
    dispute, buyer, seller = case
    offer = services.offer_make(dispute=dispute, actor=seller.user, seller_amount="410.00", buyer_amount="0")
    evidence = services.dispute_evidence_add(dispute=dispute, actor=buyer.user,
                                             upload=SimpleUploadedFile("a.pdf", PDF))
    if who == "stranger":
        client, expected = client_for(UserFactory()), 404
    elif who == "anonymous":
        client, expected = APIClient(), 401
    else:
        client = client_for(buyer.user)
        services.user_deactivate(user=buyer.user, actor=builders.make_operator(), reason="fraud")
        expected = 401
    before = db_snapshot()
    for method, path, body in case_endpoints(dispute, offer, evidence):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == expected, (method, path, response.status_code)
        assert response.json()["error"]["code"] in ("not_found", "not_authenticated", "authentication_failed")
    upload = client.post(f"/api/v1/disputes/{dispute.pk}/evidence/", {"file": SimpleUploadedFile("b.pdf", PDF)},
                         format="multipart")
    assert upload.status_code == expected
    assert db_snapshot() == before and len(stored_files(storage)) == 1
    assert client.get("/api/v1/disputes/").status_code == (200 if who == "stranger" else 401)
    if who == "stranger":
        assert client.get("/api/v1/disputes/").json() == []


def test_the_schema_documents_every_case_operation(db):
    client = APIClient()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    upload = paths["/api/v1/disputes/{id}/evidence/"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    for path, method, statuses in [
        ("/api/v1/disputes/{id}/", "get", {"200", "401", "404"}),
        ("/api/v1/disputes/{id}/offers/", "post", {"201", "400", "401", "403", "404", "409"}),
        ("/api/v1/disputes/{id}/offers/{offer_id}/accept/", "post", {"200", "401", "404", "409"}),
        ("/api/v1/disputes/{id}/evidence/{evidence_id}/download/", "get", {"200", "401", "404"}),
    ]:
        assert statuses <= set(paths[path][method]["responses"]), path


def test_a_file_is_downloaded_under_the_extension_of_its_content_never_the_name_given(case, storage):
    """An HTML page behind a PNG signature, named evil.html, must not be saved as a page a click opens."""
    dispute, buyer, seller = case
    polyglot = PNG + b"<html><script>alert(document.domain)</script></html>"
    created = ok(buyer.post(f"/api/v1/disputes/{dispute.pk}/evidence/",
                            {"file": SimpleUploadedFile("../../evil.html", polyglot)}, format="multipart"), 201)
    download = seller.get(created["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == 'attachment; filename="evil.png"'
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert download["X-Content-Type-Options"] == "nosniff"


def test_an_open_case_on_a_milestone_takes_dispute_off_its_projects_actions_in_lists_and_pages(db):
    """A row's actions know its open cases, read with the row: the list's page, the project's page."""
    buyer = UserFactory()
    quiet = builders.in_progress(buyer=buyer)
    contested = builders.in_progress(buyer=buyer)
    services.milestone_dispute(milestone=contested.milestones.first(), actor=buyer, reason="late")
    client = client_for(buyer)
    rows = {row["id"]: row["actions"] for row in ok(client.get("/api/v1/projects/"))["results"]}
    assert "dispute" in rows[str(quiet.pk)] and "dispute" not in rows[str(contested.pk)]
    assert "dispute" in ok(client.get(f"/api/v1/projects/{quiet.pk}/"))["actions"]
    assert "dispute" not in ok(client.get(f"/api/v1/projects/{contested.pk}/"))["actions"]
