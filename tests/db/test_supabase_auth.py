"""Supabase Auth and ``users`` on a database built from Supabase's own SQL (see conftest.py).

Each test acts as Supabase Auth (GoTrue) does: it connects as the role that owns ``auth.users``
and runs the statements GoTrue runs to sign a user up, confirm an e-mail or change it (an
auto-confirmed or OAuth sign-up confirms in the sign-up's own transaction; a confirmation link
or code does it later, in a transaction of its own). Migration 0012 must keep ``users`` in step.
"""

import json
import secrets
import time
import uuid

import jwt
import psycopg
import pytest

from tests.db.conftest import build_supabase_project, drop_supabase_project

API_PASSWORD = "pbkdf2_sha256$1000000$somesalt$c29tZWhhc2hvZmFwYXNzd29yZA=="  # an API account's usable hash
SUPABASE_SECRET = "legacy-supabase-jwt-secret-for-tests-only-0123456789"
SUPABASE_URL = "http://supabase.invalid"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(server):
    """One migrated Supabase-shaped database for this module's scenarios (each uses its own e-mails)."""
    name = f"amani_supabase_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(f'create database "{name}"')
    project = build_supabase_project(server, name)
    server.manage(server.url(name, user=project.role), "migrate", "--noinput")
    yield project
    drop_supabase_project(server, project)


@pytest.fixture
def owner(server, project):
    """The migrating role (Supabase's ``postgres``): owns ``users``, bypasses RLS."""
    with server.connect(project.database, user=project.role) as conn:
        yield conn


@pytest.fixture
def gotrue(server, project):
    with project.as_auth(server) as conn:
        yield conn


def email() -> str:
    return f"someone.{secrets.token_hex(4)}@example.com"


def sign_up(gotrue: psycopg.Connection, address: str, *, name: str | None = None, provider: str = "email",
            confirm_now: bool = False) -> str:
    """GoTrue's sign-up: insert the user; auto-confirm and OAuth confirm in the same transaction."""
    auth_id = str(uuid.uuid4())
    with gotrue.transaction():
        gotrue.execute(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data,"
            " raw_user_meta_data, confirmation_sent_at, created_at, updated_at)"
            " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, '',"
            " %s, %s, now(), now(), now())",
            [auth_id, address, json.dumps({"provider": provider, "providers": [provider]}),
             json.dumps({"full_name": name} if name else {})],
        )
        if confirm_now:
            confirm(gotrue, auth_id)
    return auth_id


def confirm(gotrue: psycopg.Connection, auth_id: str) -> None:
    """GoTrue's User.Confirm: a confirmation link or code (in its own transaction unless nested)."""
    with gotrue.transaction():
        gotrue.execute("update auth.users set confirmation_token = '', email_confirmed_at = now() where id = %s",
                       [auth_id])
        gotrue.execute("update auth.users set raw_user_meta_data = raw_user_meta_data || '{\"email_verified\": true}'"
                       " where id = %s", [auth_id])


def api_account(owner: psycopg.Connection, address: str, **columns) -> str:
    """A users row as ``user_register`` writes it: a random id and a usable password."""
    account = str(uuid.uuid4())
    fields = {"id": account, "email": address, "full_name": "API user", "hashed_password": API_PASSWORD, **columns}
    owner.execute(
        f"insert into users ({', '.join(fields)}) values ({', '.join(['%s'] * len(fields))})", list(fields.values())
    )
    return account


def row(owner: psycopg.Connection, account: str) -> dict | None:
    cursor = owner.execute(
        "select id::text, email, full_name, hashed_password, is_staff, is_superuser, is_verified, updated_at"
        " from users where id = %s", [account]
    )
    found = cursor.fetchone()
    return dict(zip([c.name for c in cursor.description], found, strict=True)) if found else None


def rows_with(owner: psycopg.Connection, address: str) -> list[str]:
    return [r[0] for r in owner.execute("select id::text from users where email = %s", [address]).fetchall()]


def through_postgrest(server, project, auth_id: str) -> list[tuple]:
    """What the user reads from ``users`` through PostgREST: role authenticated, their JWT's claims."""
    with server.connect(project.database, user=project.role) as conn, conn.transaction():
        conn.execute("select set_config('role', 'authenticated', true),"
                     " set_config('request.jwt.claims', %s, true)", [json.dumps({"sub": auth_id, "role": "authenticated"})])
        return conn.execute("select id::text, email, full_name from users").fetchall()


def link_events(owner: psycopg.Connection, auth_id: str) -> list[dict]:
    return [r[0] for r in owner.execute(
        "select data from escrow_events where action = 'user_link_supabase' and data ->> 'user' = %s", [auth_id]
    ).fetchall()]


# --- A Supabase sign-up has its users row at once, and changes reach it ------------------------

def test_a_supabase_sign_up_has_its_users_row_at_once(server, project, owner, gotrue):
    address = email()
    auth_id = sign_up(gotrue, address, name="Ada Obi")

    account = row(owner, auth_id)
    assert account is not None and account["email"] == address and account["full_name"] == "Ada Obi"
    assert account["hashed_password"].startswith("!")  # Django's unusable password: Supabase logs them in
    assert not (account["is_staff"] or account["is_superuser"] or account["is_verified"])
    # Before any API call, the user sees their own row through PostgREST.
    assert through_postgrest(server, project, auth_id) == [(auth_id, address, "Ada Obi")]


def test_e_mail_and_name_changes_reach_users(owner, gotrue):
    auth_id = sign_up(gotrue, email(), name="Before")
    owner.execute("update users set bio = 'kept' where id = %s", [auth_id])
    untouched = row(owner, auth_id)["updated_at"]
    gotrue.execute("update auth.users set last_sign_in_at = now() where id = %s", [auth_id])
    assert row(owner, auth_id)["updated_at"] == untouched  # nothing of ours changed: no write

    changed = email()
    gotrue.execute("update auth.users set email = %s, email_change = '' where id = %s", [changed, auth_id])
    gotrue.execute("update auth.users set raw_user_meta_data = '{\"full_name\": \"After\"}' where id = %s", [auth_id])
    account = row(owner, auth_id)
    assert (account["email"], account["full_name"]) == (changed, "After")
    assert owner.execute("select bio from users where id = %s", [auth_id]).fetchone()[0] == "kept"


def test_a_name_edited_in_amani_is_kept_until_supabase_metadata_changes_it(owner, gotrue):
    auth_id = sign_up(gotrue, email(), name="From Supabase")
    owner.execute("update users set full_name = 'Edited in Amani' where id = %s", [auth_id])
    confirm(gotrue, auth_id)  # rewrites raw_user_meta_data, but not its name
    assert row(owner, auth_id)["full_name"] == "Edited in Amani"


def test_users_without_an_e_mail_get_no_row_until_they_have_one(owner, gotrue):
    anonymous = str(uuid.uuid4())
    gotrue.execute("insert into auth.users (id, aud, role, is_anonymous, raw_app_meta_data, created_at)"
                   " values (%s, 'authenticated', 'authenticated', true, '{}', now())", [anonymous])
    assert row(owner, anonymous) is None
    address = email()
    gotrue.execute("update auth.users set email = %s, is_anonymous = false where id = %s", [address, anonymous])
    assert row(owner, anonymous)["email"] == address


# --- An e-mail first registered through the API ------------------------------------------------

def test_an_api_account_is_linked_once_supabase_confirms_the_e_mail(server, project, owner, gotrue):
    address = email()
    api_id = api_account(owner, address)

    auth_id = sign_up(gotrue, address, name="Supabase Name")  # not confirmed yet: anyone can type an e-mail
    assert row(owner, auth_id) is None
    assert row(owner, api_id)["hashed_password"] == API_PASSWORD  # the API account is untouched
    assert link_events(owner, auth_id) == []

    confirm(gotrue, auth_id)  # the owner of the mailbox clicked the link
    assert row(owner, api_id) is None
    linked = row(owner, auth_id)
    assert linked["email"] == address and linked["full_name"] == "Supabase Name"
    # The API password was never proven to belong to the mailbox's owner: it no longer logs in.
    assert linked["hashed_password"].startswith("!")
    assert rows_with(owner, address) == [auth_id]
    assert link_events(owner, auth_id) == [{"user": auth_id, "previous_id": api_id, "email": address}]
    assert through_postgrest(server, project, auth_id) == [(auth_id, address, "Supabase Name")]


def test_an_api_account_that_logged_in_is_linked_and_its_refresh_tokens_end(owner, gotrue):
    """A login's refresh token does not count as history (no foreign key, migration 0018): the
    link happens, and since it makes the API password unusable, the API sessions end with it."""
    address = email()
    api_id = api_account(owner, address)
    jti = str(uuid.uuid4())
    owner.execute("insert into refresh_tokens (jti, family, user_id, expires_at)"
                  " values (%s, gen_random_uuid(), %s, now() + interval '7 days')", [jti, api_id])

    auth_id = sign_up(gotrue, address)
    confirm(gotrue, auth_id)

    assert rows_with(owner, address) == [auth_id] and row(owner, api_id) is None
    assert owner.execute("select revoked_reason from refresh_tokens where jti = %s",
                         [jti]).fetchone() == ("password_changed",)


def test_an_auto_confirmed_sign_up_does_not_take_over_an_api_account(owner, gotrue):
    """With "Confirm email" off, GoTrue confirms in the sign-up's transaction: no proof of the mailbox."""
    address = email()
    api_id = api_account(owner, address)
    auth_id = sign_up(gotrue, address, confirm_now=True)
    gotrue.execute("update auth.users set raw_user_meta_data = '{\"full_name\": \"x\"}' where id = %s", [auth_id])

    assert row(owner, auth_id) is None
    assert row(owner, api_id)["hashed_password"] == API_PASSWORD
    assert rows_with(owner, address) == [api_id] and link_events(owner, auth_id) == []


def test_an_oauth_sign_up_with_a_verified_e_mail_is_linked(owner, gotrue):
    address = email()
    api_id = api_account(owner, address)
    auth_id = sign_up(gotrue, address, provider="google", confirm_now=True)
    assert rows_with(owner, address) == [auth_id] and row(owner, api_id) is None


@pytest.mark.parametrize("kind", ["has_history", "staff", "inactive", "no_password"])
def test_accounts_with_history_or_privileges_are_never_re_keyed(owner, gotrue, kind):
    address = email()
    columns = {"staff": {"is_staff": True}, "inactive": {"is_active": False},
               "no_password": {"hashed_password": "!unusable"}}.get(kind, {})
    api_id = api_account(owner, address, **columns)
    if kind == "has_history":  # anything that references the account (here its audit trail)
        owner.execute("insert into escrow_events (actor_id, actor_kind, action, from_state, to_state, data)"
                      " values (%s, 'user', 'user_register', '', '', '{}')", [api_id])
    before = row(owner, api_id)

    auth_id = sign_up(gotrue, address)
    confirm(gotrue, auth_id)

    assert row(owner, api_id) == before and row(owner, auth_id) is None
    assert link_events(owner, auth_id) == []


def test_an_e_mail_change_to_an_address_of_another_account_fails(owner, gotrue):
    taken = email()
    api_account(owner, taken)
    auth_id = sign_up(gotrue, email())
    with pytest.raises(psycopg.errors.UniqueViolation) as refused:
        gotrue.execute("update auth.users set email = %s where id = %s", [taken, auth_id])
    assert refused.value.diag.constraint_name == "users_email_key"
    assert gotrue.execute("select email from auth.users where id = %s", [auth_id]).fetchone()[0] != taken
    assert rows_with(owner, taken) != [auth_id]


# --- The reverse: an e-mail that Supabase Auth already has -------------------------------------

def supabase_identity_without_row(owner, gotrue) -> tuple[str, str]:
    """A Supabase identity whose users row is gone (an operator deleted it)."""
    address = email()
    auth_id = sign_up(gotrue, address)
    owner.execute("delete from users where id = %s", [auth_id])
    return auth_id, address


def last_line(result) -> str:
    return result.stdout.strip().splitlines()[-1]


REGISTER = """
from escrow.errors import InvalidInput
from escrow.services import user_register
try:
    user_register(email={address!r}, password="a long enough passphrase 42", full_name="Someone")
    print("registered")
except InvalidInput as error:
    print("refused", error.field)
"""


def test_api_registration_of_an_e_mail_supabase_has_is_refused(server, project, owner, gotrue):
    auth_id, address = supabase_identity_without_row(owner, gotrue)
    url = server.url(project.database, user=project.role)

    assert last_line(server.manage(url, "shell", "-c", REGISTER.format(address=address))) == "refused email"
    assert rows_with(owner, address) == []
    # The rule is the database's, whoever writes.
    with pytest.raises(psycopg.errors.UniqueViolation) as refused:
        api_account(owner, address)
    assert refused.value.diag.constraint_name == "users_email_supabase_identity"
    # A new e-mail registers as before.
    other = email()
    assert last_line(server.manage(url, "shell", "-c", REGISTER.format(address=other))) == "registered"
    assert len(rows_with(owner, other)) == 1


ME = """
from django.test import Client
response = Client(HTTP_HOST="localhost").get("/api/v1/users/me/", HTTP_AUTHORIZATION="Bearer {token}")
print(response.status_code, response.json().get("id") or response.json())
"""


def supabase_token(auth_id: str, address: str) -> str:
    now = int(time.time())
    claims = {"sub": auth_id, "aud": "authenticated", "role": "authenticated", "iss": f"{SUPABASE_URL}/auth/v1",
              "iat": now, "exp": now + 600, "email": address, "user_metadata": {"full_name": "Token Name"}}
    return jwt.encode(claims, SUPABASE_SECRET, algorithm="HS256")


def test_the_api_token_path_agrees_with_the_trigger(server, project, owner, gotrue):
    url = server.url(project.database, user=project.role)
    env = {"SUPABASE_URL": SUPABASE_URL, "SUPABASE_JWT_SECRET": SUPABASE_SECRET}

    # The trigger made the row: the API finds it, writes nothing.
    address = email()
    auth_id = sign_up(gotrue, address, name="Trigger Name")
    shown = last_line(server.manage(url, "shell", "-c", ME.format(token=supabase_token(auth_id, address)), **env))
    assert shown == f"200 {auth_id}"
    assert rows_with(owner, address) == [auth_id] and row(owner, auth_id)["full_name"] == "Trigger Name"

    # Not linked (unconfirmed) to the API account that has the e-mail: a 401 naming the reason, no crash.
    taken = email()
    api_id = api_account(owner, taken)
    unlinked = sign_up(gotrue, taken)
    shown = last_line(server.manage(url, "shell", "-c", ME.format(token=supabase_token(unlinked, taken)), **env))
    assert shown.startswith("401") and "another account" in shown
    assert rows_with(owner, taken) == [api_id]


# --- What 0012 creates ------------------------------------------------------------------------

def test_functions_have_a_fixed_search_path_and_clients_cannot_call_them(owner, project):
    functions = owner.execute(
        "select p.proname, p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig,"
        " has_function_privilege('anon', p.oid, 'EXECUTE'), has_function_privilege('authenticated', p.oid, 'EXECUTE')"
        " from pg_proc p where p.proname like 'escrow\\_auth\\_%%' or p.proname like 'escrow\\_users\\_guard%%'"
        " order by 1"
    ).fetchall()
    assert {f[0] for f in functions} == {"escrow_auth_user_sync", "escrow_auth_users_sync",
                                         "escrow_users_guard_supabase_email"}
    for name, _, owner_name, config, anon, authenticated in functions:
        assert owner_name == project.role, name  # the non-superuser that owns users
        assert any(c.startswith("search_path=") for c in config or []), name
        assert not anon and not authenticated, name
    definers = {f[0] for f in functions if f[1]}
    assert definers == {"escrow_auth_users_sync", "escrow_users_guard_supabase_email"}
    trigger = owner.execute(
        "select tgenabled from pg_trigger where tgrelid = 'auth.users'::regclass and tgname = 'escrow_sync_users'"
    ).fetchone()
    assert trigger == ("O",)
