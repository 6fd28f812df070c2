"""Migrations: clean, reversible, and safe on a database shaped like Supabase's."""

import pytest
from django.core.management import call_command

API_TABLES = ("users", "projects", "milestones", "transactions", "escrow_events", "webhook_endpoints", "webhook_messages",
              "webhook_deliveries", "disputes", "dispute_messages", "dispute_evidence", "dispute_offers")
SHIM_MARK = "amani shim: created by escrow migration 0002"


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def state(conn) -> dict:
    """What the migrations put in a database, read through a plain connection."""
    one = lambda sql, *args: conn.execute(sql, args).fetchone()[0]  # noqa: E731
    return {
        "api_tables": one("select count(*) from pg_class where relname = any(%s) and relkind = 'r'"
                          " and relnamespace = 'public'::regnamespace", list(API_TABLES)),
        "policies": one("select count(*) from pg_policies where tablename = any(%s)", list(API_TABLES)),
        "auth_uid": one("select obj_description(to_regprocedure('auth.uid()'), 'pg_proc')"),
        "auth_schema": one("select count(*) from pg_namespace where nspname = 'auth'"),
        "roles": one("select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')"),
        # Migration 0012's link to Supabase Auth: only where auth.users exists.
        "auth_link": one("select count(*) from pg_proc where proname in"
                         " ('escrow_auth_user_sync', 'escrow_auth_users_sync', 'escrow_users_guard_supabase_email')"),
    }


@pytest.mark.slow
def test_zero_head_zero_head_on_a_fresh_database(server, fresh_database):
    url = server.url(fresh_database)
    with server.connect(fresh_database) as conn:
        server.manage(url, "migrate", "--noinput")
        head = state(conn)
        assert head["api_tables"] == 12 and head["policies"] == 19
        # The roles already exist on this server (other databases use them); auth.uid() did not.
        assert head["auth_uid"] == SHIM_MARK and head["roles"] == 3
        assert head["auth_link"] == 0  # no auth.users here: 0012 does nothing

        server.manage(url, "migrate", "escrow", "zero", "--noinput")
        zero = state(conn)
        assert zero["api_tables"] == 0 and zero["policies"] == 0
        assert zero["auth_uid"] is None and zero["auth_schema"] == 0  # what it created is gone
        assert conn.execute("select count(*) from pg_namespace where nspname = 'escrow_private'").fetchone()[0] == 0
        assert zero["roles"] == 3  # roles it did not create here stay

        server.manage(url, "migrate", "--noinput")
        assert state(conn) == head
        shown = server.manage(url, "showmigrations", "escrow").stdout
        assert "[X] 0002_constraints_rls" in shown and "[X] 0013_supabase_auth_link" in shown


@pytest.mark.slow
def test_roll_back_one_migration_keeps_the_tables(server, fresh_database):
    url = server.url(fresh_database)
    server.manage(url, "migrate", "--noinput")
    server.manage(url, "migrate", "escrow", "0001", "--noinput")
    with server.connect(fresh_database) as conn:
        rolled_back = state(conn)
        constraints = conn.execute("select count(*) from pg_constraint where conname like '%%\\_chk\\_%%'").fetchone()[0]
    assert rolled_back["api_tables"] == 4 and rolled_back["policies"] == 0 and constraints == 0


def exposed_tables(conn) -> list[tuple[str, str]]:
    """Non-API tables that anon or authenticated can touch in any way."""
    return conn.execute(
        """
        select c.relname, r.rolname from pg_class c cross join (values ('anon'), ('authenticated')) r(rolname)
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname <> all(%s)
          and (has_table_privilege(r.rolname, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
               or not c.relrowsecurity)
        """,
        [list(API_TABLES)],
    ).fetchall()


@pytest.mark.slow
def test_migrate_on_a_supabase_shaped_database(server, supabase_database):
    database, role, uid_oid = supabase_database
    url = server.url(database, user=role)
    with server.connect(database) as conn:
        supabase_uid = conn.execute("select prosrc, proconfig from pg_proc where oid = %s", [uid_oid]).fetchone()
    server.manage(url, "migrate", "--noinput")

    with server.connect(database) as conn:
        assert conn.execute("select to_regprocedure('auth.uid()')::oid").fetchone()[0] == uid_oid
        # Supabase's auth.uid() as it was: the shim's migrations (0002, 0012, 0027) never touch it.
        assert conn.execute("select prosrc, proconfig from pg_proc where oid = %s", [uid_oid]).fetchone() == supabase_uid
        assert conn.execute("select obj_description(%s, 'pg_proc')", [uid_oid]).fetchone()[0].startswith("Deprecated")
        assert state(conn)["policies"] == 19
        assert conn.execute("select count(*) from pg_class where relname = 'django_session'").fetchone()[0] == 1
        assert exposed_tables(conn) == []
        assert conn.execute("select has_table_privilege('anon', 'projects', 'SELECT')").fetchone()[0] is False
        # Despite Supabase's default grants: the public profiles are for signed-in users only, and
        # the SECURITY DEFINER helpers RLS calls are not anon's.
        assert conn.execute(
            "select has_table_privilege('anon', 'public_profiles', 'SELECT, INSERT, UPDATE, DELETE'),"
            " has_table_privilege('authenticated', 'public_profiles', 'INSERT, UPDATE, DELETE, TRUNCATE'),"
            " has_table_privilege('authenticated', 'public_profiles', 'SELECT'),"
            " has_function_privilege('anon', 'escrow_private.active_uid()', 'EXECUTE')"
        ).fetchone() == (False, False, True, False)
        # The role can act as a client role: what the API does per request.
        with server.connect(database, user=role) as as_owner:
            as_owner.execute("begin")
            as_owner.execute("select set_config('role', 'authenticated', true)")
            assert as_owner.execute("select current_user").fetchone()[0] == "authenticated"
            as_owner.execute("rollback")

    # A table made later by this role is closed on the next migrate, despite Supabase's grants.
    with server.connect(database, user=role) as conn:
        conn.execute("create table later_table (id int primary key)")
    with server.connect(database) as conn:
        # Supabase re-grants default privileges on its own (e.g. in the dashboard); migrate anyway.
        conn.execute(f"alter default privileges for role {role} in schema public grant all on tables to anon")
        conn.execute("grant select on later_table to anon, authenticated")
    server.manage(url, "migrate", "--noinput")
    with server.connect(database) as conn:
        assert exposed_tables(conn) == []
        with server.connect(database, user=role) as as_owner:
            as_owner.execute("create table even_later (id int)")
        assert conn.execute("select has_table_privilege('anon', 'even_later', 'SELECT')").fetchone()[0] is False

    server.manage(url, "migrate", "escrow", "zero", "--noinput")
    with server.connect(database) as conn:
        zero = state(conn)
        assert zero["api_tables"] == 0
        assert zero["auth_schema"] == 1 and zero["roles"] == 3  # Supabase's objects stay
        assert conn.execute("select to_regprocedure('auth.uid()')::oid").fetchone()[0] == uid_oid


def default_privileges(conn) -> dict:
    """Every default privilege of the database and the grants on its schemas, order aside."""
    sorted_acl = "array(select x::text from unnest(coalesce({}, '{{}}')) x order by 1)"
    return {
        "default_acl": conn.execute(
            "select pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text, defaclobjtype::text,"
            f" {sorted_acl.format('defaclacl')} from pg_default_acl order by 1, 2, 3"
        ).fetchall(),
        "schemas": conn.execute(
            f"select nspname, {sorted_acl.format('nspacl')} from pg_namespace"
            " where nspname in ('public', 'auth') order by 1"
        ).fetchall(),
    }


@pytest.mark.slow
def test_migrate_escrow_zero_gives_supabase_its_default_privileges_back(server, supabase_project):
    url = server.url(supabase_project.database, user=supabase_project.role)
    with server.connect(supabase_project.database) as conn:
        found = default_privileges(conn)
        assert any("anon=" in item for acl in found["default_acl"] for item in acl[3])

        server.manage(url, "migrate", "--noinput")
        # Migrated: tables the migrating role creates are no longer handed to anon and authenticated.
        assert default_privileges(conn) != found

        server.manage(url, "migrate", "escrow", "zero", "--noinput")
        assert default_privileges(conn) == found
        server.manage(url, "migrate", "--noinput")
        server.manage(url, "migrate", "escrow", "zero", "--noinput")
        assert default_privileges(conn) == found
