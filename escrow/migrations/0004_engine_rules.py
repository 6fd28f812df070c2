"""Database rules behind the escrow engine's money invariants (hand-written, every step reversible).

The services check all of this in Python first and raise a domain error; these are the backstop a
bug or a concurrent request meets instead of a silent double payment:

- ledger rows are immutable in amount, and completed ones are never deleted;
- a project never holds less than nothing, and a user's available balance never goes below zero
  (a trigger that locks the project / user row, then sums: concurrency-safe under READ COMMITTED,
  since each statement in the trigger sees rows committed by whoever held the lock before);
- once proposed, a project's milestones sum exactly to its total, in its currency;
- the audit trail is append-only;
- parties read their projects' events (and users their own) through RLS; nobody writes them
  through PostgREST.
"""

from django.db import migrations

U = "(select auth.uid())"
PLATFORM_USER_ID = "00000000-0000-0000-0000-00000000a111"  # copied from escrow.ledger: see docstring

CHECKS = [
    ("projects", "fee_bearer", "fee_bearer in ('buyer', 'seller', 'split')"),
    ("projects", "commission_percent", "commission_percent >= 0 and commission_percent < 100"),
    ("escrow_events", "actor_kind", "actor_kind in ('user', 'operator', 'system')"),
    ("escrow_events", "actor", "(actor_kind = 'system') = (actor_id is null)"),
]

LEDGER_IMMUTABLE = """
CREATE FUNCTION escrow_ledger_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'completed' THEN
            RAISE EXCEPTION 'completed ledger rows are never deleted (transaction %)', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'transactions_immutable';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.amount, NEW.fee, NEW.net_amount, NEW.currency, NEW.transaction_type, NEW.user_id)
       IS DISTINCT FROM (OLD.amount, OLD.fee, OLD.net_amount, OLD.currency, OLD.transaction_type, OLD.user_id) THEN
        RAISE EXCEPTION 'ledger amounts are immutable: write a correcting row (transaction %)', OLD.id
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'transactions_immutable';
    END IF;
    IF OLD.status IN ('completed', 'failed', 'cancelled', 'refunded') AND NEW.status <> OLD.status THEN
        RAISE EXCEPTION 'a settled ledger row keeps its status % (transaction %)', OLD.status, OLD.id
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'transactions_immutable';
    END IF;
    RETURN NEW;
END
$$
"""

# What escrow holds per project: holds − releases − commission − refunds, completed rows only.
# One formula: the set version serves lists, the single version (triggers, services) calls it.
PROJECTS_HELD = """
CREATE FUNCTION escrow_projects_held(projects uuid[]) RETURNS TABLE (project_id uuid, held numeric)
LANGUAGE sql STABLE AS $$
    SELECT wanted.pid, coalesce(sum(CASE WHEN t.transaction_type = 'escrow_hold' THEN t.amount ELSE -t.amount END), 0)
    FROM unnest(projects) AS wanted(pid)
    LEFT JOIN transactions t
      ON t.project_id = wanted.pid AND t.status = 'completed'
     AND t.transaction_type IN ('escrow_hold', 'escrow_release', 'commission', 'refund')
    GROUP BY wanted.pid
$$
"""

PROJECT_HELD = """
CREATE FUNCTION escrow_project_held(project uuid) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT held FROM escrow_projects_held(ARRAY[project])
$$
"""

AVAILABLE_BALANCE = """
CREATE FUNCTION escrow_available_balance(account uuid, money_currency text) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(amount) FILTER (
               WHERE transaction_type IN ('escrow_release', 'refund') AND status = 'completed'), 0)
         - coalesce(sum(amount) FILTER (
               WHERE transaction_type = 'withdrawal' AND status IN ('pending', 'processing', 'completed')), 0)
    FROM transactions
    WHERE user_id = account AND currency = money_currency
$$
"""

CHECK_BALANCES = """
CREATE FUNCTION escrow_check_balances() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.project_id IS NOT NULL
       AND NEW.transaction_type IN ('escrow_hold', 'escrow_release', 'commission', 'refund') THEN
        PERFORM 1 FROM projects WHERE id = NEW.project_id FOR UPDATE;
        IF escrow_project_held(NEW.project_id) < 0 THEN
            RAISE EXCEPTION 'project % would hold less than nothing', NEW.project_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_chk_project_held';
        END IF;
    END IF;
    IF NEW.transaction_type = 'withdrawal' THEN
        PERFORM 1 FROM users WHERE id = NEW.user_id FOR UPDATE;
        IF escrow_available_balance(NEW.user_id, NEW.currency) < 0 THEN
            RAISE EXCEPTION 'withdrawal exceeds the available % balance of user %', NEW.currency, NEW.user_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_chk_balance';
        END IF;
    END IF;
    RETURN NULL;
END
$$
"""

MILESTONES_SUM = """
CREATE FUNCTION escrow_check_milestones_sum() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target uuid;
    p record;
    total numeric;
    parts integer;
    other_currency integer;
BEGIN
    IF TG_TABLE_NAME = 'projects' THEN
        target := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        target := OLD.project_id;
    ELSE
        target := NEW.project_id;
    END IF;
    SELECT status, total_amount, currency INTO p FROM projects WHERE id = target;
    IF NOT FOUND OR p.status IN ('draft', 'cancelled') THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(amount), 0), count(*), count(*) FILTER (WHERE currency <> p.currency)
    INTO total, parts, other_currency
    FROM milestones WHERE project_id = target;
    IF parts = 0 OR total <> p.total_amount OR other_currency > 0 THEN
        RAISE EXCEPTION 'project %: milestones (% in %, % other currency) must sum to % %',
            target, total, parts, other_currency, p.total_amount, p.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'projects_chk_milestones_sum';
    END IF;
    RETURN NULL;
END
$$
"""

EVENTS_APPEND_ONLY = """
CREATE FUNCTION escrow_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only'
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'escrow_events_append_only';
END
$$
"""

PROJECT_TERMS_NEW = "fee_bearer, inspection_days"


def sql(forward: str, backward: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql=forward, reverse_sql=backward)


class Migration(migrations.Migration):
    dependencies = [("escrow", "0003_engine")]

    operations = [
        *(
            sql(
                f"ALTER TABLE {table} ADD CONSTRAINT {table}_chk_{rule} CHECK ({expression})",
                f"ALTER TABLE {table} DROP CONSTRAINT {table}_chk_{rule}",
            )
            for table, rule, expression in CHECKS
        ),
        sql(LEDGER_IMMUTABLE, "DROP FUNCTION escrow_ledger_immutable()"),
        sql(
            "CREATE TRIGGER transactions_immutable BEFORE UPDATE OR DELETE ON transactions"
            " FOR EACH ROW EXECUTE FUNCTION escrow_ledger_immutable()",
            "DROP TRIGGER transactions_immutable ON transactions",
        ),
        sql(PROJECTS_HELD, "DROP FUNCTION escrow_projects_held(uuid[])"),
        sql(PROJECT_HELD, "DROP FUNCTION escrow_project_held(uuid)"),
        sql(AVAILABLE_BALANCE, "DROP FUNCTION escrow_available_balance(uuid, text)"),
        sql(CHECK_BALANCES, "DROP FUNCTION escrow_check_balances()"),
        sql(
            "CREATE TRIGGER transactions_check_balances AFTER INSERT OR UPDATE ON transactions"
            " FOR EACH ROW EXECUTE FUNCTION escrow_check_balances()",
            "DROP TRIGGER transactions_check_balances ON transactions",
        ),
        sql(MILESTONES_SUM, "DROP FUNCTION escrow_check_milestones_sum()"),
        # Deferred to commit: a proposal edits milestones and the project in one transaction.
        sql(
            "CREATE CONSTRAINT TRIGGER projects_milestones_sum AFTER INSERT OR UPDATE ON projects"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION escrow_check_milestones_sum()",
            "DROP TRIGGER projects_milestones_sum ON projects",
        ),
        sql(
            "CREATE CONSTRAINT TRIGGER milestones_sum AFTER INSERT OR UPDATE OR DELETE ON milestones"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION escrow_check_milestones_sum()",
            "DROP TRIGGER milestones_sum ON milestones",
        ),
        sql(EVENTS_APPEND_ONLY, "DROP FUNCTION escrow_events_append_only()"),
        sql(
            "CREATE TRIGGER escrow_events_append_only BEFORE UPDATE OR DELETE ON escrow_events"
            " FOR EACH ROW EXECUTE FUNCTION escrow_events_append_only()",
            "DROP TRIGGER escrow_events_append_only ON escrow_events",
        ),
        # Grants and RLS: the new project terms are the creator's to write while draft; events
        # are readable by the project's parties and written only by the backend.
        sql(
            f"GRANT INSERT ({PROJECT_TERMS_NEW}), UPDATE ({PROJECT_TERMS_NEW}) ON projects TO authenticated",
            f"REVOKE INSERT ({PROJECT_TERMS_NEW}), UPDATE ({PROJECT_TERMS_NEW}) ON projects FROM authenticated",
        ),
        sql("REVOKE ALL ON escrow_events FROM anon, authenticated", migrations.RunSQL.noop),
        sql("GRANT SELECT ON escrow_events TO authenticated", "REVOKE SELECT ON escrow_events FROM authenticated"),
        sql("GRANT SELECT ON escrow_events TO service_role", "REVOKE SELECT ON escrow_events FROM service_role"),
        sql(
            "ALTER TABLE escrow_events ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE escrow_events DISABLE ROW LEVEL SECURITY",
        ),
        sql(
            "CREATE POLICY escrow_events_select_involved ON escrow_events FOR SELECT TO authenticated"
            f" USING (actor_id = {U} OR project_id IN (SELECT p.id FROM projects p"
            f" WHERE {U} in (p.creator_id, p.buyer_id, p.seller_id)))",
            "DROP POLICY escrow_events_select_involved ON escrow_events",
        ),
        # The platform's own account: commission rows are paid to it. It cannot log in.
        sql(
            "INSERT INTO users (id, email, full_name, hashed_password, is_active)"
            f" VALUES ('{PLATFORM_USER_ID}', 'platform@amani.invalid', 'Amani platform (commission)', '!', false)"
            " ON CONFLICT (id) DO NOTHING",
            f"DELETE FROM users WHERE id = '{PLATFORM_USER_ID}'",
        ),
    ]
