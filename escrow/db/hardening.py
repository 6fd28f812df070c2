"""Keep every table without RLS policies out of reach of Supabase's client roles.

On Supabase, default privileges grant every new table in ``public`` to ``anon`` and
``authenticated``, so ``django_session``, ``auth_*`` or ``django_admin_log`` would be readable
through PostgREST with the public anon key. After every ``migrate`` this closes each table of the
current schema that has no RLS policy (Django's own, and any created by a later migration):
no privileges for those roles, and RLS enabled with no policy as a second lock. It also stops the
migrating role's default privileges from handing new tables to them, while escrow is migrated:
migration 0013 records what those default privileges were, and ``migrate escrow zero`` gives
them back (so, with no record, they are left alone).

The table owner bypasses RLS (without FORCE), so Django itself is unaffected.

The job queue's functions (procrastinate's, created by its own migrations in the same schema) get
the same treatment: Supabase's PostgREST exposes every function of ``public`` as ``/rpc/...``, so
the client roles lose EXECUTE on them, and each gets a fixed ``search_path`` (Supabase's linter:
``function_search_path_mutable``). The worker connects as the owner and is unaffected.
"""

import logging

from django.db import connections

logger = logging.getLogger(__name__)

CLIENT_ROLES = ("anon", "authenticated")
# Written by migration 0013: the default privileges found before the hardening changed them.
DEFAULT_PRIVILEGES_RECORD = "escrow_found_default_privileges"

# Tables and sequences of the current schema owned by the migrating role. Tables with a policy
# are the API tables, whose grants their own migration sets precisely.
UNPROTECTED_TABLES = """
SELECT c.relname, c.relkind
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace
  AND c.relkind IN ('r', 'p', 'S')
  AND pg_get_userbyid(c.relowner) = current_user
  AND NOT EXISTS (SELECT 1 FROM pg_policy pol WHERE pol.polrelid = c.oid)
ORDER BY c.relname
"""


# The job queue's functions, owned by the migrating role, whose search_path is not fixed yet.
JOB_QUEUE_FUNCTIONS = """
SELECT p.oid::regprocedure::text, p.proconfig IS NULL OR NOT EXISTS (
           SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%%')
FROM pg_proc p
WHERE p.pronamespace = current_schema()::regnamespace
  AND p.proname LIKE 'procrastinate\\_%%'
  AND pg_get_userbyid(p.proowner) = current_user
ORDER BY 1
"""


def close_unprotected_tables(*, using: str = "default", **kwargs) -> list[str]:
    """Revoke client roles from every table without policies; return the tables closed."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(CLIENT_ROLES)])
        roles = sorted(row[0] for row in cursor.fetchall())
        if not roles:
            return []  # no Supabase roles here (escrow migrated to zero): nothing to protect from
        grantees = ", ".join(roles)
        cursor.execute(UNPROTECTED_TABLES)
        closed = []
        for name, kind in cursor.fetchall():
            quoted = connection.ops.quote_name(name)
            if kind == "S":
                cursor.execute(f"REVOKE ALL ON SEQUENCE {quoted} FROM {grantees}")
                continue
            cursor.execute(f"REVOKE ALL ON TABLE {quoted} FROM {grantees}")
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            closed.append(name)
        schema = connection.ops.quote_name(_schema(cursor))
        cursor.execute(JOB_QUEUE_FUNCTIONS)
        for signature, path_mutable in cursor.fetchall():
            cursor.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC, {grantees}")
            if path_mutable:
                cursor.execute(f"ALTER FUNCTION {signature} SET search_path = {schema}, pg_temp")
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PRIVILEGES_RECORD])
        if cursor.fetchone()[0]:
            for objects in ("TABLES", "SEQUENCES"):
                cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON {objects} FROM {grantees}")
    logger.debug("closed to %s: %s", grantees, ", ".join(closed))
    return closed


def _schema(cursor) -> str:
    cursor.execute("SELECT current_schema()")
    return cursor.fetchone()[0]
