"""``escrow_private.public_profiles_of(ids)``: the public profiles of the given users that the caller
may see, for a page of projects.

The view ``public_profiles`` (0012) is the whole set of the caller's counterparties, computed by a
SECURITY DEFINER function that PostgreSQL cannot inline: a filter on the view's ``id`` is applied
after the function has returned every counterparty (a thousand rows for a user party to a thousand
projects, ~2 ms per page at 100k projects). This function takes the ids a page names and probes, per
id, the same rule as the view: the caller themself, or their buyer while they sell, or their seller
while they buy (the creator is always one of the two) — two index probes per id
(``projects_buyer_seller_idx``, ``projects_seller_buyer_idx``), whatever the caller's history.
SECURITY DEFINER with a fixed search_path in ``escrow_private``, executable by ``authenticated``
only, as 0012's function. The SQL is copied here (migrations do not import app code).
"""

from django.db import migrations

SIGNATURE = "escrow_private.public_profiles_of(uuid[])"

FUNCTION = """
CREATE FUNCTION escrow_private.public_profiles_of(ids uuid[]) RETURNS TABLE (id uuid, email text, full_name text)
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


class Migration(migrations.Migration):
    dependencies = [("escrow", "0021_dispute_cases")]

    operations = [
        migrations.RunSQL(FUNCTION, f"DROP FUNCTION {SIGNATURE}"),
        migrations.RunSQL(
            "DO $$ BEGIN EXECUTE format('ALTER FUNCTION escrow_private.public_profiles_of(uuid[])"
            " SET search_path = %I, pg_temp', current_schema()); END $$",
            f"ALTER FUNCTION {SIGNATURE} RESET search_path",
        ),
        # New functions are executable by PUBLIC, and on Supabase by anon through default privileges.
        migrations.RunSQL(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC, anon, authenticated",
                          migrations.RunSQL.noop),
        migrations.RunSQL(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO authenticated",
                          f"REVOKE EXECUTE ON FUNCTION {SIGNATURE} FROM authenticated"),
    ]
