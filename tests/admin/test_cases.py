"""Dispute cases in the operator console: the queue, the case page, resolving from it (with the
typed input kept when the engine refuses), messages and internal notes, evidence behind the
console's access check, assignment, and the project page leading with its open case."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from escrow import services
from escrow.errors import NotAllowed
from escrow.models import Dispute, DisputeAssignment, DisputeMessage, EscrowEvent, User
from escrow.selectors import available_balances
from tests import builders
from tests.admin.test_console import login
from tests.factories import UserFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def operator(db):
    user = UserFactory(is_staff=True, email="ops@example.com")
    user.groups.add(Group.objects.get(name="Operators"))
    return login(user), User.objects.get(pk=user.pk)


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def case(db):
    """The issue's example: a 1000.00 USD milestone, commission 2.5% split between the parties, so
    the buyer paid in 1012.50 for it; disputed by the buyer. The other milestone goes on."""
    project = builders.delivered(amounts=("1000.00", "500.00"), fee_bearer="split")
    milestone = project.milestones.get(order_index=0)
    services.milestone_dispute(milestone=milestone, actor=project.buyer, reason="The logo files are missing.")
    return Dispute.objects.select_related("project__buyer", "project__seller", "milestone").get(milestone=milestone)


def case_url(dispute) -> str:
    return reverse("admin:escrow_dispute_change", args=[dispute.pk])


def resolve(client, dispute, **fields):
    data = {"resolve": "1", **{f"resolve-{name}": value for name, value in fields.items()}}
    return client.post(case_url(dispute), data)


# --- the queue ---

def test_the_queue_lists_open_cases_by_deadline_with_the_overdue_marked(operator, case):
    client, _ = operator
    later = builders.disputed(amounts=("300.00",))
    overdue = builders.disputed(amounts=("200.00",))
    Dispute.objects.filter(project=overdue).update(response_due_at=timezone.now() - timedelta(hours=2))
    done = builders.disputed(amounts=("100.00",))
    services.dispute_resolve(project=done, actor=builders.make_operator(), outcome="refund", note="agreed")

    page = client.get(reverse("admin:escrow_dispute_changelist")).content.decode()  # open cases by default
    order = [page.index(title) for title in (overdue.title, case.project.title, later.title)]
    assert order == sorted(order)  # the overdue first, then by deadline (and so by age)
    assert done.title not in page
    assert page.count('class="overdue"') == 1 and "overdue since" in page
    assert "1012.50 USD" in page
    everything = client.get(reverse("admin:escrow_dispute_changelist") + "?status=all").content.decode()
    resolved = client.get(reverse("admin:escrow_dispute_changelist") + "?status=resolved").content.decode()
    assert done.title in everything and case.project.title in everything
    assert done.title in resolved and case.project.title not in resolved


def test_assigned_to_me(operator, case):
    client, me = operator
    other = builders.disputed()
    response = client.post(reverse("admin:escrow_dispute_changelist") + "?status=open",
                           {"action": "assign_to_me", "_selected_action": [str(case.pk)]}, follow=True)
    assert "assigned to you" in response.content.decode()
    assert DisputeAssignment.objects.get(dispute=case).operator == me
    mine = client.get(reverse("admin:escrow_dispute_changelist") + "?status=open&assigned=me")
    assert case.project.title in mine.content.decode() and other.title not in mine.content.decode()


def test_assigning_from_the_case_page_and_never_to_a_party(operator, case):
    client, me = operator
    colleague = builders.make_operator(UserFactory(email="colleague@example.com"))
    client.post(case_url(case), {"assign": "1", "assign-operator": str(colleague.pk)})
    assert DisputeAssignment.objects.get(dispute=case).operator == colleague
    # A party who is also an operator is not offered, and the engine refuses them anyway.
    seller = builders.make_operator(case.project.seller)
    page = client.get(case_url(case)).content.decode()
    assert f'value="{colleague.pk}"' in page and f'value="{seller.pk}"' not in page
    with pytest.raises(NotAllowed):
        services.dispute_assign(dispute=case, actor=me, operator=seller)
    assert DisputeAssignment.objects.get(dispute=case).operator == colleague


def test_clients_cannot_see_who_is_assigned(case, operator):
    _, me = operator
    services.dispute_assign(dispute=case, actor=me, operator=me)
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('authenticated', 'dispute_assignments', 'SELECT'),"
                       " has_table_privilege('anon', 'dispute_assignments', 'SELECT'),"
                       " relrowsecurity FROM pg_class WHERE relname = 'dispute_assignments'")
        assert cursor.fetchone() == (False, False, True)
    # Nor anything a party reads about the case says it (the API's case and the audit trail).
    from tests.api.conftest import client_for

    body = client_for(case.project.buyer).get(f"/api/v1/disputes/{case.pk}/").content.decode()
    assert str(me.pk) not in body and me.email not in body
    assert not EscrowEvent.objects.filter(project=case.project, actor=me).exists()


def test_the_dashboard_links_open_disputes_to_the_queue(operator, case):
    client, _ = operator
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:escrow_dispute_changelist")}?status=open" id="open-disputes">1</a>' in page


# --- the case page ---

def test_the_case_page_shows_what_an_operator_needs(operator, case, storage):
    client, _ = operator
    project = case.project
    services.dispute_message_post(dispute=case, actor=project.seller, body="They are in the shared folder.")
    services.dispute_evidence_add(dispute=case, actor=project.buyer, description="the empty folder",
                                  upload=SimpleUploadedFile("folder.png", PNG, content_type="image/png"))
    services.offer_make(dispute=case, actor=project.seller, seller_amount="800.00", buyer_amount="212.50",
                        note="most of it")
    other = builders.completed(buyer=project.buyer)  # the buyer's history: two projects
    assert other

    page = client.get(case_url(case)).content.decode()
    assert project.buyer.email in page and "(buyer)" in page and "The logo files are missing." in page
    assert case.response_due_at.strftime("%Y-%m-%d") in page
    # 1012.50 frozen = 1000.00 + 12.50 (the buyer's half of the 25.00 commission), by escrow.commission
    for amount in ("1012.50", "1000.00", "12.50", "25.00", "987.50"):
        assert amount in page
    assert "They are in the shared folder." in page
    assert "folder.png" in page and reverse("admin:escrow_dispute_evidence", args=[
        case.pk, case.evidence.get().pk]) in page and "/media/" not in page
    assert "800.00" in page and "212.50" in page and "open" in page
    assert "milestone_dispute" not in page and ">dispute<" in page  # the timeline
    buyer_row = page[page.index('id="party-buyer"'):page.index('id="party-seller"')]
    assert "<td>2</td>" in buyer_row
    # Prefilled: everything frozen to the seller.
    assert 'name="resolve-seller_amount" value="1012.50"' in page
    assert 'name="resolve-buyer_amount" value="0.00"' in page


def test_evidence_downloads_only_through_the_console(operator, case, storage, client):
    staff, _ = operator
    evidence = services.dispute_evidence_add(dispute=case, actor=case.project.buyer,
                                             upload=SimpleUploadedFile("a.png", PNG, content_type="image/png"))
    url = reverse("admin:escrow_dispute_evidence", args=[case.pk, evidence.pk])
    response = staff.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png" and "attachment" in response["Content-Disposition"]
    assert client.get(url).status_code == 302  # anonymous: to the login page
    other = builders.disputed()
    wrong_case = reverse("admin:escrow_dispute_evidence", args=[Dispute.objects.get(project=other).pk, evidence.pk])
    assert staff.get(wrong_case).status_code == 404


def test_staff_outside_the_operators_group_see_no_case(case, storage):
    outsider = login(UserFactory(is_staff=True))
    evidence = services.dispute_evidence_add(dispute=case, actor=case.project.buyer,
                                             upload=SimpleUploadedFile("a.png", PNG, content_type="image/png"))
    before = db_snapshot()
    assert outsider.get(reverse("admin:escrow_dispute_changelist")).status_code == 403
    assert outsider.get(case_url(case)).status_code == 403
    assert outsider.get(reverse("admin:escrow_dispute_evidence", args=[case.pk, evidence.pk])).status_code == 403
    assert resolve(outsider, case, outcome="refund", note="x").status_code == 403
    assert db_snapshot() == before


def test_an_operator_who_is_a_party_cannot_open_or_resolve_their_own_case(case, storage):
    seller = builders.make_operator(case.project.seller)
    seller.groups.add(Group.objects.get(name="Operators"))
    client = login(seller)
    services.dispute_message_post(dispute=case, actor=builders.make_operator(), body="Seller looks weak.",
                                  internal=True)
    before = db_snapshot()
    queue = client.get(reverse("admin:escrow_dispute_changelist") + "?status=open").content.decode()
    assert "(your own deal)" in queue
    page = client.get(case_url(case))
    assert page.status_code == 403 and b"Seller looks weak" not in page.content
    assert resolve(client, case, outcome="release", note="mine").status_code == 403
    client.post(reverse("admin:escrow_dispute_changelist"), {"action": "assign_to_me",
                                                             "_selected_action": [str(case.pk)]})
    assert db_snapshot() == before
    case.refresh_from_db()
    assert case.status == "open"


# --- resolving ---

def test_resolve_by_split_from_the_case_page(operator, case):
    client, _ = operator
    response = resolve(client, case, outcome="split", seller_amount="612.50", buyer_amount="400.00",
                       note="Half the logos delivered.")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome, case.seller_amount, case.buyer_amount) == (
        "resolved", "split", Decimal("612.50"), Decimal("400.00"))
    assert available_balances(case.project.buyer_id) == {"USD": Decimal("400.00")}
    assert_ledger_invariants()
    page = client.get(case_url(case)).content.decode()
    assert "resolved" in page and "Half the logos delivered." in page and 'id="resolve-form"' not in page


def test_a_refused_split_keeps_the_input_shows_the_engines_message_and_writes_nothing(operator, case):
    client, _ = operator
    before = db_snapshot()
    response = resolve(client, case, outcome="split", seller_amount="600.00", buyer_amount="400.00",
                       note="60/40 as discussed")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="resolve-refused"' in page and "1012.50" in page[page.index('id="resolve-refused"'):][:400]
    assert page.count("must equal what the dispute froze") == 1  # said once, above the form
    assert 'name="resolve-seller_amount" value="600.00"' in page
    assert 'name="resolve-buyer_amount" value="400.00"' in page
    assert "60/40 as discussed" in page
    assert 'value="split" checked' in page or 'checked value="split"' in page or \
        ('value="split"' in page and "checked" in page[page.index('value="split"') - 120:][:200])
    assert db_snapshot() == before


def test_a_message_and_an_internal_note_from_the_case_page(operator, case):
    client, me = operator
    client.post(case_url(case), {"post_message": "1", "message-body": "Please both upload the files by Friday."})
    client.post(case_url(case), {"post_message": "1", "message-body": "Buyer paid twice before; check.",
                                 "message-internal": "on"})
    rows = list(DisputeMessage.objects.filter(dispute=case).values_list("author", "internal", "body"))
    assert rows == [(me.pk, False, "Please both upload the files by Friday."),
                    (me.pk, True, "Buyer paid twice before; check.")]
    page = client.get(case_url(case)).content.decode()
    note = page.index("Buyer paid twice before")
    assert "internal note" in page[note - 400:note]
    from tests.api.conftest import client_for

    seen = client_for(case.project.buyer).get(f"/api/v1/disputes/{case.pk}/messages/").content.decode()
    assert "Friday" in seen and "paid twice" not in seen


def test_an_operator_attaches_evidence_checked_by_content_like_the_parties(operator, case, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from escrow.models import DisputeEvidence
    from tests.api.conftest import client_for

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    client, me = operator
    pdf = b"%PDF-1.4 the bank's statement"
    refused = client.post(case_url(case), {"attach_evidence": "1", "evidence-file": SimpleUploadedFile(
        "statement.pdf", b"MZ not a pdf at all", content_type="application/pdf")})
    assert refused.status_code == 200 and "Only PDF files and images" in refused.content.decode()
    assert not DisputeEvidence.objects.filter(dispute=case).exists() and not any(tmp_path.rglob("*.*"))
    client.post(case_url(case), {"attach_evidence": "1", "evidence-description": "From the bank",
                                 "evidence-file": SimpleUploadedFile("statement.pdf", pdf)})
    [evidence] = DisputeEvidence.objects.filter(dispute=case)
    assert (evidence.uploaded_by_id, evidence.content_type, evidence.description) == (me.pk, "application/pdf",
                                                                                        "From the bank")
    listed = client_for(case.project.seller).get(f"/api/v1/disputes/{case.pk}/evidence/").json()
    assert [item["id"] for item in listed] == [str(evidence.pk)]
    download = client.get(reverse("admin:escrow_dispute_evidence", args=[case.pk, evidence.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="statement.pdf"'
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"


# --- the project page ---

def test_the_project_page_leads_with_status_held_and_the_open_case(operator, case):
    client, _ = operator
    page = client.get(reverse("admin:escrow_project_change", args=[case.project_id])).content.decode()
    link = f'href="{case_url(case)}" class="case-link">Open case on “{case.milestone.title}”: 1012.50 USD frozen'
    assert link in page
    assert page.index("field-status") < page.index("field-held_amount") < page.index("field-open_case") \
        < page.index("field-title")


def test_one_dispute_is_one_row_in_the_audit_trail(operator, case):
    client, _ = operator
    page = client.get(reverse("admin:escrow_project_change", args=[case.project_id])).content.decode()
    trail = page[page.index('id="events-group"'):]
    assert trail.count("The logo files are missing.") == 1


def test_a_milestone_dispute_recorded_twice_before_cases_reads_as_two_subjects(operator, case):
    """Before disputes were cases, a milestone dispute wrote the milestone's event and the
    project's, both naming the milestone: the trail now says which is which."""
    client, _ = operator
    project, milestone = case.project, case.milestone
    for subject in ("milestone", "project"):
        EscrowEvent.objects.create(actor=project.buyer, actor_kind="user", action="dispute", subject=subject,
                                   project=project, milestone=milestone, from_state="in_progress",
                                   to_state="disputed", data={"reason": "recorded the old way"})
    page = client.get(reverse("admin:escrow_project_change", args=[project.pk])).content.decode()
    trail = re.sub(r"\s+", "", page[page.index('id="events-group"'):])
    subjects = re.findall(r'<tdclass="field-action"><p>dispute</p></td><tdclass="field-subject"><p>(\w+)</p>', trail)
    assert sorted(subjects) == ["milestone", "milestone", "project"]  # today's event, and the old pair
