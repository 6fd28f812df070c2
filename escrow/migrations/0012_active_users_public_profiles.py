"""RLS refuses deactivated users; counterparties see a public profile only; Supabase's linter is clean.

Issue 10:

- **Deactivated users kept direct database access**: every policy now reads
  ``(select escrow_private.active_uid())`` instead of ``(select auth.uid())``: the caller's id only
  if their ``users`` row is active, else NULL, which no policy matches. The sub-select makes it an
  InitPlan, run once per statement; the function is one primary-key probe. It is SECURITY DEFINER
  (the table owner bypasses RLS), so the policies on ``users`` call it without recursing.
- **Counterparties read each other's phone, bio and flags**: column grants are per role, not per
  row, so ``users`` is now own row only (one SELECT policy, which also clears the linter's
  ``multiple_permissive_policies``), and a counterparty's id, e-mail and full name come from the
  view ``public_profiles``.
- **Linter**: every function our migrations create gets a fixed ``search_path``
  (``function_search_path_mutable``). The view is ``security_invoker`` (no
  ``security_definer_view``); the two SECURITY DEFINER functions live in the schema
  ``escrow_private``, which PostgREST does not expose (no
  ``authenticated_security_definer_function_executable``).

Policy texts are copied from 0002 and 0004 (migrations do not import app code), with ``{U}`` for
the caller's id: forward they read the active id, backward ``auth.uid()`` again.
"""

from django.db import migrations

SHIM_MARK = "amani shim: created by escrow migration 0002"
PRIVATE = "escrow_private"
ACTIVE_UID = f"(select {PRIVATE}.active_uid())"
OLD_UID = "(select auth.uid())"

# --- the caller, if active ------------------------------------------------------------------------

# PL/pgSQL keeps the lookup's plan for the session (a SQL function would plan it at every call):
# one primary-key probe of users per call, and each policy calls it at most once per statement.
ACTIVE_UID_FUNCTION = f"""
CREATE FUNCTION {PRIVATE}.active_uid() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN (SELECT u.id FROM users u WHERE u.id = auth.uid() AND u.is_active);
END
$$
"""

# --- public profiles: own row, and the users who share a project with the caller -----------------
# The creator is always the buyer or the seller (projects_chk_creator_is_party): sharing a project
# means being its buyer while the caller is its seller, or the reverse. Both probes are indexed
# (projects_buyer_seller_idx, projects_seller_buyer_idx), then users by primary key.

PUBLIC_PROFILES_FUNCTION = f"""
CREATE FUNCTION {PRIVATE}.public_profiles() RETURNS TABLE (id uuid, email text, full_name text)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    WITH me AS (SELECT {PRIVATE}.active_uid() AS id)
    SELECT u.id, u.email::text, u.full_name::text
    FROM users u
    WHERE u.id IN (
        SELECT me.id FROM me
        UNION SELECT p.seller_id FROM projects p, me WHERE p.buyer_id = me.id
        UNION SELECT p.buyer_id FROM projects p, me WHERE p.seller_id = me.id
    )
$$
"""

PUBLIC_PROFILES_VIEW = f"""
CREATE VIEW public_profiles WITH (security_invoker = true) AS
    SELECT id, email, full_name FROM {PRIVATE}.public_profiles()
"""

# --- every policy, keyed on the active caller -------------------------------------------------------

IS_PARTY = "{U} in (p.creator_id, p.buyer_id, p.seller_id)"
MY_PROJECTS = f"(SELECT p.id FROM projects p WHERE {IS_PARTY})"
CREATOR_OF_DRAFT = "p.creator_id = {U} and p.status = 'draft'"

# (table, policy, USING or None, WITH CHECK or None), as 0002 and 0004 wrote them with U = {U}.
POLICIES = [
    ("users", "users_select_own", "id = {U}", None),
    ("users", "users_update_own", "id = {U}", "id = {U}"),
    ("projects", "projects_select_involved", "{U} in (creator_id, buyer_id, seller_id)", None),
    ("projects", "projects_insert_creator", None, "creator_id = {U} AND status = 'draft'"),
    (
        "projects", "projects_update_creator",
        "creator_id = {U} AND status = 'draft'", "creator_id = {U} AND status = 'draft'",
    ),
    ("projects", "projects_delete_creator", "creator_id = {U} AND status = 'draft'", None),
    ("milestones", "milestones_select_involved", f"project_id IN {MY_PROJECTS}", None),
    (
        "milestones", "milestones_insert_creator",
        None, f"EXISTS (SELECT 1 FROM projects p WHERE p.id = project_id AND {CREATOR_OF_DRAFT})",
    ),
    (
        "milestones", "milestones_update_creator",
        f"EXISTS (SELECT 1 FROM projects p WHERE p.id = milestones.project_id AND {CREATOR_OF_DRAFT})",
        f"EXISTS (SELECT 1 FROM projects p WHERE p.id = project_id AND {CREATOR_OF_DRAFT})",
    ),
    (
        "milestones", "milestones_delete_creator",
        f"EXISTS (SELECT 1 FROM projects p WHERE p.id = milestones.project_id AND {CREATOR_OF_DRAFT})", None,
    ),
    ("transactions", "transactions_select_own", f"user_id = {{U}} OR project_id IN {MY_PROJECTS}", None),
    (
        "escrow_events", "escrow_events_select_involved",
        "actor_id = {U} OR project_id IN (SELECT p.id FROM projects p WHERE {U} in (p.creator_id, p.buyer_id, p.seller_id))",
        None,
    ),
]

OLD_COUNTERPARTY_POLICY = (
    "CREATE POLICY users_select_counterparty ON users FOR SELECT TO authenticated"
    f" USING (EXISTS (SELECT 1 FROM projects p WHERE p.buyer_id = {OLD_UID} AND p.seller_id = users.id)"
    f" OR EXISTS (SELECT 1 FROM projects p WHERE p.seller_id = {OLD_UID} AND p.buyer_id = users.id))"
)

# Every function migrations 0002 and 0004 created (0011 and this one pin their own).
EARLIER_FUNCTIONS = [
    "escrow_touch_updated_at()",
    "escrow_ledger_immutable()",
    "escrow_projects_held(uuid[])",
    "escrow_project_held(uuid)",
    "escrow_available_balance(uuid, text)",
    "escrow_check_balances()",
    "escrow_check_milestones_sum()",
    "escrow_events_append_only()",
]

# auth.uid() only where 0002's shim created it (never Supabase's own); it reads settings only.
PIN_SHIM_UID = f"""
DO $$
BEGIN
    IF obj_description(to_regprocedure('auth.uid()'), 'pg_proc') = '{SHIM_MARK}' THEN
        ALTER FUNCTION auth.uid() SET search_path = '';
    END IF;
END
$$
"""
UNPIN_SHIM_UID = PIN_SHIM_UID.replace("SET search_path = ''", "RESET search_path")


def sql(forward: str, backward: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql=forward, reverse_sql=backward)


def pin_search_path(signature: str) -> migrations.RunSQL:
    """The function finds our tables in the schema they were migrated into, and nothing a caller
    put earlier in its search_path, nor a temporary table, can stand in for them."""
    return sql(
        f"DO $$ BEGIN EXECUTE format('ALTER FUNCTION {signature} SET search_path = %I, pg_temp',"
        " current_schema()); END $$",
        f"ALTER FUNCTION {signature} RESET search_path",
    )


def only_for_authenticated(signature: str) -> list[migrations.RunSQL]:
    # New functions are executable by PUBLIC, and on Supabase by anon through default privileges.
    return [
        sql(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC, anon, authenticated", migrations.RunSQL.noop),
        sql(f"GRANT EXECUTE ON FUNCTION {signature} TO authenticated",
            f"REVOKE EXECUTE ON FUNCTION {signature} FROM authenticated"),
    ]


def clauses(using: str | None, check: str | None, uid: str) -> str:
    parts = []
    if using:
        parts.append(f"USING ({using.format(U=uid)})")
    if check:
        parts.append(f"WITH CHECK ({check.format(U=uid)})")
    return " ".join(parts)


def policy_operations() -> list[migrations.RunSQL]:
    return [
        sql(
            f"ALTER POLICY {name} ON {table} {clauses(using, check, ACTIVE_UID)}",
            f"ALTER POLICY {name} ON {table} {clauses(using, check, OLD_UID)}",
        )
        for table, name, using, check in POLICIES
    ]


class Migration(migrations.Migration):
    dependencies = [("escrow", "0011_deposit_rules")]

    operations = [
        # A schema PostgREST does not expose, for the SECURITY DEFINER functions RLS needs.
        sql(f"CREATE SCHEMA {PRIVATE}", f"DROP SCHEMA {PRIVATE}"),
        sql(f"GRANT USAGE ON SCHEMA {PRIVATE} TO authenticated", f"REVOKE USAGE ON SCHEMA {PRIVATE} FROM authenticated"),
        sql(ACTIVE_UID_FUNCTION, f"DROP FUNCTION {PRIVATE}.active_uid()"),
        pin_search_path(f"{PRIVATE}.active_uid()"),
        *only_for_authenticated(f"{PRIVATE}.active_uid()"),
        # Deactivated users: every policy keyed on the active caller.
        *policy_operations(),
        # Counterparties: users is own row only; public profiles through the view.
        sql("DROP POLICY users_select_counterparty ON users", OLD_COUNTERPARTY_POLICY),
        sql(PUBLIC_PROFILES_FUNCTION, f"DROP FUNCTION {PRIVATE}.public_profiles()"),
        pin_search_path(f"{PRIVATE}.public_profiles()"),
        *only_for_authenticated(f"{PRIVATE}.public_profiles()"),
        sql(PUBLIC_PROFILES_VIEW, "DROP VIEW public_profiles"),
        sql("REVOKE ALL ON public_profiles FROM PUBLIC, anon, authenticated", migrations.RunSQL.noop),
        sql("GRANT SELECT ON public_profiles TO authenticated", "REVOKE SELECT ON public_profiles FROM authenticated"),
        # Linter: a fixed search_path on every function the earlier migrations created.
        *(pin_search_path(signature) for signature in EARLIER_FUNCTIONS),
        sql(PIN_SHIM_UID, UNPIN_SHIM_UID),
    ]
