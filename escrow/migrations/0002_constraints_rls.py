"""Database rules the ORM does not write: CHECK constraints, the Supabase shim, grants and RLS.

Hand-written. Every statement is one ``RunSQL`` with its ``reverse_sql``, so an error names the
statement and ``migrate escrow 0001`` undoes exactly this file. Nothing here imports app code:
the choice values are copied, so later code changes cannot rewrite history (a test compares them
with the models' choices).

On Supabase, schema ``auth``, ``auth.uid()`` and the roles ``anon``, ``authenticated`` and
``service_role`` already exist and are left alone. On a bare PostgreSQL this migration creates
them, marks each with a comment, and on reverse drops only what carries its mark.
"""

from django.db import migrations

# Comment put on every object this migration creates, so reversing removes only those.
SHIM_MARK = "amani shim: created by escrow migration 0002"
U = "(select auth.uid())"  # wrapped in a sub-select so PostgreSQL evaluates it once per query

PROJECT_STATUSES = ("draft", "pending", "active", "in_progress", "completed", "disputed", "cancelled", "refunded")
MILESTONE_STATUSES = ("pending", "in_progress", "completed", "approved", "rejected", "disputed")
TRANSACTION_TYPES = ("deposit", "withdrawal", "escrow_hold", "escrow_release", "refund", "fee", "commission")
TRANSACTION_STATUSES = ("pending", "processing", "completed", "failed", "cancelled", "refunded")

API_TABLES = ("users", "projects", "milestones", "transactions")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# --- 1. CHECK constraints: enums as choices, money and data rules --------------------------------

CHECKS = {
    "users": {
        "email_lowercase": "email = lower(email)",
        "email_format": "position('@' in email) > 1",
    },
    "projects": {
        "status": f"status in {_in(PROJECT_STATUSES)}",
        "total_amount_positive": "total_amount > 0",
        "currency_format": "currency ~ '^[A-Z]{3}$'",
        "buyer_not_seller": "buyer_id <> seller_id",
        "creator_is_party": "creator_id = buyer_id or creator_id = seller_id",
        # Buyer and seller may be unknown while the creator drafts; never once proposed.
        "parties_set": "status in ('draft', 'cancelled') or (buyer_id is not null and seller_id is not null)",
        "terms_accepted": (
            "status not in ('active', 'in_progress', 'completed', 'disputed', 'refunded')"
            " or terms_accepted_at is not null"
        ),
        "completed_at": "(status = 'completed') = (completed_at is not null)",
        "due_after_start": "due_date is null or start_date is null or due_date >= start_date",
    },
    "milestones": {
        "status": f"status in {_in(MILESTONE_STATUSES)}",
        "amount_positive": "amount > 0",
        "currency_format": "currency ~ '^[A-Z]{3}$'",
        "paid_at": "is_paid = (paid_at is not null)",
        "approved_at": "status <> 'approved' or approved_at is not null",
    },
    "transactions": {
        "type": f"transaction_type in {_in(TRANSACTION_TYPES)}",
        "status": f"status in {_in(TRANSACTION_STATUSES)}",
        "amount_positive": "amount > 0",
        "fee_nonnegative": "fee >= 0",
        "fee_within_amount": "fee <= amount",
        "net_amount": "net_amount = amount - fee",
        "currency_format": "currency ~ '^[A-Z]{3}$'",
        "completed_at": "status <> 'completed' or completed_at is not null",
    },
}


def check_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(
            sql=f"ALTER TABLE {table} ADD CONSTRAINT {table}_chk_{rule} CHECK ({expression})",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {table}_chk_{rule}",
        )
        for table, rules in CHECKS.items()
        for rule, expression in rules.items()
    ]


# --- Foreign-key actions in the database, not only in Django ------------------------------------
# Django emulates CASCADE and SET_NULL in Python, so a delete through PostgREST would hit a plain
# foreign key. The constraints keep their generated names; only the ON DELETE action changes.

def set_fk_action(table: str, column: str, target: str, action: str) -> str:
    return f"""
DO $$
DECLARE
    fk text;
BEGIN
    SELECT c.conname INTO STRICT fk
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = '{table}'::regclass AND c.contype = 'f' AND a.attname = '{column}';
    EXECUTE format(
        'ALTER TABLE {table} DROP CONSTRAINT %I, ADD CONSTRAINT %I FOREIGN KEY ({column})'
        ' REFERENCES {target} (id) {action} DEFERRABLE INITIALLY DEFERRED',
        fk, fk
    );
END
$$
"""


FK_ACTIONS = [
    ("milestones", "project_id", "projects", "ON DELETE CASCADE"),
    ("transactions", "project_id", "projects", "ON DELETE SET NULL"),
    ("transactions", "milestone_id", "milestones", "ON DELETE SET NULL"),
]


def fk_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(
            sql=set_fk_action(table, column, target, action),
            reverse_sql=set_fk_action(table, column, target, ""),
        )
        for table, column, target, action in FK_ACTIONS
    ]


# --- updated_at kept by the database, so no client role needs to write it ----------------------

TOUCH_FUNCTION = """
CREATE FUNCTION escrow_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$
"""


def touch_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(sql=TOUCH_FUNCTION, reverse_sql="DROP FUNCTION escrow_touch_updated_at()"),
        *(
            migrations.RunSQL(
                sql=(
                    f"CREATE TRIGGER {table}_touch_updated_at BEFORE UPDATE ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION escrow_touch_updated_at()"
                ),
                reverse_sql=f"DROP TRIGGER {table}_touch_updated_at ON {table}",
            )
            for table in API_TABLES
        ),
    ]


# --- 2. Supabase shim: schema auth, auth.uid(), roles — each only if missing ---------------------

CREATE_AUTH_SCHEMA = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
        CREATE SCHEMA auth;
        COMMENT ON SCHEMA auth IS '{SHIM_MARK}';
        GRANT USAGE ON SCHEMA auth TO PUBLIC;
    END IF;
END
$$
"""

DROP_AUTH_SCHEMA = f"""
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_namespace
        WHERE nspname = 'auth' AND obj_description(oid, 'pg_namespace') = '{SHIM_MARK}'
    ) THEN
        DROP SCHEMA auth;  -- RESTRICT: kept if anything else was put in it since
    END IF;
END
$$
"""

# Supabase's own definition: the subject of the JWT that PostgREST put in the transaction.
CREATE_AUTH_UID = f"""
DO $$
BEGIN
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $uid$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $uid$;
        COMMENT ON FUNCTION auth.uid() IS '{SHIM_MARK}';
    END IF;
END
$$
"""

DROP_AUTH_UID = f"""
DO $$
BEGIN
    IF obj_description(to_regprocedure('auth.uid()'), 'pg_proc') = '{SHIM_MARK}' THEN
        DROP FUNCTION auth.uid();
    END IF;
END
$$
"""

# Roles are shared by every database of the server: the mark names the database, so reversing
# in one database never drops roles another one created.
ROLE_MARK = f"'{SHIM_MARK} in database ' || current_database()"


def create_role(name: str, attributes: str) -> str:
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE {name} {attributes};
        EXECUTE format('COMMENT ON ROLE {name} IS %L', {ROLE_MARK});
    END IF;
END
$$
"""


def drop_role(name: str) -> str:
    return f"""
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_roles
        WHERE rolname = '{name}' AND shobj_description(oid, 'pg_authid') = {ROLE_MARK}
    ) THEN
        DROP ROLE {name};
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    -- Another database of this server still grants it something: keep it.
    RAISE NOTICE 'role {name} kept: still in use elsewhere';
END
$$
"""


# The app switches to these roles per request (SET LOCAL ROLE), so the migrating role must be
# allowed to. From PostgreSQL 16 that is the SET option of the membership, not membership alone.
# A membership granted here in a role this migration created goes away with the role; in a
# pre-existing (Supabase) role it is kept on reverse, as Supabase grants it to postgres itself.
GRANT_MEMBERSHIP = """
DO $$
DECLARE
    r text;
    can_set boolean;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF current_setting('server_version_num')::int >= 160000 THEN
            can_set := pg_has_role(current_user, r, 'SET');
        ELSE
            can_set := pg_has_role(current_user, r, 'MEMBER');
        END IF;
        IF NOT can_set THEN
            EXECUTE format('GRANT %I TO %I', r, current_user);
        END IF;
    END LOOP;
END
$$
"""


def shim_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(sql=CREATE_AUTH_SCHEMA, reverse_sql=DROP_AUTH_SCHEMA),
        migrations.RunSQL(sql=CREATE_AUTH_UID, reverse_sql=DROP_AUTH_UID),
        migrations.RunSQL(sql=create_role("anon", "NOLOGIN NOINHERIT"), reverse_sql=drop_role("anon")),
        migrations.RunSQL(
            sql=create_role("authenticated", "NOLOGIN NOINHERIT"), reverse_sql=drop_role("authenticated")
        ),
        migrations.RunSQL(
            sql=create_role("service_role", "NOLOGIN NOINHERIT BYPASSRLS"), reverse_sql=drop_role("service_role")
        ),
        migrations.RunSQL(sql=GRANT_MEMBERSHIP, reverse_sql=migrations.RunSQL.noop),
    ]


# --- 3. Grants: anon nothing; authenticated only what the policies need --------------------------

# Columns a client may read or write through PostgREST. Never hashed_password; never the
# privilege columns (is_staff, is_superuser, is_verified, is_active) for writing.
USER_READ_COLUMNS = (
    "id, email, full_name, phone_number, avatar_url, bio, is_active, is_verified, created_at, updated_at"
)
USER_UPDATE_COLUMNS = "full_name, phone_number, avatar_url, bio"
PROJECT_TERMS = "title, description, total_amount, currency, buyer_id, seller_id, completion_criteria, start_date, due_date"
MILESTONE_TERMS = "title, description, order_index, amount, currency, completion_criteria, due_date"
TRANSACTION_CLIENT_COLUMNS = (
    "id, user_id, project_id, transaction_type, status, amount, currency, fee, net_amount, description"
)

GRANTS = [
    f"GRANT SELECT ({USER_READ_COLUMNS}) ON users TO authenticated",
    f"GRANT UPDATE ({USER_UPDATE_COLUMNS}) ON users TO authenticated",
    "GRANT SELECT, DELETE ON projects TO authenticated",
    f"GRANT INSERT (id, creator_id, status, {PROJECT_TERMS}) ON projects TO authenticated",
    f"GRANT UPDATE ({PROJECT_TERMS}) ON projects TO authenticated",
    "GRANT SELECT, DELETE ON milestones TO authenticated",
    f"GRANT INSERT (id, project_id, {MILESTONE_TERMS}) ON milestones TO authenticated",
    f"GRANT UPDATE ({MILESTONE_TERMS}) ON milestones TO authenticated",
    "GRANT SELECT ON transactions TO authenticated",
    f"GRANT INSERT ({TRANSACTION_CLIENT_COLUMNS}) ON transactions TO authenticated",
    # Supabase's backend key: it bypasses RLS by design.
    "GRANT SELECT, INSERT, UPDATE, DELETE ON users, projects, milestones, transactions TO service_role",
]


def grant_operations() -> list[migrations.RunSQL]:
    tables = ", ".join(API_TABLES)
    return [
        # Supabase's default privileges hand every new table to anon and authenticated: take
        # them back first, then give authenticated exactly what the policies need.
        migrations.RunSQL(
            sql=f"REVOKE ALL ON {tables} FROM anon, authenticated",
            reverse_sql=migrations.RunSQL.noop,
        ),
        *(
            migrations.RunSQL(
                sql=grant,
                reverse_sql=grant.replace("GRANT ", "REVOKE ", 1).replace(" TO ", " FROM "),
            )
            for grant in GRANTS
        ),
    ]


# --- 4. Row-Level Security: the DESIGN §5 matrix, every policy TO authenticated ------------------

IS_PARTY = f"{U} in (p.creator_id, p.buyer_id, p.seller_id)"
# Read policies use an uncorrelated sub-query: PostgreSQL hashes "the projects U is party to" once
# per statement instead of probing projects once per row (it matters for lists).
MY_PROJECTS = f"(SELECT p.id FROM projects p WHERE {IS_PARTY})"
CREATOR_OF_DRAFT = f"p.creator_id = {U} and p.status = 'draft'"

POLICIES = {
    "users": [
        ("users_select_own", "SELECT", f"USING (id = {U})"),
        (
            # The creator is always the buyer or the seller (projects_chk_creator_is_party), so
            # sharing a project means buyer and seller are U and this user, one way or the other:
            # two probes of the (buyer_id, seller_id) and (seller_id, buyer_id) indexes per row.
            "users_select_counterparty",
            "SELECT",
            f"USING (EXISTS (SELECT 1 FROM projects p WHERE p.buyer_id = {U} AND p.seller_id = users.id)"
            f" OR EXISTS (SELECT 1 FROM projects p WHERE p.seller_id = {U} AND p.buyer_id = users.id))",
        ),
        ("users_update_own", "UPDATE", f"USING (id = {U}) WITH CHECK (id = {U})"),
    ],
    "projects": [
        ("projects_select_involved", "SELECT", f"USING ({U} in (creator_id, buyer_id, seller_id))"),
        ("projects_insert_creator", "INSERT", f"WITH CHECK (creator_id = {U} AND status = 'draft')"),
        (
            "projects_update_creator",
            "UPDATE",
            f"USING (creator_id = {U} AND status = 'draft') WITH CHECK (creator_id = {U} AND status = 'draft')",
        ),
        ("projects_delete_creator", "DELETE", f"USING (creator_id = {U} AND status = 'draft')"),
    ],
    "milestones": [
        ("milestones_select_involved", "SELECT", f"USING (project_id IN {MY_PROJECTS})"),
        (
            "milestones_insert_creator",
            "INSERT",
            f"WITH CHECK (EXISTS (SELECT 1 FROM projects p WHERE p.id = project_id AND {CREATOR_OF_DRAFT}))",
        ),
        (
            "milestones_update_creator",
            "UPDATE",
            f"USING (EXISTS (SELECT 1 FROM projects p WHERE p.id = milestones.project_id AND {CREATOR_OF_DRAFT}))"
            f" WITH CHECK (EXISTS (SELECT 1 FROM projects p WHERE p.id = project_id AND {CREATOR_OF_DRAFT}))",
        ),
        (
            "milestones_delete_creator",
            "DELETE",
            f"USING (EXISTS (SELECT 1 FROM projects p WHERE p.id = milestones.project_id AND {CREATOR_OF_DRAFT}))",
        ),
    ],
    "transactions": [
        ("transactions_select_own", "SELECT", f"USING (user_id = {U} OR project_id IN {MY_PROJECTS})"),
        (
            # The old policy let users insert completed transactions. A client may only ask:
            # a pending deposit or withdrawal of its own, on a project it is party to if any.
            "transactions_insert_own",
            "INSERT",
            f"WITH CHECK (user_id = {U} AND status = 'pending'"
            f" AND transaction_type in ('deposit', 'withdrawal')"
            f" AND (project_id IS NULL OR EXISTS (SELECT 1 FROM projects p"
            f" WHERE p.id = project_id AND {IS_PARTY})))",
        ),
    ],
}


def rls_operations() -> list[migrations.RunSQL]:
    operations = []
    for table, policies in POLICIES.items():
        operations.append(
            migrations.RunSQL(
                sql=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                reverse_sql=f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
            )
        )
        operations.extend(
            migrations.RunSQL(
                sql=f"CREATE POLICY {name} ON {table} FOR {command} TO authenticated {clauses}",
                reverse_sql=f"DROP POLICY {name} ON {table}",
            )
            for name, command, clauses in policies
        )
    return operations


# Every column a policy reads is indexed: creator_id, buyer_id, seller_id, project_id and
# user_id are foreign keys, which Django indexes in 0001; status is indexed there too.


class Migration(migrations.Migration):
    dependencies = [("escrow", "0001_initial")]

    operations = [
        *check_operations(),
        *fk_operations(),
        *touch_operations(),
        *shim_operations(),
        *grant_operations(),
        *rls_operations(),
    ]
