"""Model admins of the operator console."""

import functools

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import BooleanField, DecimalField, ExpressionWrapper, F, Func, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from escrow import services
from escrow.admin.actions import NoteForm, ReasonForm, ResolutionForm, run_service, with_form
from escrow.models import (
    DeliveryTrigger,
    DisputeStatus,
    EscrowEvent,
    Milestone,
    Project,
    ProjectStatus,
    Transaction,
    TransactionType,
    User,
    WalletCheck,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookMessage,
)
from escrow.notify.webhooks import webhook_replay
from escrow.payments import gateway
from escrow.selectors import STUCK_AFTER, available_balances, stuck_payments
from escrow.states import OPERATOR_PERMISSION


class OperatorActionsMixin:
    """``@admin.action(permissions=["act_as_operator"])`` checks this."""

    def has_act_as_operator_permission(self, request) -> bool:
        return request.user.has_perm(OPERATOR_PERMISSION)


class NotOnOwnDealsMixin:
    """An operator who is a party to a project acts on it only as that party, in the API.

    Here, the rows of their own projects get no action checkbox, and an action that names one
    anyway skips it with a message. The services refuse it too (``escrow.states.actor_roles``):
    this only keeps the console from offering what the engine would refuse.
    """

    project_path = ""  # from a row to its project's fields: "" for projects, "project__" for milestones

    def own_deals(self, request) -> Q:
        me, path = request.user.pk, self.project_path
        return Q(**{f"{path}creator_id": me}) | Q(**{f"{path}buyer_id": me}) | Q(**{f"{path}seller_id": me})

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            operator_is_party=ExpressionWrapper(self.own_deals(request), output_field=BooleanField()))

    def action_checkbox(self, obj):
        if getattr(obj, "operator_is_party", False):
            return format_html('<span title="{}">—</span>', "You are a party to this project: another operator acts on it.")
        return super().action_checkbox(obj)

    def others_deals(self, request, queryset):
        """``queryset`` without the operator's own deals, each skipped with a message."""
        for obj in queryset.filter(self.own_deals(request)):
            self.message_user(request, f"{obj}: you are a party to this project; another operator must act on it.",
                              messages.ERROR)
        return queryset.exclude(self.own_deals(request))


def on_others_deals(action):
    """The admin action on the selection less the operator's own deals (``NotOnOwnDealsMixin``)."""
    @functools.wraps(action)
    def on_others(modeladmin, request, queryset):
        queryset = modeladmin.others_deals(request, queryset)
        return action(modeladmin, request, queryset) if queryset.exists() else None
    return on_others


class ReadOnlyMixin:
    """Nobody adds, changes or deletes these rows here, superusers included: corrections are new
    rows written by services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- users ---

@admin.register(User)
class UserAdmin(OperatorActionsMixin, DjangoUserAdmin):
    """A user's page shows their money and their deals; never their password hash (a superuser sets a
    new password through the link)."""

    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_verified", "is_staff", "created_at", "last_login"]
    list_filter = ["is_active", "is_verified", "is_staff", "is_superuser", "groups"]
    search_fields = ["email", "full_name", "phone_number"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "created_at", "updated_at", "last_login", "password_link", "balances", "projects",
                       "ledger", "withdrawals"]
    fieldsets = [
        (None, {"fields": ["id", "email", "password_link"]}),
        ("Money", {"fields": ["balances", "withdrawals", "ledger"]}),
        ("Projects", {"fields": ["projects"]}),
        ("Profile", {"fields": ["full_name", "phone_number", "avatar_url", "bio"]}),
        ("Status", {"fields": ["is_active", "is_verified", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    actions = ["verify", "deactivate"]
    shown_rows = 20  # per table on the page; each links to the full list

    def get_readonly_fields(self, request, obj=None):
        # Only superusers manage accounts and who is an operator; operators use the actions.
        if request.user.is_superuser:
            return self.readonly_fields
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    @admin.display(description="password")
    def password_link(self, user) -> str:
        if user.pk is None:
            return "—"
        state = "set" if user.has_usable_password() else "none (Supabase sign-in or disabled)"
        return format_html('{} · <a href="{}">set a new password</a>', state,
                           reverse("admin:auth_user_password_change", args=[user.pk]))

    @admin.display(description="available balances")
    def balances(self, user) -> str:
        rows = available_balances(user.pk).items() if user.pk else []
        return format_html_join(", ", "<strong>{} {}</strong>", ((amount, currency) for currency, amount in rows)) \
            or "none"

    @admin.display(description="withdrawals")
    def withdrawals(self, user) -> str:
        rows = Transaction.objects.filter(user=user, transaction_type=TransactionType.WITHDRAWAL)
        return self._table(rows, ["created_at", "status", "amount", "currency", "account", "gateway_reference"],
                           lambda row: [row.created_at, row.status, row.amount, row.currency, _account(row),
                                        row.gateway_reference],
                           _changelist("transaction", user__id__exact=user.pk, transaction_type__exact="withdrawal"))

    @admin.display(description="ledger")
    def ledger(self, user) -> str:
        rows = Transaction.objects.filter(user=user).select_related("project")
        return self._table(rows, ["created_at", "type", "status", "amount", "net", "currency", "project"],
                           lambda row: [row.created_at, row.transaction_type, row.status, row.amount, row.net_amount,
                                        row.currency, row.project or "—"],
                           _changelist("transaction", user__id__exact=user.pk))

    @admin.display(description="projects")
    def projects(self, user) -> str:
        rows = Project.objects.filter(Q(creator=user) | Q(buyer=user) | Q(seller=user))
        return self._table(rows, ["created_at", "title", "role", "status", "total"],
                           lambda project: [project.created_at,
                                            format_html('<a href="{}">{}</a>', reverse(
                                                "admin:escrow_project_change", args=[project.pk]), project.title),
                                            _role(project, user), project.status,
                                            f"{project.total_amount} {project.currency}"],
                           _changelist("project", q=user.email))

    def _table(self, rows, headers, cells, everything: str) -> str:
        if not rows.exists():
            return "none"
        total = rows.count()
        shown = rows.order_by("-created_at")[: self.shown_rows]
        head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
        body = format_html_join("", "<tr>{}</tr>", (
            (format_html_join("", "<td>{}</td>", ((cell,) for cell in cells(row))),) for row in shown))
        more = format_html('<a href="{}">all {} →</a>', everything, total)
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, more)

    @admin.action(description="Verify the selected users", permissions=["act_as_operator"])
    def verify(self, request, queryset):
        run_service(self, request, queryset, lambda user: services.user_set_verified(user=user, actor=request.user),
                    done="verified")

    @admin.action(description="Deactivate the selected users…", permissions=["act_as_operator"])
    def deactivate(self, request, queryset):
        return with_form(self, request, queryset, form_class=ReasonForm, title="Deactivate users",
                         explanation="They will no longer be able to log in. Their money and ledger stay.",
                         perform=lambda user, data: services.user_deactivate(user=user, actor=request.user,
                                                                             reason=data["reason"]),
                         done="deactivated")


def _account(withdrawal: Transaction) -> str:
    extra = withdrawal.extra_data or {}
    name = extra.get("account_name") or "—"
    resolved = extra.get("account_name_resolved", "account_name" in extra)
    return f"{name} ({'resolved by FinCra' if resolved else 'as given'})" if "account_name" in extra else name


def _role(project: Project, user: User) -> str:
    roles = [role for role in ("creator", "buyer", "seller") if getattr(project, f"{role}_id") == user.pk]
    return ", ".join(roles)


def _changelist(model: str, **filters) -> str:
    return f"{reverse(f'admin:escrow_{model}_changelist')}?{urlencode(filters)}"


# --- projects ---

class MilestoneInline(ReadOnlyMixin, admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ["order_index", "title", "amount", "currency", "status", "is_paid", "paid_at"]
    readonly_fields = fields
    show_change_link = True


class LedgerInline(ReadOnlyMixin, admin.TabularInline):
    model = Transaction
    fk_name = "project"
    extra = 0
    classes = ["collapse"]
    verbose_name_plural = "Ledger"
    fields = ["created_at", "transaction_type", "status", "amount", "fee", "net_amount", "currency", "user",
              "milestone", "gateway_reference"]
    readonly_fields = fields
    ordering = ["created_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "milestone")


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = EscrowEvent
    fk_name = "project"
    extra = 0
    classes = ["collapse"]
    verbose_name_plural = "Audit trail"
    # ``subject``: a milestone dispute recorded before disputes were cases wrote two events, the
    # milestone's and the project's, both naming the milestone; without it they read as one row twice.
    fields = ["created_at", "actor_kind", "actor", "action", "subject", "milestone", "from_state", "to_state", "data"]
    readonly_fields = fields
    ordering = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "milestone")


@admin.register(Project)
class ProjectAdmin(NotOnOwnDealsMixin, OperatorActionsMixin, admin.ModelAdmin):
    list_display = ["title", "status", "amount", "held_amount", "buyer", "seller", "created_at", "due_date"]
    list_filter = ["status", "currency", "fee_bearer", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["title", "buyer__email", "seller__email", "creator__email", "=id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_select_related = ["buyer", "seller"]
    raw_id_fields = ["creator", "buyer", "seller", "cancel_requested_by"]
    readonly_fields = ["id", "created_at", "updated_at", "held_amount", "open_case"]
    # What an operator needs first (state, money, the open case) leads; the ledger and the audit
    # trail are folded below the milestones.
    fieldsets = [
        (None, {"fields": ["status", "held_amount", "open_case", "title", "total_amount", "currency"]}),
        ("Parties", {"fields": ["creator", "buyer", "seller"]}),
        ("Terms", {"fields": ["description", "fee_bearer", "commission_percent", "inspection_days",
                              "completion_criteria", "start_date", "due_date", "terms_accepted_at"]}),
        ("Record", {"classes": ["collapse"], "fields": ["id", "created_at", "updated_at", "completed_at",
                                                       "cancel_requested_by"]}),
    ]
    inlines = [MilestoneInline, LedgerInline, EventInline]
    actions = ["resolve_dispute", "refund", "cancel"]

    def get_queryset(self, request):
        held = Func(F("id"), function="escrow_project_held", output_field=DecimalField(max_digits=15, decimal_places=2))
        return super().get_queryset(request).annotate(held=held)

    @admin.display(description="total", ordering="total_amount")
    def amount(self, project) -> str:
        return f"{project.total_amount} {project.currency}"

    @admin.display(description="held")
    def held_amount(self, project) -> str:
        return f"{project.held} {project.currency}"

    @admin.display(description="dispute case")
    def open_case(self, project) -> str:
        if project.pk is None:
            return "—"
        cases = project.disputes.order_by("status", "-created_at").select_related("milestone")
        links = [format_html('<a href="{}" class="case-link">{} case{}: {} {} frozen{}</a>',
                             reverse("admin:escrow_dispute_change", args=[case.pk]),
                             "Open" if case.status == DisputeStatus.OPEN else "Resolved",
                             f" on “{case.milestone.title}”" if case.milestone_id else "",
                             case.frozen_amount, case.currency,
                             f" ({case.outcome})" if case.outcome else "") for case in cases]
        return format_html_join(format_html("<br>"), "{}", ((link,) for link in links)) or "none"

    def get_readonly_fields(self, request, obj=None):
        # After proposal the terms, the money and the state change only through actions.
        if obj is not None and obj.status != ProjectStatus.DRAFT:
            return [f.name for f in obj._meta.concrete_fields] + ["held_amount", "open_case"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == ProjectStatus.DRAFT)

    @admin.action(description="Resolve the dispute (release, refund or split)…", permissions=["act_as_operator"])
    @on_others_deals
    def resolve_dispute(self, request, queryset):
        return with_form(
            self, request, queryset, form_class=ResolutionForm, title="Resolve dispute", single=True,
            explanation="Everything the project still holds is settled now; the parties see your note.",
            perform=lambda project, data: services.dispute_resolve(
                project=project, actor=request.user, outcome=data["outcome"], note=data["note"],
                seller_amount=data.get("seller_amount"), buyer_amount=data.get("buyer_amount")),
            done="dispute resolved",
        )

    @admin.action(description="Refund what is held to the buyer…", permissions=["act_as_operator"])
    @on_others_deals
    def refund(self, request, queryset):
        return with_form(self, request, queryset, form_class=NoteForm, title="Refund the buyer",
                         explanation="Everything these projects still hold goes back to their buyers.",
                         perform=lambda project, data: services.project_refund(
                             project=project, actor=request.user, note=data["note"]),
                         done="refunded")

    @admin.action(description="Cancel (before funding)", permissions=["act_as_operator"])
    @on_others_deals
    def cancel(self, request, queryset):
        run_service(self, request, queryset, lambda project: services.project_cancel(project=project,
                                                                                    actor=request.user),
                    done="cancelled")


@admin.register(Milestone)
class MilestoneAdmin(NotOnOwnDealsMixin, OperatorActionsMixin, admin.ModelAdmin):
    list_display = ["title", "project", "order_index", "amount", "currency", "status", "is_paid", "completed_at"]
    list_filter = ["status", "is_paid", "currency"]
    date_hierarchy = "created_at"
    search_fields = ["title", "project__title"]
    ordering = ["-created_at"]
    list_select_related = ["project"]
    raw_id_fields = ["project"]
    actions = ["approve_for_buyer"]
    project_path = "project__"

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.project.status != ProjectStatus.DRAFT:
            return [f.name for f in obj._meta.concrete_fields]
        return ["id", "status", "is_paid", "paid_at", "approved_at", "completed_at"]

    @admin.action(description="Approve for the buyer (releases the money)…", permissions=["act_as_operator"])
    @on_others_deals
    def approve_for_buyer(self, request, queryset):
        return with_form(self, request, queryset, form_class=ReasonForm, title="Approve on the buyer's behalf",
                         explanation="Each milestone's money is released to its seller, less commission.",
                         perform=lambda milestone, data: services.milestone_approve(
                             milestone=milestone, actor=request.user, reason=data["reason"]),
                         done="approved and released")


# --- the ledger and the trails: read-only ---

class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", f"Pending for more than {int(STUCK_AFTER.total_seconds() // 3600)} h")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=stuck_payments().values("pk"))
        return queryset


@admin.register(Transaction)
class TransactionAdmin(OperatorActionsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "transaction_type", "status", "amount", "fee", "net_amount", "currency", "user",
                    "project", "gateway_reference", "gateway_fee"]
    list_filter = [StuckFilter, "transaction_type", "status", "currency", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "gateway_reference", "gateway_transaction_id", "user__email", "project__title"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_select_related = ["user", "project"]
    actions = ["reconcile"]

    @admin.action(description="Settle from FinCra's records (reconcile)", permissions=["act_as_operator"])
    def reconcile(self, request, queryset):
        def settle(row):
            if row.transaction_type == "deposit":
                outcome = gateway.confirm_deposit(row)
            else:
                outcome = gateway.settle_withdrawal(row)
            if outcome:
                self.message_user(request, f"{row}: {outcome.replace('_', ' ')}")

        run_service(self, request, queryset.filter(transaction_type__in=["deposit", "withdrawal"]), settle,
                    done="reconciled with FinCra")


@admin.register(EscrowEvent)
class EscrowEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_kind", "actor", "subject", "project", "milestone", "from_state",
                    "to_state"]
    list_filter = ["action", "actor_kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["project__title", "actor__email", "action"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_select_related = ["actor", "project", "milestone"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "event", "reference", "flag", "processed_at"]
    list_filter = ["event", "flag", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["reference", "event"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(WalletCheck)
class WalletCheckAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["checked_at", "currency", "wallet_balance", "ledger_owed", "difference", "gateway_fees"]
    list_filter = ["currency", ("checked_at", admin.DateFieldListFilter)]
    date_hierarchy = "checked_at"
    ordering = ["-checked_at"]

    @admin.display(description="wallet − owed")
    def difference(self, check: WalletCheck):
        return check.difference


# --- outbound webhooks ---

class DeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookDelivery
    fields = ["attempted_at", "trigger", "succeeded", "response_status", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    ordering = ["-attempted_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Never the secret: only its owner saw it, once.
    fields = ["owner", "url", "description", "event_types", "is_active", "failing_since", "disabled_reason",
              "created_at", "updated_at"]
    readonly_fields = fields
    list_display = ["url", "owner", "is_active", "failing_since", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "owner__email"]
    list_select_related = ["owner"]


@admin.register(WebhookMessage)
class WebhookMessageAdmin(OperatorActionsMixin, ReadOnlyMixin, admin.ModelAdmin):
    fields = ["endpoint", "event", "event_type", "status", "attempts", "created_at", "delivered_at", "payload"]
    readonly_fields = fields
    list_display = ["created_at", "event_type", "status", "attempts", "endpoint", "delivered_at"]
    list_filter = ["status", "event_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "endpoint__url", "endpoint__owner__email", "event_type"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    list_select_related = ["endpoint"]
    inlines = [DeliveryInline]
    actions = ["replay"]

    @admin.action(description="Send again (replay) to the endpoint", permissions=["act_as_operator"])
    def replay(self, request, queryset):
        run_service(self, request, queryset,
                    lambda message: webhook_replay(message=message, trigger=DeliveryTrigger.OPERATOR_REPLAY),
                    done="replay queued")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["attempted_at", "message", "endpoint", "trigger", "succeeded", "response_status", "error"]
    list_filter = ["succeeded", "trigger", ("attempted_at", admin.DateFieldListFilter)]
    search_fields = ["endpoint__url", "message__event_type"]
    ordering = ["-attempted_at"]
    list_select_related = ["message", "endpoint"]
