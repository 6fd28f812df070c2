"""What Supabase's database linter (splinter) checks, asked of our schema.

The rules are splinter's, written again here as plain catalog queries over what the migrations
create: functions without a fixed ``search_path`` (``function_search_path_mutable``), more than one
permissive policy per table, role and command (``multiple_permissive_policies``), views that run
as their owner (``security_definer_view``), SECURITY DEFINER functions a client role can call
through PostgREST (``*_security_definer_function_executable``), and policies that call
``auth.uid()`` per row (``auth_rls_initplan``). Each query must come back empty.
"""

import json
import uuid

from django.db import connection

SHIM_MARK = "amani shim: created by escrow migration 0002"

# Functions the migrations create: in the app's schema, in escrow_private, and the shim's auth.uid().
OUR_FUNCTIONS = f"""
SELECT p.oid::regprocedure::text AS signature, p.proconfig, p.prosecdef
FROM pg_proc p
WHERE (p.pronamespace IN (current_schema()::regnamespace, 'escrow_private'::regnamespace)
       OR (p.pronamespace = 'auth'::regnamespace AND obj_description(p.oid, 'pg_proc') = '{SHIM_MARK}'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
"""

# The shim's auth.uid() is the exception, as Supabase's own: a SET clause would stop PostgreSQL
# from inlining it (migration 0027); its body names pg_catalog's objects only (tested below).
SEARCH_PATH_MUTABLE = f"""
SELECT signature FROM ({OUR_FUNCTIONS}) f
WHERE signature <> 'auth.uid()' AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(f.proconfig, '{{}}')) c WHERE c LIKE 'search_path=%%')
ORDER BY 1
"""

# Per (table, role, command); a policy FOR ALL counts for each command, PUBLIC for each role.
MULTIPLE_PERMISSIVE = """
SELECT c.relname, r.rolname, cmd, array_agg(pol.polname ORDER BY pol.polname)
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_roles r ON pol.polroles @> ARRAY[r.oid] OR pol.polroles = ARRAY[0::oid]
CROSS JOIN LATERAL unnest(CASE pol.polcmd WHEN 'r' THEN ARRAY['SELECT'] WHEN 'a' THEN ARRAY['INSERT']
    WHEN 'w' THEN ARRAY['UPDATE'] WHEN 'd' THEN ARRAY['DELETE']
    ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END) AS cmd
WHERE c.relnamespace = current_schema()::regnamespace AND pol.polpermissive
  AND NOT r.rolbypassrls AND r.rolname NOT LIKE 'pg\\_%%'
GROUP BY 1, 2, 3
HAVING count(*) > 1
"""

DEFINER_VIEWS = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v'
  AND (has_table_privilege('anon', c.oid, 'SELECT') OR has_table_privilege('authenticated', c.oid, 'SELECT'))
  AND NOT coalesce(c.reloptions, '{}') && ARRAY['security_invoker=true', 'security_invoker=on',
                                                'security_invoker=1', 'security_invoker=yes']
"""

# PostgREST exposes the app's schema (public); escrow_private is not exposed.
EXPOSED_DEFINER_FUNCTIONS = """
SELECT p.oid::regprocedure::text, r.rolname FROM pg_proc p CROSS JOIN (VALUES ('anon'), ('authenticated')) r(rolname)
WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef
  AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
"""


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_every_function_of_ours_has_a_fixed_search_path(db):
    signatures = {signature for signature, _, _ in rows(OUR_FUNCTIONS)}
    assert {  # the query does see our functions, trigger functions included
        "escrow_touch_updated_at()", "escrow_check_balances()", "escrow_check_deposit()", "escrow_check_funded()",
        "escrow_projects_held(uuid[])", "escrow_amount_owed(uuid)", "escrow_private.active_uid()",
        "escrow_private.public_profiles()", "auth.uid()",
    } <= signatures
    assert rows(SEARCH_PATH_MUTABLE) == []


def test_the_shims_auth_uid_is_inlined_and_no_search_path_redirects_it(db):
    """Off Supabase, policies ask the shim's auth.uid() for the caller many times a request: it is
    inlined into their plans, as Supabase's is, and a caller's search_path that puts its own
    current_setting and operators first still gets the JWT's subject."""
    me, impostor = uuid.uuid4(), uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (VERBOSE, COSTS OFF) SELECT auth.uid()")
        assert "current_setting" in " ".join(line for line, in cursor.fetchall())  # the body, not a call
        cursor.execute("CREATE SCHEMA hostile")
        cursor.execute(f"CREATE FUNCTION hostile.current_setting(text, boolean) RETURNS text LANGUAGE sql"
                       f" AS $$ SELECT '{{\"sub\": \"{impostor}\"}}' $$")
        cursor.execute("CREATE FUNCTION hostile.never(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT false $$")
        cursor.execute("CREATE OPERATOR hostile.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.never)")
        cursor.execute(f"CREATE FUNCTION hostile.sub(jsonb, text) RETURNS text LANGUAGE sql AS $$ SELECT '{impostor}' $$")
        cursor.execute("CREATE OPERATOR hostile.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = hostile.sub)")
        cursor.execute("SELECT set_config('request.jwt.claims', %s, true)", [json.dumps({"sub": str(me)})])
        cursor.execute("SET LOCAL search_path = hostile, pg_catalog, public")
        cursor.execute("SELECT hostile.current_setting('x', true), auth.uid()")
        assert cursor.fetchone() == (json.dumps({"sub": str(impostor)}), me)


def test_definer_functions_pin_the_app_schema_and_temp_last(db):
    for signature, config, definer in rows(OUR_FUNCTIONS):
        if definer:
            assert config == ["search_path=public, pg_temp"], signature


def test_one_permissive_policy_per_table_role_and_command(db):
    assert rows(MULTIPLE_PERMISSIVE) == []


def test_no_view_runs_as_its_owner_for_clients(db):
    assert rows(DEFINER_VIEWS) == []
    assert rows("SELECT count(*) FROM pg_views WHERE viewname = 'public_profiles'") == [(1,)]


def test_no_security_definer_function_is_callable_through_postgrest(db):
    assert rows(EXPOSED_DEFINER_FUNCTIONS) == []
    # The ones RLS needs live in escrow_private, for authenticated only.
    assert rows("SELECT has_function_privilege('anon', 'escrow_private.active_uid()', 'EXECUTE'),"
                " has_function_privilege('authenticated', 'escrow_private.active_uid()', 'EXECUTE')") == [(False, True)]


def test_every_policy_asks_for_the_active_caller_once_per_statement(db):
    policies = rows("SELECT policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')"
                    " FROM pg_policies WHERE schemaname = current_schema()")
    assert len(policies) == 19
    for name, text in policies:
        assert "auth.uid()" not in text, name
        assert "( SELECT escrow_private.active_uid() AS active_uid)" in text, name
