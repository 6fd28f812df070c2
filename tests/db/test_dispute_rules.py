"""The database rules of dispute cases (migration 0021), tested around the ORM: RLS for each role
on the four case tables, no client writes, frozen money that cannot move, a milestone that cannot
pay out more than was paid in for it, and states that must agree with the open disputes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction

from escrow import services
from escrow.db.rls import as_role
from escrow.models import Dispute, User
from escrow.services.ledger import PLATFORM_USER_ID
from tests import builders
from tests.factories import UserFactory
from tests.helpers import db_snapshot

TABLES = ("disputes", "dispute_messages", "dispute_evidence", "dispute_offers")


@pytest.fixture
def case(db, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)
    services.milestone_dispute(milestone=milestone, actor=project.seller, reason="no answer")
    dispute = Dispute.objects.get(milestone=milestone)
    operator = builders.make_operator()
    services.dispute_message_post(dispute=dispute, actor=project.buyer, body="public")
    services.dispute_message_post(dispute=dispute, actor=operator, body="operators only", internal=True)
    services.dispute_evidence_add(dispute=dispute, actor=project.seller,
                                  upload=SimpleUploadedFile("x.pdf", b"%PDF-1.4 something"))
    services.offer_make(dispute=dispute, actor=project.buyer, seller_amount="100.00", buyer_amount="300.00")
    return dispute


def visible(role: str, user_id) -> dict:
    with as_role(role, user_id), connection.cursor() as cursor:
        seen = {}
        for table in TABLES:
            cursor.execute(f"select count(*) from {table}")
            seen[table] = cursor.fetchone()[0]
        cursor.execute("select body from dispute_messages order by created_at")
        seen["bodies"] = [row[0] for row in cursor.fetchall()]
        return seen


PARTY_VIEW = {"disputes": 1, "dispute_messages": 1, "dispute_evidence": 1, "dispute_offers": 1, "bodies": ["public"]}
NOTHING = {"disputes": 0, "dispute_messages": 0, "dispute_evidence": 0, "dispute_offers": 0, "bodies": []}


@pytest.mark.parametrize(("who", "expected"), [
    ("buyer", PARTY_VIEW), ("seller", PARTY_VIEW), ("stranger", NOTHING), ("operator", NOTHING),
])
def test_parties_read_their_case_but_internal_notes(case, who, expected):
    """Operators work as the owner (the console), not through PostgREST: as clients they are strangers."""
    user_id = {"buyer": case.project.buyer_id, "seller": case.project.seller_id,
               "stranger": UserFactory().pk, "operator": builders.make_operator().pk}[who]
    assert visible("authenticated", user_id) == expected


def test_anon_and_a_deactivated_party_read_nothing(case):
    with pytest.raises(DatabaseError, match="permission denied"), as_role("anon"):
        with connection.cursor() as cursor:
            cursor.execute("select count(*) from disputes")
    assert visible("authenticated", case.project.seller_id) == PARTY_VIEW
    User.objects.filter(pk=case.project.seller_id).update(is_active=False)
    assert visible("authenticated", case.project.seller_id) == NOTHING


@pytest.mark.parametrize("statement", [
    "insert into dispute_messages (dispute_id, author_id, body) values (%(dispute)s, %(me)s, 'hi')",
    "update dispute_offers set seller_amount = 400, buyer_amount = 0",
    "update disputes set status = 'resolved'",
    "delete from dispute_evidence",
    "update dispute_messages set internal = false",
])
def test_no_client_writes_a_case(case, statement):
    before = db_snapshot()
    with pytest.raises(DatabaseError, match="permission denied"), as_role("authenticated", case.project.buyer_id):
        with connection.cursor() as cursor:
            cursor.execute(statement, {"dispute": case.pk, "me": case.project.buyer_id})
    assert db_snapshot() == before


def ledger_row(case, kind: str, amount: str, milestone=True) -> str:
    user = {"escrow_release": case.project.seller_id, "refund": case.project.buyer_id,
            "commission": PLATFORM_USER_ID}[kind]
    milestone_id = f"'{case.milestone_id}'" if milestone else "null"
    return ("insert into transactions (id, user_id, project_id, milestone_id, transaction_type, status, amount,"
            " currency, fee, net_amount, completed_at) values (gen_random_uuid(),"
            f" '{user}', '{case.project_id}', {milestone_id}, '{kind}', 'completed', {amount}, 'USD', 0, {amount},"
            " now())")


@pytest.mark.parametrize(("kind", "milestone"), [
    ("escrow_release", True), ("refund", True), ("commission", True), ("refund", False),
])
def test_frozen_money_does_not_move(case, kind, milestone):
    """Not even for the table owner: a release or refund of the disputed milestone, or a
    project-wide refund, while the dispute is open."""
    before = db_snapshot()
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ledger_row(case, kind, "1.00", milestone))
    assert refused.value.__cause__.diag.constraint_name == "transactions_chk_frozen"
    assert db_snapshot() == before


def test_the_other_milestones_money_moves_and_never_beyond_what_was_paid_in(case):
    other = case.project.milestones.get(order_index=1)  # 600.00, fee bearer seller: 600.00 paid in
    row = ledger_row(case, "refund", "600.01").replace(str(case.milestone_id), str(other.pk))
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(row)
    assert refused.value.__cause__.diag.constraint_name == "transactions_chk_milestone_held"
    with connection.cursor() as cursor:
        cursor.execute(row.replace("600.01", "600.00"))  # exactly what was paid in for it: allowed


@pytest.mark.parametrize("statement", [
    "update milestones set status = 'in_progress' where id = %(milestone)s",  # still under an open dispute
    "update disputes set status = 'resolved', outcome = 'refunded', seller_amount = 0, buyer_amount = frozen_amount,"
    " resolved_at = now() where id = %(dispute)s",  # the milestone would stay disputed
    "update projects set status = 'disputed' where id = %(project)s",  # no project-wide dispute
])
def test_states_agree_with_the_open_disputes(case, statement):
    before = db_snapshot()
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, {"milestone": case.milestone_id, "dispute": case.pk, "project": case.project_id})
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as at commit
    assert refused.value.__cause__.diag.constraint_name == "disputes_chk_states"
    assert db_snapshot() == before


def test_one_open_dispute_per_milestone_and_exact_sums(case):
    with pytest.raises(IntegrityError, match="disputes_one_open_per_milestone"), transaction.atomic():
        Dispute.objects.create(project=case.project, milestone=case.milestone, raised_by=case.project.buyer,
                               reason="again", frozen_amount=1, currency="USD", response_due_at=case.response_due_at)
    with pytest.raises(IntegrityError, match="disputes_chk_exact_sum"), transaction.atomic():
        Dispute.objects.filter(pk=case.pk).update(status="resolved", outcome="split", seller_amount=1,
                                                  buyer_amount=1, resolved_at=case.created_at)
