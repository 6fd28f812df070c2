"""The operator console: actions through services, a read-only ledger, the Operators group."""

import secrets
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from escrow import services
from escrow.models import EscrowEvent, Project, Transaction, User
from escrow.payments.simulator import Simulator
from escrow.selectors import available_balance
from tests import builders
from tests.factories import UserFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

PASSWORD = "operator passphrase for tests"


def login(user) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    assert client.login(request=HttpRequest(), username=user.email, password=PASSWORD)  # axes needs a request
    return client


@pytest.fixture
def operator(db):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    return login(user), User.objects.get(pk=user.pk)


@pytest.fixture
def outsider(db):
    """Staff, but not an operator."""
    return login(UserFactory(is_staff=True))


def act(client, model: str, action: str, objects, **form):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], **form}
    if form:
        data["apply"] = "1"
    return client.post(reverse(f"admin:escrow_{model}_changelist"), data, follow=True)


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- the Operators group ---

def test_the_operators_group_has_exactly_the_consoles_permissions(db):
    codenames = set(Group.objects.get(name="Operators").permissions.values_list("codename", flat=True))
    assert codenames == {"view_user", "view_project", "view_milestone", "view_transaction", "view_escrowevent",
                         "view_webhookevent", "view_walletcheck", "view_webhookendpoint", "view_webhookmessage",
                         "view_webhookdelivery", "view_dispute", "act_as_operator"}


@pytest.mark.parametrize("model", ["dispute", "project", "milestone", "transaction", "escrowevent", "webhookevent", "walletcheck",
                                   "user", "webhookendpoint", "webhookmessage", "webhookdelivery"])
def test_staff_outside_the_group_see_nothing(outsider, model):
    assert outsider.get(reverse(f"admin:escrow_{model}_changelist")).status_code == 403


def test_operators_cannot_manage_operators(operator):
    client, me = operator
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    other = UserFactory()
    client.post(reverse("admin:escrow_user_change", args=[other.pk]), {"is_staff": "on", "email": other.email})
    other.refresh_from_db()
    assert not other.is_staff


# --- actions ---

def test_resolve_a_dispute_by_split(operator):
    client, me = operator
    project = builders.disputed()
    confirm = act(client, "project", "resolve_dispute", [project])
    assert confirm.status_code == 200 and b"Resolve dispute" in confirm.content  # the confirmation page
    assert builders.refreshed(project).status == "disputed"

    response = act(client, "project", "resolve_dispute", [project], outcome="split", seller_amount="600.00",
                   buyer_amount="400.00", note="half done, evidence read")

    assert any("dispute resolved" in m for m in shown(response))
    project = builders.refreshed(project)
    assert (project.status, project.outcome) == ("completed", "split")  # the seller was paid: not "refunded"
    rows = {(t.transaction_type, t.amount) for t in Transaction.objects.filter(project=project, status="completed")
            .exclude(transaction_type__in=["deposit", "escrow_hold"])}
    assert rows == {("escrow_release", Decimal("585.00")), ("commission", Decimal("15.00")),
                    ("refund", Decimal("400.00"))}
    event = EscrowEvent.objects.get(project=project, action="resolve")
    assert (event.actor, event.actor_kind, event.data["note"]) == (me, "operator", "half done, evidence read")
    assert LogEntry.objects.filter(object_id=str(project.pk), user=me).exists()
    assert_ledger_invariants()


def test_a_split_that_does_not_add_up_is_refused_with_the_engines_message(operator):
    client, _ = operator
    project = builders.disputed()
    before = db_snapshot()
    response = act(client, "project", "resolve_dispute", [project], outcome="split", seller_amount="600.00",
                   buyer_amount="300.00", note="oops")
    assert any("must equal what the dispute froze: 1000.00 USD" in m for m in shown(response))
    assert db_snapshot() == before


def test_refund_and_cancel(operator):
    client, me = operator
    funded, pending = builders.funded(), builders.proposed()
    act(client, "project", "refund", [funded], note="both parties asked by e-mail")
    act(client, "project", "cancel", [pending])
    assert builders.refreshed(funded).status == "refunded" and builders.refreshed(pending).status == "cancelled"
    assert available_balance(funded.buyer_id, "USD") == Decimal("1000.00")
    assert EscrowEvent.objects.filter(actor=me, action__in=["refund", "cancel"]).count() == 2


def test_a_refused_transition_shows_the_message_and_changes_nothing(operator):
    client, _ = operator
    project = builders.in_progress()
    before = db_snapshot()
    response = act(client, "project", "cancel", [project])
    assert any("Cannot cancel a project that is in progress" in m for m in shown(response))
    assert db_snapshot() == before


def test_approve_for_the_buyer_needs_a_reason(operator):
    client, me = operator
    milestone = builders.delivered().milestones.get(order_index=0)
    form = act(client, "milestone", "approve_for_buyer", [milestone], reason="")
    assert form.status_code == 200 and b"This field is required" in form.content
    assert not Transaction.objects.filter(milestone=milestone).exists()
    act(client, "milestone", "approve_for_buyer", [milestone], reason="buyer unreachable for a month")
    milestone.refresh_from_db()
    assert milestone.is_paid
    assert EscrowEvent.objects.get(milestone=milestone, action="approve").actor == me


def test_verify_and_deactivate_users(operator):
    client, me = operator
    user = UserFactory()
    act(client, "user", "verify", [user])
    act(client, "user", "deactivate", [user], reason="fraud report #12")
    user.refresh_from_db()
    assert user.is_verified and not user.is_active
    assert list(EscrowEvent.objects.filter(actor=me).values_list("action", flat=True).order_by("created_at")) == [
        "user_verify", "user_deactivate"]


# --- never on their own deals ---

def test_own_deals_are_not_offered_for_actions(operator):
    client, me = operator
    mine, theirs = builders.disputed(seller=me), builders.disputed()
    page = client.get(reverse("admin:escrow_project_changelist")).content.decode()
    assert f'value="{theirs.pk}"' in page  # a checkbox to select it
    assert f'value="{mine.pk}"' not in page and "You are a party to this project" in page


@pytest.mark.parametrize(("model", "action", "form"), [
    ("project", "resolve_dispute", {"outcome": "release", "note": "I delivered everything"}),
    ("project", "refund", {"note": "as agreed"}),
    ("milestone", "approve_for_buyer", {"reason": "the buyer is slow"}),
])
def test_an_operator_cannot_act_on_a_deal_they_are_party_to(operator, model, action, form):
    client, me = operator
    project = builders.disputed(seller=me) if action == "resolve_dispute" else builders.delivered(seller=me)
    target = project if model == "project" else project.milestones.get(order_index=0)
    before = db_snapshot()
    response = act(client, model, action, [target], **form)
    assert any("you are a party to this project" in m for m in shown(response)), shown(response)
    assert db_snapshot() == before
    assert not LogEntry.objects.filter(user=me).exists()


def test_a_selection_with_an_own_deal_acts_on_the_others_only(operator):
    client, me = operator
    mine, theirs = builders.funded(buyer=me), builders.funded()
    response = act(client, "project", "refund", [mine, theirs], note="both parties asked")
    assert builders.refreshed(theirs).status == "refunded"
    assert builders.refreshed(mine).status == "active"
    assert any("you are a party" in m for m in shown(response)) and any("refunded" in m for m in shown(response))


def test_operators_cannot_verify_themselves_in_the_console(operator):
    client, me = operator
    response = act(client, "user", "verify", [me])
    assert any("cannot verify themselves" in m for m in shown(response))
    assert not User.objects.get(pk=me.pk).is_verified


@pytest.mark.parametrize("action", [("project", "refund"), ("project", "cancel"), ("user", "verify")])
def test_staff_outside_the_group_cannot_act(outsider, action):
    model, name = action
    target = builders.funded() if model == "project" else UserFactory()
    before = db_snapshot()
    response = act(outsider, model, name, [target], note="x")
    assert response.status_code == 403
    assert db_snapshot() == before


def test_reconcile_a_stuck_deposit(operator, settings):
    client, _ = operator
    keys = {k: secrets.token_hex(6) for k in ("secret_key", "public_key", "webhook_secret")}
    keys["business_id"] = secrets.token_hex(12)  # 24 characters, as FinCra's
    simulator = Simulator(**keys).start()  # no webhook URL: the webhook never comes
    settings.FINCRA_BASE_URL, settings.FINCRA_SECRET_KEY = simulator.url, keys["secret_key"]
    settings.FINCRA_PUBLIC_KEY, settings.FINCRA_BUSINESS_ID = keys["public_key"], keys["business_id"]
    try:
        from escrow.payments import gateway

        project = builders.accepted()
        deposit = services.project_fund_start(project=project, actor=project.buyer)
        gateway.start_checkout(deposit, customer_name="Bea Buyer")
        simulator.pay(str(deposit.pk))
        act(client, "transaction", "reconcile", [deposit])
    finally:
        simulator.stop()
    assert builders.refreshed(project).status == "active"


def test_reconcile_without_a_gateway_says_so_and_changes_nothing(operator):
    client, _ = operator
    project = builders.accepted()
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    before = db_snapshot()
    response = act(client, "transaction", "reconcile", [deposit])
    assert any("FinCra could not be asked" in m for m in shown(response))
    assert db_snapshot() == before


# --- the ledger is read-only, even for superusers ---

@pytest.mark.parametrize("model", ["transaction", "escrowevent", "webhookevent"])
def test_the_ledger_is_read_only_for_everyone(admin_client, model):
    row = builders.funded().transactions.first() if model == "transaction" else None
    assert admin_client.get(reverse(f"admin:escrow_{model}_add")).status_code == 403
    if row is not None:
        before = db_snapshot()
        change = reverse("admin:escrow_transaction_change", args=[row.pk])
        admin_client.post(change, {"amount": "1.00", "status": "failed"})
        assert admin_client.post(reverse("admin:escrow_transaction_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
        assert db_snapshot() == before
        assert b"delete_selected" not in admin_client.get(reverse("admin:escrow_transaction_changelist")).content


def test_a_proposed_project_cannot_be_edited_by_hand(admin_client):
    project = builders.funded()
    before = db_snapshot()
    admin_client.post(reverse("admin:escrow_project_change", args=[project.pk]),
                      {"title": "x", "total_amount": "1.00", "status": "completed", "currency": "USD"})
    assert db_snapshot() == before


# --- dashboard and changelists ---

def test_the_dashboard(operator):
    client, _ = operator
    builders.disputed()
    builders.funded(currency="KES", amounts=("5000.00",))
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="open-disputes">1</a>' in page
    assert "1000.00 USD" in page and "5000.00 KES" in page
    assert "/admin/escrow/dispute/?status=open" in page and "?stuck=yes" in page


@pytest.mark.parametrize("model", ["dispute", "project", "milestone", "transaction", "escrowevent", "user"])
def test_changelist_queries_do_not_grow_with_rows(operator, model):
    client, _ = operator
    url = reverse(f"admin:escrow_{model}_changelist")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    builders.disputed()
    few = queries()
    for _ in range(8):
        builders.disputed()
    assert queries() == few


def test_held_column_matches_the_engine(operator):
    client, _ = operator
    project = builders.delivered()
    services.milestone_approve(milestone=project.milestones.get(order_index=0), actor=project.buyer)
    page = client.get(reverse("admin:escrow_project_changelist")).content.decode()
    assert "600.00 USD" in page  # 1000 held − 400 released (390 + 10 commission)
    assert Project.objects.count() == 1


# --- the user and project pages ---

BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


def test_a_users_page_shows_their_money_and_deals_but_never_the_password_hash(operator):
    client, _ = operator
    project = builders.completed(currency="NGN")
    seller = project.seller
    seller.set_password("a seller's passphrase")
    seller.save()
    services.withdrawal_request(user=seller, amount="100.00", currency="NGN", bank_account=BANK,
                                account_name="ADA OBI SELLER")
    page = client.get(reverse("admin:escrow_user_change", args=[seller.pk])).content.decode()
    balance = available_balance(seller.pk, "NGN")
    assert f"<strong>{balance} NGN</strong>" in page
    assert "ADA OBI SELLER (resolved by FinCra)" in page
    assert project.title in page and reverse("admin:escrow_project_change", args=[project.pk]) in page
    assert page.count("escrow_release") + page.count("escrow release") >= 2  # one per milestone
    assert seller.password.split("$")[-1] not in page and "algorithm" not in page and "salt" not in page
    assert "set a new password" in page


def test_a_users_page_tables_are_bounded_and_link_to_everything(operator):
    client, _ = operator
    seller = UserFactory()
    for _ in range(3):
        builders.completed(seller=seller)
    user_admin = type(admin.site._registry[User])
    shown, user_admin.shown_rows = user_admin.shown_rows, 2
    try:
        page = client.get(reverse("admin:escrow_user_change", args=[seller.pk])).content.decode()
    finally:
        user_admin.shown_rows = shown
    assert "all 3 →" in page  # projects
    assert f"user__id__exact={seller.pk}" in page


def test_an_api_login_is_the_users_last_login(db):
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    assert User.objects.get(pk=user.pk).last_login is None
    answer = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
    assert answer.status_code == 200
    assert User.objects.get(pk=user.pk).last_login is not None


def test_a_project_page_leads_with_status_and_held_and_folds_the_ledger(operator):
    client, _ = operator
    project = builders.disputed()
    page = client.get(reverse("admin:escrow_project_change", args=[project.pk])).content.decode()
    assert page.index("field-status") < page.index("field-held_amount") < page.index("field-description")
    assert "1000.00 USD" in page[page.index("field-held_amount"):]
    for inline in ("transactions", "events"):
        assert f'<fieldset class="module collapse" aria-labelledby="{inline}-heading">' in page
    assert '<fieldset class="module collapse" aria-labelledby="milestones-heading">' not in page
