"""``escrow_private.public_profiles_of(ids)`` (0022) in PL/pgSQL: same rule, same answer.

As a SQL function with SECURITY DEFINER it cannot be inlined, and PostgreSQL plans a SQL
function's body again at every call: about 1 ms of a project page's 4 at 100k projects. A
PL/pgSQL function keeps its statement's plan for the connection's life (0.4 ms a call). The
function keeps its owner and grants (CREATE OR REPLACE); its search_path is set again, as 0022
did (CREATE OR REPLACE resets it).
"""

from django.db import migrations

SIGNATURE = "escrow_private.public_profiles_of(uuid[])"

PLPGSQL = """
CREATE OR REPLACE FUNCTION escrow_private.public_profiles_of(ids uuid[])
RETURNS TABLE (id uuid, email text, full_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    me uuid := escrow_private.active_uid();
BEGIN
    RETURN QUERY
    SELECT u.id, u.email::text, u.full_name::text
    FROM users u
    WHERE u.id = ANY(ids)
      AND (u.id = me
           OR EXISTS (SELECT 1 FROM projects p WHERE p.buyer_id = me AND p.seller_id = u.id)
           OR EXISTS (SELECT 1 FROM projects p WHERE p.seller_id = me AND p.buyer_id = u.id));
END
$$
"""

SQL = """
CREATE OR REPLACE FUNCTION escrow_private.public_profiles_of(ids uuid[])
RETURNS TABLE (id uuid, email text, full_name text)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    WITH me AS (SELECT escrow_private.active_uid() AS id)
    SELECT u.id, u.email::text, u.full_name::text
    FROM users u, me
    WHERE u.id = ANY(ids)
      AND (u.id = me.id
           OR EXISTS (SELECT 1 FROM projects p WHERE p.buyer_id = me.id AND p.seller_id = u.id)
           OR EXISTS (SELECT 1 FROM projects p WHERE p.seller_id = me.id AND p.buyer_id = u.id))
$$
"""

SEARCH_PATH = (f"DO $$ BEGIN EXECUTE format('ALTER FUNCTION {SIGNATURE} SET search_path = %I, pg_temp', "
               "current_schema()); END $$")


class Migration(migrations.Migration):
    dependencies = [("escrow", "0024_dispute_assignments")]

    operations = [
        # Reversed last op first: the SQL version back, then its search_path.
        migrations.RunSQL(PLPGSQL, SEARCH_PATH),
        migrations.RunSQL(SEARCH_PATH, SQL),
    ]
