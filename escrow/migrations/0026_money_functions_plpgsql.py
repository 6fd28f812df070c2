"""The ledger's sums (0004) in PL/pgSQL: same formulas, same answers, plans kept.

``escrow_projects_held``, ``escrow_project_held`` and ``escrow_available_balance`` were SQL
functions with a pinned search_path (0012): such a function cannot be inlined, and PostgreSQL
plans its body again at every call. They run on every project page (what each project holds),
on every ledger row that moves money (the balance trigger) and on every balance read. A
PL/pgSQL function keeps its statement's plan for the connection's life: what 0025 did for
``public_profiles_of``. CREATE OR REPLACE keeps owners and grants; it resets the search_path,
which is set again as 0012 set it. The reverse puts the SQL bodies of 0004 back.
"""

from django.db import migrations

HELD = "CASE WHEN t.transaction_type = 'escrow_hold' THEN t.amount ELSE -t.amount END"
HELD_ROWS = """
    FROM unnest(projects) AS wanted(pid)
    LEFT JOIN transactions t
      ON t.project_id = wanted.pid AND t.status = 'completed'
     AND t.transaction_type IN ('escrow_hold', 'escrow_release', 'commission', 'refund')
    GROUP BY wanted.pid"""
BALANCE = """coalesce(sum(amount) FILTER (
               WHERE transaction_type IN ('escrow_release', 'refund') AND status = 'completed'), 0)
         - coalesce(sum(amount) FILTER (
               WHERE transaction_type = 'withdrawal' AND status IN ('pending', 'processing', 'completed')), 0)
    FROM transactions
    WHERE user_id = account AND currency = money_currency"""

PLPGSQL = [
    f"""
CREATE OR REPLACE FUNCTION escrow_projects_held(projects uuid[]) RETURNS TABLE (project_id uuid, held numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT wanted.pid, coalesce(sum({HELD}), 0){HELD_ROWS};
END
$$""",
    f"""
CREATE OR REPLACE FUNCTION escrow_project_held(project uuid) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum({HELD}), 0)
            FROM transactions t
            WHERE t.project_id = project AND t.status = 'completed'
              AND t.transaction_type IN ('escrow_hold', 'escrow_release', 'commission', 'refund'));
END
$$""",
    f"""
CREATE OR REPLACE FUNCTION escrow_available_balance(account uuid, money_currency text) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT {BALANCE});
END
$$""",
]

# 0004's bodies, for the reverse.
SQL = [
    f"""
CREATE OR REPLACE FUNCTION escrow_projects_held(projects uuid[]) RETURNS TABLE (project_id uuid, held numeric)
LANGUAGE sql STABLE AS $$
    SELECT wanted.pid, coalesce(sum({HELD}), 0){HELD_ROWS}
$$""",
    """
CREATE OR REPLACE FUNCTION escrow_project_held(project uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT held FROM escrow_projects_held(ARRAY[project])
$$""",
    f"""
CREATE OR REPLACE FUNCTION escrow_available_balance(account uuid, money_currency text) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT {BALANCE}
$$""",
]

SIGNATURES = ["escrow_projects_held(uuid[])", "escrow_project_held(uuid)", "escrow_available_balance(uuid, text)"]
SEARCH_PATH = "".join(
    f"EXECUTE format('ALTER FUNCTION {signature} SET search_path = %I, pg_temp', current_schema()); "
    for signature in SIGNATURES)
SEARCH_PATH = f"DO $$ BEGIN {SEARCH_PATH}END $$"


class Migration(migrations.Migration):
    dependencies = [("escrow", "0025_public_profiles_of_plpgsql")]

    operations = [
        # Reversed last op first: the SQL bodies back, then their search_path.
        migrations.RunSQL(PLPGSQL, SEARCH_PATH),
        migrations.RunSQL(SEARCH_PATH, SQL),
    ]
