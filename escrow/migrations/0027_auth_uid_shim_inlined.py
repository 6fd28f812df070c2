"""The shim's ``auth.uid()`` is inlined, as Supabase's own is.

Off Supabase, migration 0002 created ``auth.uid()`` with Supabase's definition, and 0012 pinned
its search_path as it did for every function of ours. A SQL function with a SET clause cannot be
inlined: PostgreSQL calls it and plans its body again at every call, about 15 µs. Every policy's
``escrow_private.active_uid()`` calls it, some fourteen times for a page of projects. Supabase's
own ``auth.uid()`` has no SET clause and is inlined into the caller's plan.

The shim now has no SET clause either. Its body names only pg_catalog's functions, operators and
types, so no search_path a caller sets can redirect it (tests/db/test_linter.py puts a hostile
schema first). Only the shim is touched (0002's mark), never Supabase's function. The reverse
puts 0002's body and 0012's pin back.
"""

from django.db import migrations

SHIM_MARK = "amani shim: created by escrow migration 0002"


def only_for_the_shim(statements: str) -> str:
    """``statements`` where auth.uid() is 0002's shim (its mark), never Supabase's own."""
    return f"""
DO $$
BEGIN
    IF obj_description(to_regprocedure('auth.uid()'), 'pg_proc') = '{SHIM_MARK}' THEN
{statements}
    END IF;
END
$$
"""


# 0002's rule: the JWT's subject, from request.jwt.claim.sub (older PostgREST) or else from
# request.jwt.claims; an empty setting counts as unset. CREATE OR REPLACE drops 0012's SET clause
# and keeps the function's owner, grants and mark.
INLINED = only_for_the_shim("""
        CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $uid$
            select (case
                when pg_catalog.current_setting('request.jwt.claim.sub', true) operator(pg_catalog.<>) ''
                    then pg_catalog.current_setting('request.jwt.claim.sub', true)
                when pg_catalog.current_setting('request.jwt.claims', true) operator(pg_catalog.<>) ''
                    then pg_catalog.current_setting('request.jwt.claims', true)::pg_catalog.jsonb
                         operator(pg_catalog.->>) 'sub'
            end)::pg_catalog.uuid
        $uid$;""")

# 0002's body, pinned as 0012 pinned it.
PINNED = only_for_the_shim("""
        CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $uid$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $uid$;
        ALTER FUNCTION auth.uid() SET search_path = '';""")


class Migration(migrations.Migration):
    dependencies = [("escrow", "0026_money_functions_plpgsql")]

    operations = [migrations.RunSQL(INLINED, PINNED)]
