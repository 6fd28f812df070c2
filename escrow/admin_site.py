"""The admin site, with a dashboard on its first page: open dispute cases (to their queue), stuck payments, money held,
and FinCra's wallet against what the ledger owes.

Outside the ``escrow.admin`` package on purpose: Django imports the site class while it builds the
site, and importing the package then would register the model admins on a site being replaced.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from escrow import logins
from escrow.models import DisputeStatus
from escrow.selectors import held_per_currency, latest_wallet_checks, stuck_payments


class EscrowAdminSite(admin.AdminSite):
    site_header = "Amani operator console"
    site_title = "Amani"
    index_title = "Escrow operations"
    index_template = "admin/escrow/index.html"

    def login(self, request, extra_context=None):
        # Failed logins lock the console out like the API (django-axes, escrow/logins.py): one
        # attempt at a time per address and per account, its failure committed before the next.
        if request.method != "POST":
            return super().login(request, extra_context)
        try:
            with logins.login_attempt(request, request.POST.get("username")):
                return super().login(request, extra_context)
        except logins.Busy:
            return logins.refusal(request, "busy", logins.BUSY_MESSAGE, 1)

    def index(self, request, extra_context=None):
        user = request.user
        context = {**(extra_context or {})}
        if user.has_perm("escrow.view_dispute"):
            from escrow.models import Dispute

            open_cases = Dispute.objects.filter(status=DisputeStatus.OPEN)
            context["open_disputes"] = {
                "count": open_cases.count(),
                "overdue": open_cases.filter(response_due_at__lte=timezone.now()).count(),
                "url": f"{reverse('admin:escrow_dispute_changelist')}?status={DisputeStatus.OPEN}",
            }
        if user.has_perm("escrow.view_project"):
            projects = reverse("admin:escrow_project_changelist")
            context["held"] = [
                {"currency": currency, "amount": amount, "url": f"{projects}?currency__exact={currency}"}
                for currency, amount in held_per_currency().items()
            ]
        if user.has_perm("escrow.view_walletcheck"):
            checks = reverse("admin:escrow_walletcheck_changelist")
            context["wallet"] = [
                {"check": check, "url": f"{checks}?currency__exact={check.currency}"} for check in latest_wallet_checks()
            ]
        if user.has_perm("escrow.view_transaction"):
            context["stuck_payments"] = {
                "count": stuck_payments().count(),
                "url": f"{reverse('admin:escrow_transaction_changelist')}?stuck=yes",
            }
        return super().index(request, context)
