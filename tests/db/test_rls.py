"""Every cell of the DESIGN §5 RLS matrix, for each kind of caller, as PostgREST would run it.

Each case runs one SQL statement in a transaction switched to ``anon`` or ``authenticated`` with
transaction-local JWT claims (``escrow.db.rls.as_role``). The expectation is a row count (rows
seen, or rows written), ``DENIED`` (no privilege: the grant is missing), ``POLICY`` (the row
violates a policy's WITH CHECK) or ``READ_ONLY`` (a write to the view ``public_profiles``). A
write that is refused or touches no row must leave all four tables exactly as they were; a write
that is allowed must change them.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from escrow.db.rls import as_role
from escrow.models import ActorKind, EscrowEvent, ProjectStatus, TransactionStatus, TransactionType, User
from tests.factories import MilestoneFactory, ProjectFactory, TransactionFactory, UserFactory

DENIED = "permission denied"
POLICY = "row-level security policy"
PROFILES_OF = "escrow_private.public_profiles_of(array['{B}', '{S}', '{X}']::uuid[])"
READ_ONLY = 'view "public_profiles"'  # not updatable: refused before any privilege is checked
SQLSTATES = {DENIED: "42501", POLICY: "42501", READ_ONLY: "55000"}  # insufficient_privilege; not in prerequisite state


@dataclass
class World:
    ids: dict[str, str]


@pytest.fixture
def world(db) -> World:
    buyer, seller, stranger = UserFactory(), UserFactory(), UserFactory()
    draft = ProjectFactory(buyer=buyer, seller=seller, creator=buyer)
    milestone = MilestoneFactory(project=draft, order_index=0)
    active = ProjectFactory(
        buyer=buyer, seller=seller, creator=buyer, status=ProjectStatus.ACTIVE, terms_accepted_at=timezone.now()
    )
    active_milestone = MilestoneFactory(project=active, order_index=0, amount=active.total_amount)
    deposit = TransactionFactory(project=draft, user=buyer)
    hold = TransactionFactory(
        project=active,
        user=buyer,
        transaction_type=TransactionType.ESCROW_HOLD,
        status=TransactionStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    own_deposit = TransactionFactory(project=None, user=stranger, amount=Decimal("5.00"), currency="USD")
    EscrowEvent.objects.create(actor=buyer, actor_kind=ActorKind.USER, action="propose", project=active,
                               from_state=ProjectStatus.DRAFT, to_state=ProjectStatus.PENDING)
    return World(
        ids={
            "B": str(buyer.id),
            "S": str(seller.id),
            "X": str(stranger.id),
            "P": str(draft.id),
            "A": str(active.id),
            "M": str(milestone.id),
            "MA": str(active_milestone.id),
            "TB": str(deposit.id),
            "TA": str(hold.id),
            "TX": str(own_deposit.id),
        }
    )


# Callers: the project's creator (its buyer), the counterparty (seller), a stranger, the anon
# role, and the authenticated role with no token (no sub claim).
CALLERS = {
    "creator": ("authenticated", "B"),
    "counterparty": ("authenticated", "S"),
    "stranger": ("authenticated", "X"),
    "anon": ("anon", None),
    "no_token": ("authenticated", None),
}

NEW_PROJECT = "insert into projects (title, total_amount, creator_id, buyer_id, seller_id, status) values "
NEW_MILESTONE = "insert into milestones (project_id, title, amount, order_index) values "
NEW_TX = "insert into transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount) values "

CASES = [
    # --- users: read own row and co-parties' public columns; update own profile columns only ---
    ("users read own", "creator", "select id from users where id = '{B}'", 1),
    # A counterparty's row is not readable at all: phone, bio and flags are the owner's (issue 10).
    ("users read counterparty", "creator", "select id from users where id = '{S}'", 0),
    ("users read counterparty from seller side", "counterparty", "select id from users where id = '{B}'", 0),
    (
        "users read counterparty's private columns",
        "creator",
        "select phone_number, bio, is_verified, is_active from users where id = '{S}'",
        0,
    ),
    ("users read own private columns", "creator", "select phone_number, bio, is_verified from users where id = '{B}'", 1),
    ("users stranger reads a party", "stranger", "select id from users where id = '{B}'", 0),
    ("users stranger reads all", "stranger", "select id from users", 1),
    ("users no token reads all", "no_token", "select id from users", 0),
    ("users anon reads", "anon", "select id from users", DENIED),
    ("users hashed_password own row", "creator", "select hashed_password from users where id = '{B}'", DENIED),
    ("users hashed_password counterparty", "creator", "select hashed_password from users where id = '{S}'", DENIED),
    ("users is_superuser read", "creator", "select is_superuser from users where id = '{B}'", DENIED),
    (
        "users update own profile",
        "creator",
        "update users set full_name = 'New', phone_number = '+254700', avatar_url = 'https://a.example/x.png',"
        " bio = 'hi' where id = '{B}'",
        1,
    ),
    ("users update own notify_optional", "creator", "update users set notify_optional = false where id = '{B}'", 1),
    ("users update counterparty notify_optional", "creator",
     "update users set notify_optional = false where id = '{S}'", 0),
    ("users update own is_superuser", "creator", "update users set is_superuser = true where id = '{B}'", DENIED),
    ("users update own is_staff", "creator", "update users set is_staff = true where id = '{B}'", DENIED),
    ("users update own is_verified", "creator", "update users set is_verified = true where id = '{B}'", DENIED),
    ("users update own is_active", "creator", "update users set is_active = false where id = '{B}'", DENIED),
    ("users update own email", "creator", "update users set email = 'x@example.com' where id = '{B}'", DENIED),
    ("users update own password", "creator", "update users set hashed_password = 'x' where id = '{B}'", DENIED),
    ("users update counterparty", "creator", "update users set full_name = 'Evil' where id = '{S}'", 0),
    ("users stranger updates a party", "stranger", "update users set full_name = 'Evil' where id = '{B}'", 0),
    ("users no token updates", "no_token", "update users set full_name = 'Evil'", 0),
    ("users anon updates", "anon", "update users set full_name = 'Evil'", DENIED),
    ("users insert", "creator", "insert into users (email) values ('new@example.com')", DENIED),
    ("users delete own", "creator", "delete from users where id = '{B}'", DENIED),
    ("users anon deletes", "anon", "delete from users", DENIED),
    # --- public_profiles: id, e-mail and full name of oneself and of counterparties, read-only ---
    ("profiles creator reads", "creator", "select id, email, full_name from public_profiles", 2),
    ("profiles counterparty reads creator", "counterparty", "select email from public_profiles where id = '{B}'", 1),
    ("profiles stranger reads", "stranger", "select id from public_profiles", 1),
    ("profiles stranger reads a party", "stranger", "select id from public_profiles where id = '{B}'", 0),
    ("profiles no token reads", "no_token", "select id from public_profiles", 0),
    ("profiles anon reads", "anon", "select id from public_profiles", DENIED),
    # The same rule for the ids a page names (migration 0021; the API's parties' e-mails).
    ("profiles_of creator reads", "creator", f"select id from {PROFILES_OF}", 2),
    ("profiles_of counterparty reads", "counterparty", f"select id from {PROFILES_OF}", 2),
    ("profiles_of stranger reads", "stranger", f"select id from {PROFILES_OF}", 1),
    ("profiles_of no token reads", "no_token", f"select id from {PROFILES_OF}", 0),
    ("profiles_of anon reads", "anon", f"select id from {PROFILES_OF}", DENIED),
    ("profiles update", "creator", "update public_profiles set full_name = 'Evil' where id = '{S}'", READ_ONLY),
    ("profiles insert", "creator", "insert into public_profiles (id, email) values ('{X}', 'x@example.com')", READ_ONLY),
    ("profiles delete", "creator", "delete from public_profiles where id = '{S}'", READ_ONLY),
    # --- projects: read if involved; creator inserts drafts, edits and deletes while draft ---
    ("projects creator reads", "creator", "select id from projects", 2),
    ("projects counterparty reads", "counterparty", "select id from projects", 2),
    ("projects stranger reads", "stranger", "select id from projects", 0),
    ("projects no token reads", "no_token", "select id from projects", 0),
    ("projects anon reads", "anon", "select id from projects", DENIED),
    ("projects insert own draft", "stranger", NEW_PROJECT + "('Mine', 10, '{X}', '{X}', null, 'draft')", 1),
    ("projects insert for another creator", "creator", NEW_PROJECT + "('Forged', 10, '{S}', '{B}', '{S}', 'draft')", POLICY),
    ("projects insert already pending", "creator", NEW_PROJECT + "('Skip', 10, '{B}', '{B}', '{S}', 'pending')", POLICY),
    ("projects insert already active", "creator", NEW_PROJECT + "('Skip', 10, '{B}', '{B}', '{S}', 'active')", POLICY),
    ("projects no token inserts", "no_token", NEW_PROJECT + "('Anon', 10, '{B}', '{B}', '{S}', 'draft')", POLICY),
    ("projects anon inserts", "anon", NEW_PROJECT + "('Anon', 10, '{B}', '{B}', '{S}', 'draft')", DENIED),
    (
        "projects insert with terms accepted",
        "creator",
        "insert into projects (title, total_amount, creator_id, terms_accepted_at) values ('T', 10, '{B}', now())",
        DENIED,
    ),
    ("projects creator edits draft", "creator", "update projects set title = 'Edited' where id = '{P}'", 1),
    ("projects counterparty edits draft", "counterparty", "update projects set title = 'Edited' where id = '{P}'", 0),
    ("projects stranger edits draft", "stranger", "update projects set title = 'Edited' where id = '{P}'", 0),
    ("projects no token edits", "no_token", "update projects set title = 'Edited'", 0),
    ("projects anon edits", "anon", "update projects set title = 'Edited'", DENIED),
    ("projects creator edits funded", "creator", "update projects set total_amount = 1 where id = '{A}'", 0),
    ("projects creator sets status", "creator", "update projects set status = 'active' where id = '{P}'", DENIED),
    ("projects creator accepts terms", "creator", "update projects set terms_accepted_at = now() where id = '{P}'", DENIED),
    ("projects creator changes creator", "creator", "update projects set creator_id = '{S}' where id = '{P}'", DENIED),
    ("projects creator completes", "creator", "update projects set completed_at = now() where id = '{A}'", DENIED),
    ("projects creator deletes draft", "creator", "delete from projects where id = '{P}'", 1),
    ("projects counterparty deletes draft", "counterparty", "delete from projects where id = '{P}'", 0),
    ("projects stranger deletes draft", "stranger", "delete from projects where id = '{P}'", 0),
    ("projects creator deletes funded", "creator", "delete from projects where id = '{A}'", 0),
    ("projects no token deletes", "no_token", "delete from projects", 0),
    ("projects anon deletes", "anon", "delete from projects", DENIED),
    # --- milestones: read if party; the project's creator manages them while it is draft ---
    ("milestones creator reads", "creator", "select id from milestones", 2),
    ("milestones counterparty reads", "counterparty", "select id from milestones", 2),
    ("milestones stranger reads", "stranger", "select id from milestones", 0),
    ("milestones no token reads", "no_token", "select id from milestones", 0),
    ("milestones anon reads", "anon", "select id from milestones", DENIED),
    ("milestones creator adds to draft", "creator", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", 1),
    ("milestones counterparty adds to draft", "counterparty", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", POLICY),
    ("milestones stranger adds to draft", "stranger", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", POLICY),
    ("milestones creator adds to funded", "creator", NEW_MILESTONE + "('{A}', 'Extra', 10, 5)", POLICY),
    ("milestones no token adds", "no_token", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", POLICY),
    ("milestones anon adds", "anon", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", DENIED),
    ("milestones creator edits draft", "creator", "update milestones set title = 'Edited' where id = '{M}'", 1),
    ("milestones counterparty edits", "counterparty", "update milestones set title = 'Edited' where id = '{M}'", 0),
    ("milestones stranger edits", "stranger", "update milestones set title = 'Edited' where id = '{M}'", 0),
    ("milestones creator edits funded", "creator", "update milestones set amount = 1 where id = '{MA}'", 0),
    (
        "milestones creator moves to funded project",
        "creator",
        "update milestones set project_id = '{A}' where id = '{M}'",
        DENIED,
    ),
    ("milestones creator sets status", "creator", "update milestones set status = 'approved' where id = '{M}'", DENIED),
    ("milestones creator marks paid", "creator", "update milestones set is_paid = true where id = '{M}'", DENIED),
    ("milestones anon edits", "anon", "update milestones set title = 'Edited'", DENIED),
    ("milestones creator deletes draft", "creator", "delete from milestones where id = '{M}'", 1),
    ("milestones counterparty deletes", "counterparty", "delete from milestones where id = '{M}'", 0),
    ("milestones stranger deletes", "stranger", "delete from milestones where id = '{M}'", 0),
    ("milestones creator deletes funded", "creator", "delete from milestones where id = '{MA}'", 0),
    ("milestones anon deletes", "anon", "delete from milestones", DENIED),
    # --- transactions: read own or a project's you are party to; never written by a client ---
    ("transactions creator reads", "creator", "select id from transactions", 2),
    ("transactions counterparty reads project rows", "counterparty", "select id from transactions", 2),
    ("transactions stranger reads", "stranger", "select id from transactions", 1),
    ("transactions stranger reads a project row", "stranger", "select id from transactions where id = '{TB}'", 0),
    ("transactions no token reads", "no_token", "select id from transactions", 0),
    ("transactions anon reads", "anon", "select id from transactions", DENIED),
    # Clients never write ledger rows (issue 10): no INSERT grant, whatever the row.
    ("transactions insert pending deposit", "creator", NEW_TX + "('{B}', '{P}', 'deposit', 'pending', 500, 0, 500)", DENIED),
    ("transactions insert pending deposit, no project", "stranger", NEW_TX + "('{X}', null, 'deposit', 'pending', 5, 0, 5)", DENIED),
    ("transactions insert pending withdrawal", "counterparty", NEW_TX + "('{S}', null, 'withdrawal', 'pending', 5, 0, 5)", DENIED),
    ("transactions insert completed deposit", "creator", NEW_TX + "('{B}', '{P}', 'deposit', 'completed', 10, 0, 10)", DENIED),
    ("transactions insert escrow_release", "creator", NEW_TX + "('{B}', '{A}', 'escrow_release', 'pending', 10, 0, 10)", DENIED),
    ("transactions insert commission", "creator", NEW_TX + "('{B}', '{A}', 'commission', 'pending', 10, 0, 10)", DENIED),
    ("transactions insert for another user", "creator", NEW_TX + "('{S}', '{P}', 'deposit', 'pending', 10, 0, 10)", DENIED),
    ("transactions insert on a stranger's project", "stranger", NEW_TX + "('{X}', '{P}', 'deposit', 'pending', 10, 0, 10)", DENIED),
    ("transactions no token inserts", "no_token", NEW_TX + "('{B}', '{P}', 'deposit', 'pending', 10, 0, 10)", DENIED),
    ("transactions anon inserts", "anon", NEW_TX + "('{B}', '{P}', 'deposit', 'pending', 10, 0, 10)", DENIED),
    (
        "transactions insert with gateway id",
        "creator",
        "insert into transactions (user_id, transaction_type, amount, net_amount, gateway_transaction_id)"
        " values ('{B}', 'deposit', 10, 10, 'forged')",
        DENIED,
    ),
    ("transactions complete own", "creator", "update transactions set status = 'completed' where id = '{TB}'", DENIED),
    ("transactions change amount", "creator", "update transactions set amount = 1 where id = '{TB}'", DENIED),
    ("transactions delete own", "creator", "delete from transactions where id = '{TB}'", DENIED),
    ("transactions anon deletes", "anon", "delete from transactions", DENIED),
]


def snapshot() -> dict[str, str]:
    """A digest of every row of the four tables, read as the owner (RLS does not apply)."""
    digests = {}
    with connection.cursor() as cursor:
        for table in ("users", "projects", "milestones", "transactions"):
            cursor.execute(f"select md5(coalesce(string_agg(t::text, '|' order by t.id), '')) from {table} t")
            digests[table] = cursor.fetchone()[0]
    return digests


def run_as(caller: str, sql: str, world: World):
    role, who = CALLERS[caller]
    with as_role(role, world.ids[who] if who else None):
        with connection.cursor() as cursor:
            cursor.execute(sql.format(**world.ids))
            return len(cursor.fetchall()) if sql.lstrip().startswith("select") else cursor.rowcount


@pytest.mark.parametrize(("case", "caller", "sql", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rls_matrix(world, case, caller, sql, expected):
    before = snapshot()
    if isinstance(expected, int):
        assert run_as(caller, sql, world) == expected
    else:
        with pytest.raises(DatabaseError) as refused:
            run_as(caller, sql, world)
        assert refused.value.__cause__.sqlstate == SQLSTATES[expected]
        assert expected in str(refused.value)
    is_write = not sql.lstrip().startswith("select")
    if is_write and expected not in (0, DENIED, POLICY, READ_ONLY):
        assert snapshot() != before, "an allowed write changed nothing"
    else:
        assert snapshot() == before, "a refused or empty statement changed data"


# Every policy refuses a deactivated user (issue 10). Each statement reaches rows for the creator
# while active; once the creator is deactivated, the same token reads and changes nothing.
DEACTIVATED_CASES = [
    ("users read own", "select id from users where id = '{B}'", 1),
    ("users update own", "update users set full_name = 'New' where id = '{B}'", 1),
    ("public_profiles read", "select id from public_profiles", 2),
    ("public_profiles_of read", f"select id from {PROFILES_OF}", 2),
    ("projects read", "select id from projects", 2),
    ("projects insert", NEW_PROJECT + "('Mine', 10, '{B}', '{B}', null, 'draft')", 1),
    ("projects update", "update projects set title = 'Edited' where id = '{P}'", 1),
    ("projects delete", "delete from projects where id = '{P}'", 1),
    ("milestones read", "select id from milestones", 2),
    ("milestones insert", NEW_MILESTONE + "('{P}', 'Extra', 10, 5)", 1),
    ("milestones update", "update milestones set title = 'Edited' where id = '{M}'", 1),
    ("milestones delete", "delete from milestones where id = '{M}'", 1),
    ("transactions read", "select id from transactions", 2),
    ("escrow_events read", "select id from escrow_events", 1),
]


@pytest.mark.parametrize(("case", "sql", "when_active"), DEACTIVATED_CASES, ids=[c[0] for c in DEACTIVATED_CASES])
def test_a_deactivated_user_reaches_nothing(world, case, sql, when_active):
    with transaction.atomic():
        assert run_as("creator", sql, world) == when_active
        transaction.set_rollback(True)
    User.objects.filter(pk=world.ids["B"]).update(is_active=False)
    before = snapshot()
    if sql.startswith("insert"):
        with pytest.raises(DatabaseError) as refused:
            run_as("creator", sql, world)
        assert POLICY in str(refused.value)
    else:
        assert run_as("creator", sql, world) == 0
    assert snapshot() == before, "a deactivated user changed data"


def test_a_counterparty_sees_the_public_profile_only(world):
    """id, e-mail and full name, as the owner stores them; no column more."""
    User.objects.filter(pk=world.ids["S"]).update(phone_number="+254700000001", bio="private", is_verified=True)
    seller = User.objects.get(pk=world.ids["S"])
    with as_role("authenticated", world.ids["B"]), connection.cursor() as cursor:
        cursor.execute("select * from public_profiles where id = %s", [world.ids["S"]])
        assert [column.name for column in cursor.description] == ["id", "email", "full_name"]
        assert cursor.fetchall() == [(seller.id, seller.email, seller.full_name)]
    with pytest.raises(DatabaseError) as refused, as_role("authenticated", world.ids["B"]):
        with connection.cursor() as cursor:
            cursor.execute("select phone_number from public_profiles")
    assert refused.value.__cause__.sqlstate == "42703"  # undefined_column


@pytest.mark.parametrize("table", ["users", "projects", "milestones", "transactions", "escrow_events", "public_profiles"])
def test_the_active_caller_is_looked_up_once_per_statement_not_per_row(world, table):
    """Every call of escrow_private.active_uid() in the plan is an InitPlan: run at most once."""
    with as_role("authenticated", world.ids["B"]), connection.cursor() as cursor:
        cursor.execute(f"explain (verbose, format json) select id from {table}")
        plan = cursor.fetchone()[0][0]["Plan"]
    calls = []

    def walk(node, relationship):
        text = json.dumps({k: v for k, v in node.items() if k != "Plans"})
        if "active_uid" in text:
            calls.append((relationship, node.get("Node Type")))
        for child in node.get("Plans", []):
            walk(child, child.get("Parent Relationship"))

    walk(plan, None)
    if table != "public_profiles":  # the view calls it inside its function, once
        assert calls, "no policy asks for the active caller"
    assert all(call == ("InitPlan", "Result") for call in calls), calls


def test_role_switch_is_transaction_local(world):
    """After the block, the connection is the owner again and sees every row."""
    with as_role("authenticated", world.ids["X"]):
        with connection.cursor() as cursor:
            cursor.execute("select current_user, auth.uid()::text")
            assert cursor.fetchone() == ("authenticated", world.ids["X"])
    with connection.cursor() as cursor:
        cursor.execute("select current_user = session_user, auth.uid(), count(*) from projects")
        assert cursor.fetchone() == (True, None, 2)


def test_auth_uid_reads_legacy_claim(world):
    """Supabase's definition: the legacy request.jwt.claim.sub setting wins over the claims JSON."""
    with as_role("authenticated", None):
        with connection.cursor() as cursor:
            cursor.execute("select set_config('request.jwt.claim.sub', %s, true)", [world.ids["S"]])
            cursor.execute("select auth.uid()::text, count(*) from projects")
            assert cursor.fetchone() == (world.ids["S"], 2)


def test_every_policy_is_for_authenticated_only(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "select tablename, policyname, roles::text[] from pg_policies"
            " where tablename in ('users', 'projects', 'milestones', 'transactions') order by 1, 2"
        )
        rows = cursor.fetchall()
    assert {name for _, name, _ in rows} >= {
        "users_select_own",
        "users_update_own",
        "projects_select_involved",
        "projects_insert_creator",
        "projects_update_creator",
        "projects_delete_creator",
        "milestones_select_involved",
        "milestones_insert_creator",
        "milestones_update_creator",
        "milestones_delete_creator",
        "transactions_select_own",
    }
    assert "transactions_insert_own" not in {name for _, name, _ in rows}
    assert all(roles == ["authenticated"] for _, _, roles in rows)
