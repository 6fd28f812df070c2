"""Helpers for tests that need a database of their own, migrated by ``manage.py`` as a user would."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


class Server:
    """The PostgreSQL server the suite runs on, reached as its superuser."""

    def __init__(self, config: dict):
        self.host, self.port = config["HOST"], config["PORT"] or 5432
        self.user, self.password = config["USER"], config.get("PASSWORD") or ""

    def connect(self, dbname: str = "postgres", user: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=user or self.user, password=self.password,
            dbname=dbname, autocommit=True,
        )

    def url(self, dbname: str, user: str | None = None) -> str:
        auth = quote(user or self.user) + (f":{quote(self.password)}" if self.password and not user else "")
        return f"postgres://{auth}@{quote(str(self.host), safe='')}:{self.port}/{dbname}"

    def manage(self, database_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        """Run manage.py with production-like settings against ``database_url``."""
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "localhost",
            **extra_env,
        }
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="session")
def server() -> Server:
    return Server(settings.DATABASES["default"])


@pytest.fixture
def fresh_database(server) -> Iterator[str]:
    """An empty database on the same server, dropped afterwards."""
    name = f"amani_fresh_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(f'create database "{name}"')
    yield name
    with server.connect() as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


# --- A database built like a Supabase project -----------------------------------------------------
# From Supabase's own SQL: supabase/postgres (migrations/db/init-scripts/00000000000000-initial-schema.sql,
# 00000000000001-auth-schema.sql, migrations/10000000000000_demote-postgres.sql,
# 20211115181400_update-auth-permissions.sql, 20240627101908_revoke_supabase_auth_admin_from_postgres.sql)
# and supabase/auth (migrations/*.up.sql). Role names carry a suffix: roles are shared by the server.

SUPABASE_UID = """
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$
"""

# auth.users as supabase/auth's migrations leave it: 00_init_auth_schema, then alter_users (phone,
# confirmed_at renamed email_confirmed_at), adds_confirmed_at, add_email_change_confirmed
# (email_change_token renamed email_change_token_new), add_banned_until, add_user_reauthentication,
# add_unique_idx, modify_users_email_unique_index (is_sso_user, partial unique e-mail),
# alter_phone_type, add_deleted_at, add_is_anonymous_column, update_user_idx,
# enable_rls_update_grants. GoTrue stores e-mails lower-case.
AUTH_USERS = [
    """
    create table auth.users (
        instance_id uuid null,
        id uuid not null unique,
        aud varchar(255) null,
        "role" varchar(255) null,
        email varchar(255) null,
        encrypted_password varchar(255) null,
        email_confirmed_at timestamptz null,
        invited_at timestamptz null,
        confirmation_token varchar(255) null,
        confirmation_sent_at timestamptz null,
        recovery_token varchar(255) null,
        recovery_sent_at timestamptz null,
        email_change_token_new varchar(255) null,
        email_change varchar(255) null,
        email_change_sent_at timestamptz null,
        last_sign_in_at timestamptz null,
        raw_app_meta_data jsonb null,
        raw_user_meta_data jsonb null,
        is_super_admin bool null,
        created_at timestamptz null,
        updated_at timestamptz null,
        phone text null unique default null,
        phone_confirmed_at timestamptz null default null,
        phone_change text null default '',
        phone_change_token varchar(255) null default '',
        phone_change_sent_at timestamptz null default null,
        confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
        email_change_token_current varchar(255) null default '',
        email_change_confirm_status smallint default 0
            check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
        banned_until timestamptz null,
        reauthentication_token varchar(255) null default '',
        reauthentication_sent_at timestamptz null default null,
        is_sso_user boolean not null default false,
        deleted_at timestamptz null,
        is_anonymous boolean not null default false,
        constraint users_pkey primary key (id)
    )
    """,
    "create index users_instance_id_email_idx on auth.users using btree (instance_id, lower(email))",
    "create index users_instance_id_idx on auth.users using btree (instance_id)",
    "create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false)",
    "create index users_is_anonymous_idx on auth.users using btree (is_anonymous)",
    "create unique index confirmation_token_idx on auth.users using btree (confirmation_token)"
    " where confirmation_token !~ '^[0-9 ]*$'",
    "alter table auth.users enable row level security",
]


@dataclass
class SupabaseProject:
    database: str
    role: str  # the demoted ``postgres``: CREATEROLE, BYPASSRLS, not a superuser; migrates
    auth_admin: str  # ``supabase_auth_admin``: owns auth.users, what GoTrue connects as
    uid_oid: int

    def as_auth(self, server: Server) -> psycopg.Connection:
        """A connection as Supabase Auth (GoTrue) has: to sign users up, confirm and change them."""
        return server.connect(self.database, user=self.auth_admin)


def build_supabase_project(server: Server, database: str) -> SupabaseProject:
    suffix = secrets.token_hex(3)
    role, auth_admin = f"supabase_postgres_{suffix}", f"supabase_auth_admin_{suffix}"
    with server.connect() as conn:
        for name in ("anon", "authenticated", "service_role"):
            if not conn.execute("select 1 from pg_roles where rolname = %s", [name]).fetchone():
                conn.execute(f"create role {name} nologin noinherit")
        conn.execute(f"create role {role} login createrole bypassrls nosuperuser")
        conn.execute(f"grant anon, authenticated, service_role to {role} with admin option")
        conn.execute(f"create role {auth_admin} login noinherit createrole")
        conn.execute(f'alter database "{database}" owner to {role}')
    with server.connect(database) as conn:
        conn.execute(f"create schema auth authorization {auth_admin}")
        conn.execute(SUPABASE_UID)
        conn.execute(f"alter function auth.uid() owner to {auth_admin}")
        conn.execute("comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.'")
        conn.execute("grant usage on schema auth to anon, authenticated, service_role")
        for statement in AUTH_USERS:
            conn.execute(statement)
        conn.execute(f"alter table auth.users owner to {auth_admin}")
        # postgres: usage (not create) on auth, all on its tables (so it may add triggers to them).
        conn.execute(f"grant usage on schema auth to {role}")
        conn.execute(f"grant all on auth.users to {role}")
        conn.execute(f"grant select on auth.users to {role} with grant option")
        # As Supabase does: every table, sequence and function the postgres role creates in public
        # is granted to the client roles.
        for objects in ("tables", "sequences", "functions"):
            conn.execute(
                f"alter default privileges for role {role} in schema public"
                f" grant all on {objects} to anon, authenticated, service_role"
            )
        uid_oid = conn.execute("select to_regprocedure('auth.uid()')::oid").fetchone()[0]
    return SupabaseProject(database, role, auth_admin, uid_oid)


def drop_supabase_project(server: Server, project: SupabaseProject) -> None:
    with server.connect() as conn:
        conn.execute(f'drop database if exists "{project.database}" with (force)')
        conn.execute(f"drop role if exists {project.role}")
        conn.execute(f"drop role if exists {project.auth_admin}")


@pytest.fixture
def supabase_project(server, fresh_database) -> Iterator[SupabaseProject]:
    """A database shaped like a Supabase project (not migrated yet)."""
    project = build_supabase_project(server, fresh_database)
    yield project
    drop_supabase_project(server, project)


@pytest.fixture
def supabase_database(supabase_project):
    project = supabase_project
    return project.database, project.role, project.uid_oid
