"""Supabase Auth feeds ``users``; Supabase's default privileges come back on reverse.

1. **Where Supabase Auth's ``auth.users`` exists** (on a bare PostgreSQL this part does nothing), a
   trigger on it keeps ``users`` in step: a sign-up gets its ``users`` row at once (id = the
   Supabase id, so ``auth.uid() = users.id`` and PostgREST shows it before any API call), an
   e-mail change reaches ``users``, and so does a new name in the user metadata. An e-mail that
   an API account already has is linked to the Supabase identity only on proof that the
   identity owns the mailbox, and only when re-keying the account rewrites no history. A second
   trigger, on ``users``, refuses an e-mail that belongs to another Supabase identity, so the
   API cannot register it either. docs/rls.md, "How the two account sources meet", has the
   rules and why.
2. **Default privileges.** The hardening after every ``migrate`` (escrow/db/hardening.py) stops
   the migrating role's default privileges from handing new tables and sequences to ``anon``
   and ``authenticated``. This migration records what those default privileges were; the
   hardening changes them only while the record exists, and reversing this migration gives back
   exactly what was recorded.

The functions run with a fixed ``search_path`` (pg_catalog, the schema of ``users``, pg_temp).
The trigger functions are SECURITY DEFINER, owned by the role that owns ``users`` (Supabase's
``postgres``, not a superuser): Supabase Auth writes ``auth.users`` as ``supabase_auth_admin``,
which has no rights on ``users``. No client role may execute any of them.
Nothing here imports app code.
"""

from django.db import migrations

FUNCTIONS = {
    "escrow_auth_user_sync": "uuid, text, text, boolean, boolean",
    "escrow_auth_users_sync": "",
    "escrow_users_guard_supabase_email": "",
}


def where_supabase_auth(statement: str) -> str:
    """``statement`` only where ``auth.users`` exists; ``@schema@`` names the schema of ``users``."""
    return f"""
DO $where$
BEGIN
    IF to_regclass('auth.users') IS NOT NULL THEN
        EXECUTE replace($statement${statement}$statement$, '@schema@', quote_ident(current_schema()));
    END IF;
END
$where$
"""


def lock_down(name: str) -> list[migrations.RunSQL]:
    """A fixed search_path, and no EXECUTE for anyone but the owner (Supabase grants new functions
    in public to its client roles by default). Dropping the function undoes both."""
    signature = f"@schema@.{name}({FUNCTIONS[name]})"
    return [
        migrations.RunSQL(
            sql=where_supabase_auth(f"ALTER FUNCTION {signature} SET search_path = pg_catalog, @schema@, pg_temp"),
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            sql=where_supabase_auth(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC, anon, authenticated, service_role"),
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]


def drop(name: str) -> str:
    return f"DROP FUNCTION IF EXISTS {name}({FUNCTIONS[name]})"


# --- 1. auth.users → users ------------------------------------------------------------------------

# The rules, for one Supabase identity. ``rename``: Supabase's name changed (or the identity is new).
# ``vouched``: Supabase has proof that the identity owns the e-mail (see the trigger).
AUTH_USER_SYNC = r"""
CREATE FUNCTION escrow_auth_user_sync(
    auth_id uuid, auth_email text, auth_name text, rename boolean, vouched boolean
) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    taken users%ROWTYPE;
    fk record;
    referenced boolean;
BEGIN
    IF auth_email IS NULL OR position('@' in auth_email) < 2 THEN
        RETURN;  -- phone-only or anonymous: no users row (the API refuses such tokens too)
    END IF;
    auth_name := left(auth_name, 255);

    IF EXISTS (SELECT 1 FROM users WHERE id = auth_id) THEN
        -- Keep it in step. An e-mail another account has fails here (users_email_key), and so does
        -- the e-mail change in Supabase Auth: two accounts never share an e-mail.
        UPDATE users
        SET email = auth_email,
            full_name = CASE WHEN rename AND auth_name IS NOT NULL THEN auth_name ELSE full_name END
        WHERE id = auth_id
          AND (email IS DISTINCT FROM auth_email
               OR (rename AND auth_name IS NOT NULL AND full_name IS DISTINCT FROM auth_name));
        RETURN;
    END IF;

    SELECT * INTO taken FROM users WHERE email = auth_email FOR UPDATE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM auth.users au WHERE lower(au.email) = auth_email AND au.id <> auth_id) THEN
            RETURN;  -- SSO identities may share an e-mail: none of them gets it in users
        END IF;
        INSERT INTO users (id, email, full_name, hashed_password)
        VALUES (auth_id, auth_email, coalesce(auth_name, ''), '!' || md5(random()::text || clock_timestamp()::text))
        ON CONFLICT DO NOTHING;  -- a concurrent first API request of this user made it
        RETURN;
    END IF;

    -- The e-mail is an account's already. Link (give that account this identity's id) only if
    -- the identity proved it owns the mailbox, the account is an ordinary API account that no
    -- other Supabase identity owns, and nothing refers to it: the ledger and the audit trail
    -- are never rewritten. Otherwise leave both alone: the identity has no users row, and the
    -- API refuses its token with "This e-mail already belongs to another account".
    IF NOT vouched
       OR taken.is_staff OR taken.is_superuser OR NOT taken.is_active
       OR taken.hashed_password = '' OR taken.hashed_password LIKE '!%'
       OR EXISTS (SELECT 1 FROM auth.users au WHERE au.id = taken.id)
       OR EXISTS (SELECT 1 FROM auth.users au WHERE lower(au.email) = auth_email AND au.id <> auth_id) THEN
        RETURN;
    END IF;
    FOR fk IN
        SELECT c.conrelid::regclass AS referrer, a.attname AS column_name
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = $1)', fk.referrer, fk.column_name)
            INTO referenced USING taken.id;
        IF referenced THEN
            RETURN;
        END IF;
    END LOOP;
    -- The API password was set by whoever registered the e-mail, never proven to own it: it
    -- stops working (Django's unusable-password mark), as do that account's API tokens.
    UPDATE users
    SET id = auth_id,
        hashed_password = '!' || md5(random()::text || clock_timestamp()::text),
        full_name = coalesce(auth_name, full_name)
    WHERE id = taken.id;
    INSERT INTO escrow_events (actor_kind, action, from_state, to_state, data)
    VALUES ('system', 'user_link_supabase', '', '',
            jsonb_build_object('user', auth_id, 'previous_id', taken.id, 'email', auth_email));
END
$fn$
"""

# After a write to auth.users by Supabase Auth. Proof of the mailbox: an OAuth or SSO provider
# vouched for the e-mail, or the e-mail was confirmed (link or code) in a later transaction than
# the sign-up. Supabase Auth confirms inside the sign-up's own transaction when "Confirm email"
# is off or an admin creates the user confirmed: no proof, so the sign-up's transaction notes
# its new ids in a transaction-local setting.
AUTH_USERS_SYNC = r"""
CREATE FUNCTION escrow_auth_users_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
DECLARE
    meta jsonb := coalesce(NEW.raw_user_meta_data, '{}');
    old_meta jsonb := '{}';
    signed_up_now text := coalesce(current_setting('escrow.auth_sign_ups', true), '');
    provider text := coalesce(NEW.raw_app_meta_data ->> 'provider', 'email');
    vouched boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        signed_up_now := signed_up_now || NEW.id::text || ',';
        PERFORM set_config('escrow.auth_sign_ups', signed_up_now, true);
    ELSE
        old_meta := coalesce(OLD.raw_user_meta_data, '{}');
    END IF;
    IF coalesce((to_jsonb(NEW) ->> 'is_anonymous')::boolean, false) THEN
        RETURN NULL;
    END IF;
    vouched := NEW.email_confirmed_at IS NOT NULL AND (
        provider NOT IN ('email', 'phone', 'anonymous')
        OR (TG_OP = 'UPDATE' AND OLD.email_confirmed_at IS NULL AND position(NEW.id::text in signed_up_now) = 0)
    );
    PERFORM escrow_auth_user_sync(
        NEW.id,
        lower(btrim(NEW.email)),
        nullif(btrim(coalesce(meta ->> 'full_name', meta ->> 'name', '')), ''),
        TG_OP = 'INSERT'
            OR (meta ->> 'full_name', meta ->> 'name') IS DISTINCT FROM (old_meta ->> 'full_name', old_meta ->> 'name'),
        vouched
    );
    RETURN NULL;
END
$fn$
"""

# Only the columns the rules read (is_anonymous since Supabase Auth 2024: only where it exists).
AUTH_USERS_TRIGGER = """
DO $trigger$
DECLARE
    watched text;
BEGIN
    IF to_regclass('auth.users') IS NULL THEN
        RETURN;
    END IF;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO watched
    FROM pg_attribute
    WHERE attrelid = 'auth.users'::regclass AND NOT attisdropped
      AND attname IN ('email', 'email_confirmed_at', 'raw_user_meta_data', 'raw_app_meta_data', 'is_anonymous');
    EXECUTE format(
        'CREATE TRIGGER escrow_sync_users AFTER INSERT OR UPDATE OF %s ON auth.users'
        ' FOR EACH ROW EXECUTE FUNCTION %I.escrow_auth_users_sync()',
        watched, current_schema()
    );
END
$trigger$
"""

# Dropping a trigger takes ownership of its table, which Supabase's postgres does not have on
# auth.users (only TRIGGER, enough to create one). Dropping our own function with CASCADE drops
# the one object that depends on it, this trigger, and needs ownership of the function only.
DROP_AUTH_USERS_TRIGGER = "DROP FUNCTION IF EXISTS escrow_auth_users_sync() CASCADE"

# The reverse: an e-mail that a Supabase identity has cannot be another account's, whoever
# writes it (API registration, the admin). Its own identity's row may have it, of course.
USERS_GUARD = r"""
CREATE FUNCTION escrow_users_guard_supabase_email() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.email = OLD.email AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM auth.users au WHERE lower(au.email) = NEW.email AND au.id <> NEW.id) THEN
        RAISE EXCEPTION 'this e-mail belongs to another account (a Supabase Auth user)'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'users_email_supabase_identity';
    END IF;
    RETURN NEW;
END
$fn$
"""

USERS_GUARD_TRIGGER = (
    "CREATE TRIGGER users_guard_supabase_email BEFORE INSERT OR UPDATE OF id, email ON @schema@.users"
    " FOR EACH ROW EXECUTE FUNCTION @schema@.escrow_users_guard_supabase_email()"
)

# Supabase users who signed up before this migration: their rows, e-mails in step. Names are
# left as they are, and an e-mail another account has is reported, not forced.
BACKFILL = """
DO $backfill$
DECLARE
    au record;
BEGIN
    IF to_regclass('auth.users') IS NULL THEN
        RETURN;
    END IF;
    FOR au IN
        SELECT u.id, u.email, u.email_confirmed_at, u.raw_user_meta_data AS meta,
               coalesce(u.raw_app_meta_data ->> 'provider', 'email') AS provider,
               coalesce((to_jsonb(u) ->> 'is_anonymous')::boolean, false) AS anonymous
        FROM auth.users u
        ORDER BY u.created_at NULLS FIRST, u.id
    LOOP
        CONTINUE WHEN au.anonymous;
        BEGIN
            PERFORM escrow_auth_user_sync(
                au.id, lower(btrim(au.email)),
                nullif(btrim(coalesce(au.meta ->> 'full_name', au.meta ->> 'name', '')), ''),
                false,
                au.email_confirmed_at IS NOT NULL AND au.provider NOT IN ('email', 'phone', 'anonymous')
            );
        EXCEPTION WHEN unique_violation THEN
            RAISE WARNING 'users row of Supabase user % left as it is: %', au.id, SQLERRM;
        END;
    END LOOP;
END
$backfill$
"""


def auth_link_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(sql=where_supabase_auth(AUTH_USER_SYNC), reverse_sql=drop("escrow_auth_user_sync")),
        *lock_down("escrow_auth_user_sync"),
        migrations.RunSQL(sql=where_supabase_auth(AUTH_USERS_SYNC), reverse_sql=drop("escrow_auth_users_sync")),
        *lock_down("escrow_auth_users_sync"),
        migrations.RunSQL(sql=where_supabase_auth(USERS_GUARD), reverse_sql=drop("escrow_users_guard_supabase_email")),
        *lock_down("escrow_users_guard_supabase_email"),
        migrations.RunSQL(
            sql=where_supabase_auth(USERS_GUARD_TRIGGER),
            reverse_sql="DROP TRIGGER IF EXISTS users_guard_supabase_email ON users",
        ),
        migrations.RunSQL(sql=BACKFILL, reverse_sql=migrations.RunSQL.noop),  # rows are data: they stay
        migrations.RunSQL(sql=AUTH_USERS_TRIGGER, reverse_sql=DROP_AUTH_USERS_TRIGGER),
    ]


# --- 2. Default privileges: record what the hardening changes, give it back on reverse -----------

RECORD_TABLE = "escrow_found_default_privileges"

CREATE_RECORD = f"""
CREATE TABLE {RECORD_TABLE} (
    role_name text NOT NULL,
    schema_name text NOT NULL,
    object_type "char" NOT NULL,
    acl aclitem[],  -- null: no entry, PostgreSQL's built-in defaults
    PRIMARY KEY (role_name, schema_name, object_type)
)
"""

# What the hardening touches: the migrating role's defaults for tables and sequences in this schema.
RECORD = f"""
INSERT INTO {RECORD_TABLE} (role_name, schema_name, object_type, acl)
SELECT current_user, current_schema(), t.object_type, d.defaclacl
FROM (VALUES ('r'::"char"), ('S'::"char")) AS t (object_type)
LEFT JOIN pg_default_acl d
  ON d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
 AND d.defaclnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
 AND d.defaclobjtype = t.object_type
"""

# The hardening only revokes from anon and authenticated: take theirs to nothing, then grant
# each privilege the record shows them (PostgreSQL drops the entry when it equals the built-in
# defaults, so "no entry" comes back as no entry).
RESTORE = f"""
DO $restore$
DECLARE
    found record;
    item record;
    objects text;
BEGIN
    IF to_regclass('{RECORD_TABLE}') IS NULL THEN
        RETURN;
    END IF;
    FOR found IN SELECT * FROM {RECORD_TABLE} LOOP
        objects := CASE found.object_type WHEN 'r' THEN 'TABLES' ELSE 'SEQUENCES' END;
        FOR item IN SELECT rolname FROM pg_roles WHERE rolname IN ('anon', 'authenticated') LOOP
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I REVOKE ALL ON %s FROM %I',
                           found.role_name, found.schema_name, objects, item.rolname);
        END LOOP;
        FOR item IN
            SELECT pg_get_userbyid(a.grantee) AS grantee, a.privilege_type, a.is_grantable
            FROM aclexplode(found.acl) a
            WHERE coalesce(cardinality(found.acl), 0) > 0  -- aclexplode refuses an empty array
              AND a.grantee <> 0 AND pg_get_userbyid(a.grantee) IN ('anon', 'authenticated')
        LOOP
            EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT %s ON %s TO %I%s',
                           found.role_name, found.schema_name, item.privilege_type, objects, item.grantee,
                           CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$restore$
"""


def default_privileges_operations() -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(sql=CREATE_RECORD, reverse_sql=f"DROP TABLE {RECORD_TABLE}"),
        migrations.RunSQL(sql=f"ALTER TABLE {RECORD_TABLE} ENABLE ROW LEVEL SECURITY",
                          reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql=f"REVOKE ALL ON {RECORD_TABLE} FROM PUBLIC, anon, authenticated",
                          reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql=RECORD, reverse_sql=RESTORE),
    ]


class Migration(migrations.Migration):
    dependencies = [("escrow", "0012_active_users_public_profiles")]

    operations = [
        *default_privileges_operations(),
        *auth_link_operations(),
    ]
