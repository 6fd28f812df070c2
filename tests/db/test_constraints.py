"""The database's own rules: every named CHECK refuses a bad row written around the ORM."""

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from escrow.models import MilestoneStatus, ProjectStatus, TransactionStatus, TransactionType
from tests import builders
from tests.factories import MilestoneFactory, ProjectFactory, TransactionFactory, UserFactory

NEW_EVENT = (
    "insert into escrow_events (actor_id, actor_kind, action, project_id, from_state, to_state, data)"
    " select {actor}, {kind}, 'propose', id, 'draft', 'pending', '{{}}' from projects limit 1"
)


SECRET = "'whsec_" + "A" * 43 + "='"
NEW_ENDPOINT = ("insert into webhook_endpoints (owner_id, url, secret, is_active, disabled_reason)"
                " select creator_id, {url}, {secret}, {active}, '' from projects limit 1")
ENDPOINT = ("with e as (insert into webhook_endpoints (owner_id, url, secret) select creator_id, 'https://x.example/', "
            f"{SECRET} from projects limit 1 returning id) ")
MESSAGE = (ENDPOINT + ", m as (insert into webhook_messages (endpoint_id, event_type, payload)"
           " select id, 'project.propose', '{}' from e returning id, endpoint_id) ")


def new_transaction(**overrides: str) -> str:
    """An INSERT of a ledger row, valid but for ``overrides`` (ledger rows are never updated)."""
    values = {"transaction_type": "'deposit'", "status": "'pending'", "amount": "10", "fee": "0",
              "net_amount": "10", "currency": "'USD'", **overrides}
    return (
        f"insert into transactions (user_id, project_id, {', '.join(values)})"
        f" select buyer_id, id, {', '.join(values.values())} from projects limit 1"
    )


# constraint name -> (table, an UPDATE's SET clause, or a whole INSERT, that breaks only that rule)
VIOLATIONS = {
    "users_chk_email_lowercase": ("users", "email = 'Upper@Example.com'"),
    "users_chk_email_format": ("users", "email = 'no-at-sign'"),
    "projects_chk_status": ("projects", "status = 'paid'"),
    "projects_chk_total_amount_positive": ("projects", "total_amount = 0"),
    "projects_chk_currency_format": ("projects", "currency = 'usd'"),
    "projects_chk_buyer_not_seller": ("projects", "seller_id = buyer_id"),
    "projects_chk_creator_is_party": ("projects", "creator_id = (select id from users where email = 'other@example.com')"),
    "projects_chk_parties_set": ("projects", "status = 'pending', seller_id = null"),
    "projects_chk_terms_accepted": ("projects", "status = 'active'"),
    "projects_chk_completed_at": ("projects", "completed_at = now()"),
    "projects_chk_due_after_start": ("projects", "start_date = now(), due_date = now() - interval '1 day'"),
    "projects_chk_fee_bearer": ("projects", "fee_bearer = 'nobody'"),
    "projects_chk_minor_unit": ("projects", "currency = 'UGX', total_amount = 1000.50"),
    "milestones_chk_minor_unit": ("milestones", "currency = 'XOF', amount = 1000.50"),
    "transactions_chk_minor_unit": ("transactions", new_transaction(currency="'UGX'", amount="10.5", net_amount="10.5")),
    "projects_chk_commission_percent": ("projects", "commission_percent = 100"),
    "escrow_events_chk_actor_kind": ("escrow_events", NEW_EVENT.format(actor="creator_id", kind="'robot'")),
    "escrow_events_chk_actor": ("escrow_events", NEW_EVENT.format(actor="null", kind="'user'")),
    "escrow_events_chk_subject": ("escrow_events", "insert into escrow_events (actor_kind, action, from_state,"
                                                   " to_state, data, subject) values ('system', 'complete', '', '',"
                                                   " '{}', 'deal')"),
    "webhook_endpoints_chk_url": ("webhook_endpoints", NEW_ENDPOINT.format(url="'ftp://x.example/'", secret=SECRET,
                                                                            active="true")),
    "webhook_endpoints_chk_secret": ("webhook_endpoints", NEW_ENDPOINT.format(url="'https://x.example/'",
                                                                               secret="'hunter2'", active="true")),
    "webhook_endpoints_chk_disabled_reason": ("webhook_endpoints", NEW_ENDPOINT.format(
        url="'https://x.example/'", secret=SECRET, active="false")),
    "webhook_messages_chk_status": ("webhook_messages", ENDPOINT + "insert into webhook_messages"
                                    " (endpoint_id, event_type, payload, status) select id, 'x', '{}', 'lost' from e"),
    "webhook_messages_chk_delivered_at": ("webhook_messages", ENDPOINT + "insert into webhook_messages"
                                          " (endpoint_id, event_type, payload, status) select id, 'x', '{}',"
                                          " 'delivered' from e"),
    "webhook_deliveries_chk_trigger": ("webhook_deliveries", MESSAGE + "insert into webhook_deliveries"
                                       " (message_id, endpoint_id, trigger, succeeded, response_excerpt, error,"
                                       " duration_ms) select id, endpoint_id, 'cron', false, '', '', 0 from m"),
    "milestones_chk_status": ("milestones", "status = 'paid'"),
    "milestones_chk_amount_positive": ("milestones", "amount = -1"),
    "milestones_chk_currency_format": ("milestones", "currency = 'US'"),
    "milestones_chk_paid_at": ("milestones", "is_paid = true"),
    "milestones_chk_approved_at": ("milestones", "status = 'approved'"),
    "projects_chk_outcome": ("projects", "outcome = 'won'"),
    "milestones_chk_outcome": ("milestones", "outcome = 'refund'"),
    "transactions_chk_type": ("transactions", new_transaction(transaction_type="'gift'")),
    "transactions_chk_status": ("transactions", new_transaction(status="'done'")),
    "transactions_chk_amount_positive": ("transactions", new_transaction(amount="0", net_amount="0")),
    "transactions_chk_fee_nonnegative": ("transactions", new_transaction(fee="-1", net_amount="11")),
    "transactions_chk_fee_within_amount": ("transactions", new_transaction(fee="11", net_amount="-1")),
    "transactions_chk_net_amount": ("transactions", new_transaction(net_amount="11")),
    "transactions_chk_currency_format": ("transactions", new_transaction(currency="'123'")),
    "projects_chk_currency_iso4217": ("projects", "currency = 'ZZZ'"),
    "milestones_chk_currency_iso4217": ("milestones", "currency = 'XTS'"),
    "transactions_chk_currency_iso4217": ("transactions", new_transaction(currency="'XAU'")),
    "transactions_chk_completed_at": ("transactions", new_transaction(status="'completed'")),
    "transactions_chk_gateway_fee": ("transactions", "gateway_fee = -1"),
}


@pytest.fixture
def rows(db):
    UserFactory(email="other@example.com")
    project = ProjectFactory()
    MilestoneFactory(project=project, amount=project.total_amount)
    TransactionFactory(project=project)
    return project


def check_constraints() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint"
            " where contype = 'c' and conname like '%%\\_chk\\_%%'"
            " and conrelid in ('users'::regclass, 'projects'::regclass, 'milestones'::regclass,"
            " 'transactions'::regclass, 'escrow_events'::regclass, 'webhook_endpoints'::regclass,"
            " 'webhook_messages'::regclass, 'webhook_deliveries'::regclass)"
        )
        return dict(cursor.fetchall())


def test_every_check_constraint_is_tested(db):
    assert set(check_constraints()) == set(VIOLATIONS)


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_check_constraint_refuses_bad_row(rows, name):
    table, assignment = VIOLATIONS[name]
    with connection.cursor() as cursor:
        cursor.execute(f"select md5(coalesce(string_agg(t::text, '|' order by t.id), '')) from {table} t")
        before = cursor.fetchone()[0]
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            statement = assignment if assignment.startswith(("insert", "with")) else f"update {table} set {assignment}"
            cursor.execute(statement)
        assert refused.value.__cause__.diag.constraint_name == name
        cursor.execute(f"select md5(coalesce(string_agg(t::text, '|' order by t.id), '')) from {table} t")
        assert cursor.fetchone()[0] == before


def test_valid_rows_pass_every_check(rows):
    """The factories' rows, and a full valid lifecycle state, satisfy all constraints."""
    rows = builders.funded(amounts=("1000.00",))  # a project is funded only through the services (0011)
    rows.status = ProjectStatus.COMPLETED
    rows.completed_at = timezone.now()
    rows.save()
    milestone = rows.milestones.get()
    milestone.status, milestone.approved_at = MilestoneStatus.APPROVED, timezone.now()
    milestone.is_paid, milestone.paid_at = True, timezone.now()
    milestone.save()
    assert rows.milestones.filter(is_paid=True).count() == 1


def test_email_unique_whatever_the_case(db):
    UserFactory(email="same@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("insert into users (email, hashed_password) values ('same@example.com', '')")
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("insert into users (email, hashed_password) values ('SAME@example.com', '')")
    assert refused.value.__cause__.diag.constraint_name == "users_chk_email_lowercase"


def test_deleting_a_draft_project_cascades_in_the_database(rows):
    with connection.cursor() as cursor:
        cursor.execute("delete from projects where id = %s", [rows.id])
        cursor.execute("select count(*) from milestones where project_id = %s", [rows.id])
        assert cursor.fetchone()[0] == 0
        cursor.execute("select count(*), count(project_id) from transactions")
        assert cursor.fetchone() == (1, 0)  # the ledger row stays, detached


def test_updated_at_is_kept_by_the_database(rows):
    with connection.cursor() as cursor:
        cursor.execute("update projects set updated_at = '2000-01-01' where id = %s", [rows.id])
        cursor.execute("select updated_at > now() - interval '1 minute' from projects where id = %s", [rows.id])
        assert cursor.fetchone()[0] is True


# --- choices drift: the values each CHECK allows are exactly the model's choices ---

CHOICE_CHECKS = {
    "projects_chk_status": ProjectStatus,
    "milestones_chk_status": MilestoneStatus,
    "transactions_chk_type": TransactionType,
    "transactions_chk_status": TransactionStatus,
}


@pytest.mark.parametrize("name", sorted(CHOICE_CHECKS))
def test_check_values_equal_model_choices(db, name):
    definition = check_constraints()[name]
    allowed = set(re.findall(r"'([a-z_]+)'::", definition))
    assert allowed == set(CHOICE_CHECKS[name].values)


def test_old_enum_values_are_kept():
    """The seed's enum values, verbatim: Supabase clients depend on them."""
    assert ProjectStatus.values == [
        "draft", "pending", "active", "in_progress", "completed", "disputed", "cancelled", "refunded"
    ]
    # Issue 14 adds two (how a dispute ended a milestone) after them: added, never renamed.
    assert MilestoneStatus.values == ["pending", "in_progress", "completed", "approved", "rejected", "disputed",
                                      "refunded", "split"]
    assert TransactionType.values == [
        "deposit", "withdrawal", "escrow_hold", "escrow_release", "refund", "fee", "commission"
    ]
    assert TransactionStatus.values == ["pending", "processing", "completed", "failed", "cancelled", "refunded"]


def test_zero_decimal_currencies_agree_with_the_money_module():
    import importlib

    from escrow.money import ZERO_DECIMAL_CURRENCIES

    migration = importlib.import_module("escrow.migrations.0009_minor_units")
    assert set(migration.ZERO_DECIMAL) == ZERO_DECIMAL_CURRENCIES


def test_accepted_currencies_agree_with_the_money_module():
    import importlib

    from escrow.money import CURRENCIES, ZERO_DECIMAL_CURRENCIES

    migration = importlib.import_module("escrow.migrations.0015_currency_iso4217")
    assert set(migration.CURRENCIES) == CURRENCIES
    assert ZERO_DECIMAL_CURRENCIES <= CURRENCIES
    assert not CURRENCIES & {"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "BOV", "CLF", "USN"}
