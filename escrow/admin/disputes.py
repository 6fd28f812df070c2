"""Dispute cases in the operator console: the queue of open cases and a case page per dispute.

The case page shows what an operator needs to decide (who raised it and why, the deadline, the
frozen money with its commission parts, the messages, evidence, offers, the project's timeline and
each party's standing) and acts from there through the engine's services: resolve (release, refund,
split), post a message or an internal note, assign the case. A refusal by the engine is shown on
the same form with what was typed, and nothing is written (each service is one transaction).

An operator who is a party to the project does not open its case here at all: they would read the
operators' internal notes on their own deal, and may not act on it (``NotOnOwnDealsMixin``).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from escrow import services
from escrow.admin.actions import ResolutionForm
from escrow.admin.models import NotOnOwnDealsMixin, OperatorActionsMixin, ReadOnlyMixin
from escrow.commission import milestone_quote
from escrow.downloads import evidence_response
from escrow.errors import EscrowError
from escrow.models import Dispute, DisputeStatus, EscrowEvent, Project, User
from escrow.selectors import available_balances
from escrow.services.disputes_case import operators
from escrow.services.settlement import FINISHED
from escrow.states import OPERATOR_PERMISSION


class CaseStatusFilter(admin.SimpleListFilter):
    """Open cases unless asked otherwise: the queue is what is waiting."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(DisputeStatus.OPEN, "Open"), (DisputeStatus.RESOLVED, "Resolved"), ("all", "All")]

    def value(self):
        return super().value() or DisputeStatus.OPEN

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        return queryset if self.value() == "all" else queryset.filter(status=self.value())


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Me"), ("nobody", "Nobody")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assignment__operator=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignment__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "response deadline"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Passed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=DisputeStatus.OPEN, response_due_at__lte=timezone.now())
        return queryset


class MessageForm(forms.Form):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    internal = forms.BooleanField(label="Internal note (operators only; the parties never see it)", required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label="File (PDF or image)")
    description = forms.CharField(max_length=500, required=False)


class AssignForm(forms.Form):
    operator = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        parties = {project.creator_id, project.buyer_id, project.seller_id}
        choices = [user.pk for user in operators() if user.pk not in parties]
        self.fields["operator"].queryset = User.objects.filter(pk__in=choices).order_by("email")


@admin.register(Dispute)
class DisputeAdmin(NotOnOwnDealsMixin, OperatorActionsMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The queue (the change list: open cases, oldest deadline first) and the case page (the
    change view, replaced by ``case.html``)."""

    list_display = ["case", "status", "raised", "deadline", "frozen", "assigned", "outcome"]
    list_filter = [CaseStatusFilter, AssignedFilter, OverdueFilter, "outcome", "currency"]
    search_fields = ["project__title", "reason", "raised_by__email", "project__buyer__email",
                     "project__seller__email", "=id"]
    ordering = ["response_due_at", "created_at"]  # the deadline first; of two due at once, the older
    list_select_related = ["project", "milestone", "raised_by", "assignment__operator"]
    actions = ["assign_to_me"]
    project_path = "project__"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Dispute cases", **(extra_context or {})})

    @admin.display(description="case", ordering="created_at")
    def case(self, dispute) -> str:
        what = f"milestone “{dispute.milestone.title}” of " if dispute.milestone_id else ""
        mine = " (your own deal)" if getattr(dispute, "operator_is_party", False) else ""
        return format_html("{}{}{}", what, dispute.project.title, mine)

    @admin.display(description="raised", ordering="created_at")
    def raised(self, dispute) -> str:
        return format_html("{} ago by {}", _age(dispute.created_at), dispute.raised_by.email)

    @admin.display(description="response due", ordering="response_due_at")
    def deadline(self, dispute) -> str:
        if dispute.status == DisputeStatus.OPEN and dispute.response_due_at <= timezone.now():
            return format_html('<strong class="overdue" style="color: #ba2121">overdue since {}</strong>',
                               _when(dispute.response_due_at))
        return _when(dispute.response_due_at)

    @admin.display(description="frozen", ordering="frozen_amount")
    def frozen(self, dispute) -> str:
        return f"{dispute.frozen_amount} {dispute.currency}"

    @admin.display(description="assigned to", ordering="assignment__operator__email")
    def assigned(self, dispute) -> str:
        assignment = getattr(dispute, "assignment", None)
        return assignment.operator.email if assignment else "—"

    @admin.action(description="Assign the selected cases to me", permissions=["act_as_operator"])
    def assign_to_me(self, request, queryset):
        for dispute in self.others_deals(request, queryset):
            try:
                services.dispute_assign(dispute=dispute, actor=request.user, operator=request.user)
            except EscrowError as error:
                self.message_user(request, f"{dispute}: {error}", messages.ERROR)
                continue
            self.log_change(request, dispute, "assigned to me (operator console)")
            self.message_user(request, f"{dispute}: assigned to you.", messages.SUCCESS)

    # --- the case page ---

    def get_urls(self):
        evidence = path("<uuid:dispute_id>/evidence/<uuid:evidence_id>/",
                        self.admin_site.admin_view(self.evidence_view), name="escrow_dispute_evidence")
        return [evidence, *super().get_urls()]

    def _case_or_refuse(self, request, dispute_id) -> Dispute:
        dispute = get_object_or_404(self.get_queryset(request).select_related(
            "project__buyer", "project__seller", "project__creator", "milestone", "raised_by", "resolved_by"),
            pk=dispute_id)
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        if dispute.operator_is_party:
            raise PermissionDenied("You are a party to this project: another operator handles its case.")
        return dispute

    def evidence_view(self, request, dispute_id, evidence_id):
        """A file of the case, to an operator allowed to open the case (never a public URL)."""
        dispute = self._case_or_refuse(request, dispute_id)
        evidence = dispute.evidence.filter(pk=evidence_id).first()
        if evidence is None:
            raise Http404
        return evidence_response(evidence)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dispute = self._case_or_refuse(request, object_id)
        can_act = request.user.has_perm(OPERATOR_PERMISSION) and dispute.status == DisputeStatus.OPEN
        resolution = ResolutionForm(initial={"outcome": "split", "seller_amount": dispute.frozen_amount,
                                             "buyer_amount": "0.00"}, prefix="resolve")
        message = MessageForm(prefix="message")
        attach = EvidenceForm(prefix="evidence")
        assign = AssignForm(project=dispute.project, prefix="assign",
                            initial={"operator": request.user.pk})
        if request.method == "POST":
            if not can_act:
                raise PermissionDenied
            if "resolve" in request.POST:
                resolution = ResolutionForm(request.POST, prefix="resolve")
                if self._resolve(request, dispute, resolution):
                    return HttpResponseRedirect(request.path)
            elif "post_message" in request.POST:
                message = MessageForm(request.POST, prefix="message")
                if self._post(request, dispute, message):
                    return HttpResponseRedirect(f"{request.path}#messages")
            elif "attach_evidence" in request.POST:
                attach = EvidenceForm(request.POST, request.FILES, prefix="evidence")
                if self._attach(request, dispute, attach):
                    return HttpResponseRedirect(f"{request.path}#evidence")
            elif "assign" in request.POST:
                assign = AssignForm(request.POST, project=dispute.project, prefix="assign")
                if self._assign(request, dispute, assign):
                    return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            **case_context(dispute),
            "title": f"Dispute case: {dispute.project.title}",
            "opts": self.model._meta, "original": dispute, "can_act": can_act,
            "resolution": resolution, "message": message, "attach": attach, "assign": assign,
            "assignment": getattr(dispute, "assignment", None),
            "queue_url": reverse("admin:escrow_dispute_changelist"),
            "project_url": reverse("admin:escrow_project_change", args=[dispute.project_id]),
        }
        return TemplateResponse(request, "admin/escrow/case.html", context)

    def _resolve(self, request, dispute, form) -> bool:
        if not form.is_valid():
            return False
        data = form.cleaned_data
        try:
            services.dispute_resolve(dispute=dispute, actor=request.user, outcome=data["outcome"], note=data["note"],
                                     seller_amount=data.get("seller_amount"), buyer_amount=data.get("buyer_amount"))
        except EscrowError as error:
            # The typed input stays on the form, with the engine's own words; nothing was written.
            form.add_error(None, str(error))
            return False
        self.log_change(request, dispute, f"dispute resolved: {data['outcome']} (operator console)")
        self.message_user(request, f"Dispute resolved: {data['outcome']}.", messages.SUCCESS)
        return True

    def _post(self, request, dispute, form) -> bool:
        if not form.is_valid():
            return False
        try:
            services.dispute_message_post(dispute=dispute, actor=request.user, body=form.cleaned_data["body"],
                                          internal=form.cleaned_data["internal"])
        except EscrowError as error:
            form.add_error(None, str(error))
            return False
        kind = "internal note" if form.cleaned_data["internal"] else "message"
        self.message_user(request, f"Your {kind} is on the case.", messages.SUCCESS)
        return True

    def _attach(self, request, dispute, form) -> bool:
        if not form.is_valid():
            return False
        try:
            services.dispute_evidence_add(dispute=dispute, actor=request.user, upload=form.cleaned_data["file"],
                                          description=form.cleaned_data["description"])
        except EscrowError as error:  # checked by content and size, as the parties' uploads
            form.add_error(None, str(error))
            return False
        self.message_user(request, "The file is on the case.", messages.SUCCESS)
        return True

    def _assign(self, request, dispute, form) -> bool:
        if not form.is_valid():
            return False
        try:
            services.dispute_assign(dispute=dispute, actor=request.user, operator=form.cleaned_data["operator"])
        except EscrowError as error:
            form.add_error(None, str(error))
            return False
        self.log_change(request, dispute, f"assigned to {form.cleaned_data['operator']} (operator console)")
        self.message_user(request, f"Assigned to {form.cleaned_data['operator']}.", messages.SUCCESS)
        return True


def case_context(dispute: Dispute) -> dict:
    """What the case page shows, read from the case, its project and the engine's own rules."""
    project = dispute.project
    if dispute.milestone_id:
        concerned = [dispute.milestone]
    elif dispute.status == DisputeStatus.OPEN:  # a project-wide case froze every milestone not finished
        concerned = list(project.milestones.exclude(status__in=FINISHED).order_by("order_index"))
    else:
        concerned = list(project.milestones.filter(outcome=dispute.outcome).order_by("order_index"))
    # The commission parts of what was frozen, by escrow.commission (the buyer paid in each
    # milestone's amount plus the buyer's share of its commission).
    parts = [{"milestone": m, "quote": milestone_quote(m, project)} for m in concerned]
    paid_in = sum((part["quote"].buyer_pays for part in parts), start=0)
    parties = []
    for role, user in (("buyer", project.buyer), ("seller", project.seller)):
        deals = Project.objects.filter(Q(creator=user) | Q(buyer=user) | Q(seller=user))
        disputes = Dispute.objects.filter(Q(project__buyer=user) | Q(project__seller=user)).exclude(pk=dispute.pk)
        parties.append({
            "role": role, "user": user, "balances": available_balances(user.pk),
            "url": reverse("admin:escrow_user_change", args=[user.pk]),
            "projects": deals.count(),
            "disputes": disputes.aggregate(total=Count("pk"), raised=Count("pk", filter=Q(raised_by=user))),
        })
    return {
        "dispute": dispute, "project": project, "overdue": dispute.status == DisputeStatus.OPEN
        and dispute.response_due_at <= timezone.now(),
        "raised_role": ", ".join(sorted(project.role_of(dispute.raised_by) & {"buyer", "seller"})) or "operator",
        "parts": parts, "parts_total": paid_in, "parts_differ": paid_in != dispute.frozen_amount,
        "case_messages": dispute.messages.select_related("author"),
        "evidence": [(item, reverse("admin:escrow_dispute_evidence", args=[dispute.pk, item.pk]))
                     for item in dispute.evidence.select_related("uploaded_by")],
        "offers": dispute.offers.select_related("made_by", "decided_by"),
        "timeline": EscrowEvent.objects.filter(project=project).select_related("actor", "milestone")
        .order_by("created_at"),
        "parties": parties,
    }


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _age(moment) -> str:
    return timesince(moment)
