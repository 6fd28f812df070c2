"""Every table that is not an API table is out of reach of anon and authenticated."""

import pytest
from django.db import DatabaseError, connection

from escrow.db.hardening import close_unprotected_tables
from escrow.db.rls import as_role

API_TABLES = ("users", "projects", "milestones", "transactions", "escrow_events", "webhook_endpoints", "webhook_messages",
              "webhook_deliveries", "disputes", "dispute_messages", "dispute_evidence", "dispute_offers")
ALL_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


def non_api_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select relname from pg_class where relnamespace = current_schema()::regnamespace"
            " and relkind = 'r' and relname <> all(%s) order by 1",
            [list(API_TABLES)],
        )
        return [name for (name,) in cursor.fetchall()]


def privileges(table: str) -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select has_table_privilege('anon', %s, %s), has_table_privilege('authenticated', %s, %s),"
            " relrowsecurity from pg_class where oid = %s::regclass",
            [table, ALL_PRIVILEGES, table, ALL_PRIVILEGES, table],
        )
        anon, authenticated, rls = cursor.fetchone()
    return {"anon": anon, "authenticated": authenticated, "rls": rls}


def test_django_tables_are_closed(db):
    tables = non_api_tables()
    assert {"django_session", "django_admin_log", "auth_permission", "users_groups"} <= set(tables)
    # django-axes' tables: addresses and e-mails of failed logins, the lockout's counts.
    assert {"axes_accessattempt", "axes_accesslog", "axes_accessfailurelog", "axes_accessattemptexpiration"} <= set(tables)
    assert "refresh_tokens" in tables  # migration 0018: closed by the hardening, not by a grant of its own
    for table in tables:
        assert privileges(table) == {"anon": False, "authenticated": False, "rls": True}, table


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("statement", [
    "select session_key from django_session",
    "select username, ip_address from axes_accessattempt",
    "delete from axes_accessattempt",  # lifting one's own lockout
])
def test_session_and_lockout_tables_refuse_client_roles(db, role, statement):
    with pytest.raises(DatabaseError, match="permission denied"):
        with as_role(role, None):
            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_a_table_created_later_is_closed(db):
    """As on Supabase, default privileges hand a new table to the client roles; hardening takes it back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "alter default privileges in schema public grant all on tables to anon, authenticated"
        )
        cursor.execute("create table late_feature (id int primary key, secret text)")
    assert privileges("late_feature")["anon"] is True

    closed = close_unprotected_tables()

    assert "late_feature" in closed
    assert privileges("late_feature") == {"anon": False, "authenticated": False, "rls": True}
    # ...and default privileges no longer hand the next table out.
    with connection.cursor() as cursor:
        cursor.execute("create table later_feature (id int primary key)")
    assert privileges("later_feature")["anon"] is False
    # API tables keep their precise grants.
    assert privileges("projects")["authenticated"] is True
    assert privileges("projects")["anon"] is False


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_the_job_queue_is_out_of_reach_of_client_roles(db, role):
    """PostgREST would expose procrastinate's functions as /rpc/...: clients can neither call them
    nor read the jobs (a payout job names the withdrawal it pays)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE has_function_privilege(%s, p.oid, 'EXECUTE'))"
            " FROM pg_proc p WHERE p.proname LIKE 'procrastinate\\_%%'", [role])
        functions, callable_ = cursor.fetchone()
    assert functions > 10 and callable_ == 0
    with pytest.raises(DatabaseError, match="permission denied"):
        with as_role(role, None):
            with connection.cursor() as cursor:
                cursor.execute("SELECT procrastinate_defer_jobs_v1(ARRAY[]::procrastinate_job_to_defer_v1[])")
    with pytest.raises(DatabaseError, match="permission denied"):
        with as_role(role, None):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM procrastinate_jobs")
