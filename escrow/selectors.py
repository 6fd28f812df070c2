"""Reads: querysets and figures for a user or a project. Writes live in escrow/services/.

Held amounts and balances are computed by the same SQL functions the database's own triggers use
(migration 0004; PL/pgSQL since 0026), so Python and the database can never disagree on them.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone

import escrow.db.lookups  # noqa: F401 - registers __in_array
from escrow.db.prepared import PreparedRows, prepared, sample_like
from escrow.models import Dispute, DisputeStatus, Project, Transaction, TransactionStatus, TransactionType, WalletCheck


def project_held(project_id) -> Decimal:
    """Holds − releases − commission − refunds for the project (completed rows only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT escrow_project_held(%s)", [project_id])
        return cursor.fetchone()[0]


# The milestone ids of a project's open disputes (None: a project-wide one), as a column of its
# row: the guards of its actions read them (``escrow.states.open_cases``).
OPEN_CASES = ArraySubquery(Dispute.objects.filter(project_id=OuterRef("pk"), status=DisputeStatus.OPEN)
                           .order_by().values("milestone_id"))


def with_open_cases(projects: QuerySet[Project]) -> QuerySet[Project]:
    """``projects``, each row with ``open_cases`` read in the same query (a page of a list, a
    project and its milestones: no query per row or per milestone)."""
    return projects.annotate(open_cases=OPEN_CASES)


def available_balances(user_id) -> dict[str, Decimal]:
    """Per currency: released and refunded to the user, less withdrawals not failed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT currency, escrow_available_balance(%s, currency) FROM"
            " (SELECT DISTINCT currency FROM transactions WHERE user_id = %s) c ORDER BY currency",
            [user_id, user_id],
        )
        return dict(cursor.fetchall())


def available_balance(user_id, currency: str) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute("SELECT escrow_available_balance(%s, %s)", [user_id, currency])
        return cursor.fetchone()[0]


# The e-mails of the given users the caller (``auth.uid()``) may see: their own and their
# counterparties', by the rule of the ``public_profiles`` view (migration 0012) — ``users`` itself
# shows a client their own row only. Through ``public_profiles_of`` (0022), which probes only these
# ids rather than listing every counterparty of the caller. The owner (no client role) reads them
# from ``users``.
VISIBLE_EMAILS = "SELECT id, email FROM escrow_private.public_profiles_of(%s::uuid[])"
OWNER_EMAILS = "SELECT id, email::text FROM users WHERE id = ANY(%s::uuid[])"
PAGE_FIGURES = ("SELECT e.ids, e.emails, h.ids, h.held"
                " FROM (SELECT array_agg(id) AS ids, array_agg(email) AS emails FROM ({emails}) found) e,"
                " (SELECT array_agg(project_id) AS ids, array_agg(held) AS held"
                "  FROM escrow_projects_held(%s::uuid[])) h")


def page_figures(user_ids, project_ids, *, as_client: bool = True) -> tuple[dict, dict]:
    """What a page of projects shows besides its rows, in one statement: the e-mails of
    ``user_ids`` the caller may see (``as_client=False``: every one of them, read as the owner) and
    what each of ``project_ids`` holds (``project_held``'s formula)."""
    sql = PAGE_FIGURES.format(emails=VISIBLE_EMAILS if as_client else OWNER_EMAILS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(user_ids), list(project_ids)])
        users, emails, projects, held = cursor.fetchone()  # arrays; NULL for none
    return dict(zip(users or (), emails or (), strict=True)), dict(zip(projects or (), held or (), strict=True))


def public_names(user_ids) -> dict:
    """The full names of those of ``user_ids`` the caller may see (``public_profiles``, as above)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, full_name FROM public_profiles WHERE id = ANY(%s::uuid[])", [list(user_ids)])
        return dict(cursor.fetchall())


def projects_for(user) -> QuerySet[Project]:
    return Project.objects.filter(Q(creator=user) | Q(buyer=user) | Q(seller=user))


PROJECT_FIELDS = [field.attname for field in Project._meta.concrete_fields]


def projects_rows(user, *, filters: dict, ordering: str) -> PreparedRows:
    """``projects_for`` the user with ``filters`` (column → value), in ``ordering`` then id, for a
    paginator: its count and pages run SQL compiled once per shape (``escrow.db.prepared``)."""
    names = tuple(sorted(filters))

    def build(user_id, *values):
        return with_open_cases(projects_for(user_id).filter(**dict(zip(names, values, strict=True)))).order_by(
            ordering, "id")

    values = [user.pk, *(filters[name] for name in names)]
    return PreparedRows(("projects", names, ordering), build, [sample_like(value) for value in values], values,
                        [*PROJECT_FIELDS, "open_cases"])


def disputes_for(user) -> QuerySet[Dispute]:
    """The cases of the user's projects (RLS, ``disputes_select_involved``, says the same)."""
    return Dispute.objects.filter(project_id__in_array=projects_for(user).values("id"))


def transactions_for(user) -> QuerySet[Transaction]:
    """The user's own rows and their projects' rows: two indexed conditions, OR-ed."""
    return Transaction.objects.filter(Q(user=user) | Q(project_id__in_array=projects_for(user).values("id")))


LEDGER_ORDER = ("-created_at", "id")


LEDGER_FILTERS = ("project_id", "transaction_type", "status")


def transactions_page(user, *, filters: dict, position: tuple | None, backwards: bool = False,
                      size: int) -> list[Transaction]:
    """Up to ``size`` rows that ``transactions_for`` the user gives, with ``filters`` (of
    LEDGER_FILTERS: column → value), newest first (``LEDGER_ORDER``): those after ``position`` =
    (created_at, id), or with ``backwards`` those just before it (the previous page), still newest
    first.

    A keyset page, never an OFFSET nor a COUNT: its cost does not grow with the ledger. The user's
    own rows and their projects' rows are two index range reads (``transactions_user_page_idx``,
    ``transactions_project_page_idx``), each cut at ``size``, merged: one OR over both had the
    planner walk the whole ledger by date looking for the user's rows. Compiled once per shape
    (which filters, a position or not, the direction, the size): ``escrow.db.prepared``. Rows
    carry ``LEDGER_PAGE_FIELDS``, the others deferred."""
    names = tuple(name for name in LEDGER_FILTERS if name in filters)
    positioned = position is not None
    order = ("created_at", "-id") if backwards else LEDGER_ORDER

    def build(user_id, *values):
        rows = Transaction.objects.filter(**dict(zip(names, values, strict=False)))
        if positioned:
            created_at, row_id = values[len(names):]
            if backwards:
                rows = rows.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__lt=row_id))
            else:
                rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__gt=row_id))
        own = rows.filter(user_id=user_id).order_by(*order)[:size]
        projects = rows.filter(project_id__in_array=projects_for(user_id).values("id")).order_by(*order)[:size]
        # UNION (not ALL): a row of the user's on their own project is in both.
        return own.union(projects).order_by(*order)[:size].values_list(*LEDGER_PAGE_FIELDS)

    values = [user.pk, *(filters[name] for name in names)]
    samples = [sample_like(value) for value in values]
    if positioned:
        samples += [datetime(2000, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid4()]
    page = prepared(("ledger", names, positioned, backwards, size), build, samples).run(
        *values, *(position or ()))
    return page[::-1] if backwards else page


# What a row of a ledger page shows (the API's ledger rows, and its cursor: created_at, id). What
# FinCra answered (gateway_response, often kilobytes of JSON), its ids and fees, and operators'
# notes stay in the database: a page read and decoded them for every row, to show none of them.
LEDGER_PAGE_FIELDS = ["id", "user_id", "project_id", "milestone_id", "transaction_type", "status", "amount", "fee",
                      "net_amount", "currency", "payment_gateway", "gateway_reference", "description", "extra_data",
                      "created_at", "processed_at", "completed_at"]


def held_per_currency() -> dict[str, Decimal]:
    """Everything escrow holds now, per currency (the operators' dashboard)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.currency, sum(h.held) FROM escrow_projects_held(ARRAY("
            "  SELECT DISTINCT project_id FROM transactions WHERE transaction_type = 'escrow_hold'"
            "    AND project_id IS NOT NULL)) h"
            " JOIN projects p ON p.id = h.project_id GROUP BY p.currency HAVING sum(h.held) <> 0 ORDER BY 1"
        )
        return dict(cursor.fetchall())


STUCK_AFTER = timedelta(hours=1)


def stuck_payments() -> QuerySet[Transaction]:
    """Deposits and withdrawals still pending or processing an hour after they started."""
    return Transaction.objects.filter(
        transaction_type__in=[TransactionType.DEPOSIT, TransactionType.WITHDRAWAL],
        status__in=[TransactionStatus.PENDING, TransactionStatus.PROCESSING],
        created_at__lt=timezone.now() - STUCK_AFTER,
    )


def latest_wallet_checks() -> list[WalletCheck]:
    """The last FinCra wallet check of each currency (the operators' dashboard)."""
    return list(WalletCheck.objects.order_by("currency", "-checked_at").distinct("currency"))


def withdrawal_funding(withdrawal: Transaction) -> list[tuple[Transaction, Decimal]]:
    """The credits that fund ``withdrawal``: the user's completed escrow releases and refunds in its
    currency, recorded before it, oldest first, with the part of each it uses — first in, first out,
    after the user's earlier withdrawals (those not failed) have taken theirs. Only the user's own rows."""
    credits = (Transaction.objects
               .filter(user_id=withdrawal.user_id, currency=withdrawal.currency,
                       transaction_type__in=(TransactionType.ESCROW_RELEASE, TransactionType.REFUND),
                       status=TransactionStatus.COMPLETED, created_at__lte=withdrawal.created_at)
               .select_related("project", "milestone").order_by("created_at", "id"))
    earlier = (Transaction.objects
               .filter(user_id=withdrawal.user_id, currency=withdrawal.currency,
                       transaction_type=TransactionType.WITHDRAWAL,
                       status__in=(TransactionStatus.PENDING, TransactionStatus.PROCESSING,
                                   TransactionStatus.COMPLETED))
               .filter(Q(created_at__lt=withdrawal.created_at) | Q(created_at=withdrawal.created_at,
                                                                  id__lt=withdrawal.id)))
    already_taken = sum((row.amount for row in earlier), Decimal(0))
    still_needed, funding = withdrawal.amount, []
    for credit in credits:
        if still_needed <= 0:
            break
        left = credit.amount - min(already_taken, credit.amount)
        already_taken -= credit.amount - left
        if left > 0:
            used = min(left, still_needed)
            funding.append((credit, used))
            still_needed -= used
    return funding
