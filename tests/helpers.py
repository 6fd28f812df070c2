"""Assertions and tools shared by the test modules."""

import threading
import time
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum

from escrow.commission import milestone_quote
from escrow.models import Milestone, Project, ProjectStatus, Transaction, TransactionStatus, TransactionType

TABLES = ("users", "projects", "milestones", "transactions", "escrow_events", "webhook_endpoints", "webhook_messages",
          "webhook_deliveries", "procrastinate_jobs", "invitations", "disputes", "dispute_messages", "dispute_evidence",
          "dispute_offers")


# A running worker defers the periodic jobs on the clock, whatever a test does: those are not writes
# of the request under test.
NOT_PERIODIC = {"procrastinate_jobs": "where not exists (select 1 from procrastinate_periodic_defers d "
                                      "where d.job_id = t.id)"}


def db_snapshot() -> dict[str, str]:
    """A digest of every row of the escrow tables, read as the owner: equal digests, nothing written."""
    digests = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"select md5(coalesce(string_agg(t::text, '|' order by t.id), '')) from {table} t "
                           f"{NOT_PERIODIC.get(table, '')}")
            digests[table] = cursor.fetchone()[0]
    return digests


def _sum(rows, kind: str) -> Decimal:
    return rows.filter(transaction_type=kind).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def assert_ledger_invariants() -> None:
    """The money rules of DESIGN §6, recomputed from the ledger in Python for every project."""
    for project in Project.objects.all():
        rows = Transaction.objects.filter(project=project, status=TransactionStatus.COMPLETED)
        held = (_sum(rows, TransactionType.ESCROW_HOLD) - _sum(rows, TransactionType.ESCROW_RELEASE)
                - _sum(rows, TransactionType.COMMISSION) - _sum(rows, TransactionType.REFUND))
        assert held >= 0, f"{project}: held {held}"
        with connection.cursor() as cursor:
            cursor.execute("select escrow_project_held(%s)", [project.pk])
            assert cursor.fetchone()[0] == held, "the database and Python disagree on what is held"
        if project.status in (ProjectStatus.COMPLETED, ProjectStatus.REFUNDED):
            assert held == 0, f"{project} is {project.status} but still holds {held}"
        for milestone in Milestone.objects.filter(project=project):
            releases = Transaction.objects.filter(milestone=milestone, transaction_type=TransactionType.ESCROW_RELEASE)
            assert releases.exclude(status__in=["failed", "cancelled"]).count() <= 1, f"{milestone} released twice"
            assert milestone.is_paid == releases.filter(status=TransactionStatus.COMPLETED).exists()
            assert milestone.status != "disputed" or milestone.disputes.filter(status="open").exists() \
                or project.disputes.filter(status="open", milestone__isnull=True).exists(), \
                f"{milestone} stays disputed after its dispute ended"
            own = Transaction.objects.filter(milestone=milestone, status=TransactionStatus.COMPLETED)
            quote = milestone_quote(milestone, project)
            out = (_sum(own, TransactionType.ESCROW_RELEASE) + _sum(own, TransactionType.COMMISSION)
                   + _sum(own, TransactionType.REFUND))
            assert out <= quote.buyer_pays, f"{milestone} paid out more than was paid in for it"
            ended = milestone.disputes.filter(status="resolved").first()
            if ended is not None:  # its own dispute divided exactly what it froze
                assert out == ended.frozen_amount == quote.buyer_pays
                assert _sum(own, TransactionType.REFUND) == ended.buyer_amount
                if ended.outcome != "released":
                    assert _sum(own, TransactionType.ESCROW_RELEASE) + _sum(own, TransactionType.COMMISSION) \
                        == ended.seller_amount
            if milestone.is_paid and milestone.status == "approved":
                quote = milestone_quote(milestone, project)
                paid = _sum(Transaction.objects.filter(milestone=milestone), TransactionType.ESCROW_RELEASE)
                commission = _sum(Transaction.objects.filter(milestone=milestone), TransactionType.COMMISSION)
                assert paid == quote.seller_receives and commission == quote.commission
                assert paid + commission == quote.buyer_pays, "commission + net must equal gross"
    overdrawn = (
        Transaction.objects.values("user_id", "currency")
        .annotate(
            credit=Sum("amount", filter=Q(transaction_type__in=["escrow_release", "refund"], status="completed")),
            debit=Sum("amount", filter=Q(transaction_type="withdrawal", status__in=["pending", "processing", "completed"])),
        )
        .filter(debit__gt=0)
    )
    for row in overdrawn:
        assert (row["credit"] or 0) >= row["debit"], f"user {row['user_id']} overdrawn in {row['currency']}"
    assert not Project.objects.annotate(n=Count("transactions", filter=Q(
        transactions__transaction_type="escrow_hold"))).filter(n__gt=1).exists(), "a project held twice"


def race(n: int, work) -> tuple[list, list[BaseException], float]:
    """Run ``work(i)`` in ``n`` threads released together, each on its own database connection;
    return results, errors, seconds."""
    barrier = threading.Barrier(n)
    results, errors, lock = [], [], threading.Lock()

    def run(i):
        try:
            barrier.wait()
            outcome = work(i)
            with lock:
                results.append(outcome)
        except BaseException as error:  # noqa: BLE001 - collected and asserted by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors, time.perf_counter() - started


def pdf_text(document: bytes) -> str:
    """The text a PDF shows, one line per text-showing operator, after checking the structure a reader
    relies on: header, every cross-reference offset pointing at its object, stream lengths, the
    catalog, the page count, the end marker. (For the uncompressed, one-font PDFs of escrow/pdf.py;
    no PDF library is a dependency.)"""
    import re

    assert document.startswith(b"%PDF-1.") and document.rstrip().endswith(b"%%EOF"), "not a PDF"
    xref_at = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", document).group(1))
    assert document[xref_at:].startswith(b"xref"), "startxref does not point at the cross-reference table"
    first, count = map(int, re.match(rb"xref\s+(\d+) (\d+)\s+", document[xref_at:]).groups())
    table = document[xref_at:].split(b"\n")[2:2 + count]
    assert first == 0 and len(table) == count
    for number, entry in enumerate(table):
        offset, _, kind = entry.split()[:3]
        if kind == b"n":
            assert document[int(offset):].startswith(b"%d 0 obj" % number), f"object {number} is not at {offset}"
    trailer = re.search(rb"trailer\s*<<(.*?)>>", document, re.S).group(1)
    assert int(re.search(rb"/Size (\d+)", trailer).group(1)) == count
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    assert re.search(rb"%d 0 obj\s*<< /Type /Catalog" % root, document)
    pages = len(re.findall(rb"/Type /Page\b", document))
    assert int(re.search(rb"/Type /Pages .*?/Count (\d+)", document).group(1)) == pages >= 1
    lines = []
    for length, start in ((int(m.group(1)), m.end()) for m in re.finditer(rb"/Length (\d+) >>\nstream\n", document)):
        assert document[start + length:].startswith(b"\nendstream"), "a stream's /Length is wrong"
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", document[start:start + length]):
            lines.append(re.sub(rb"\\(.)", rb"\1", literal).decode("latin-1"))
    return "\n".join(lines)
