"""Reads: querysets and figures for a user or a project. Writes live in escrow/services/.

Held amounts and balances are computed by the same SQL functions the database's own triggers use
(migration 0004), so Python and the database can never disagree on them.
"""

from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

import escrow.db.lookups  # noqa: F401 - registers __in_array
from escrow.models import Project, Transaction


def project_held(project_id) -> Decimal:
    """Holds − releases − commission − refunds for the project (completed rows only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT escrow_project_held(%s)", [project_id])
        return cursor.fetchone()[0]


def projects_held(project_ids) -> dict:
    """``project_held`` for many projects in one query (a page of a list)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT project_id, held FROM escrow_projects_held(%s::uuid[])", [list(project_ids)])
        return dict(cursor.fetchall())


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


def projects_for(user) -> QuerySet[Project]:
    return Project.objects.filter(Q(creator=user) | Q(buyer=user) | Q(seller=user))


def transactions_for(user) -> QuerySet[Transaction]:
    """The user's own rows and their projects' rows: two indexed conditions, OR-ed."""
    return Transaction.objects.filter(Q(user=user) | Q(project_id__in_array=projects_for(user).values("id")))
