"""``list_data`` (escrow/api/fields.py) renders a list page exactly as the DRF serializer does:
the same keys in the same order, the same values, for rows in every state, currency and null."""

import json

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from escrow.api import serializers as s
from escrow.api.fields import list_data
from escrow.api.views.projects import page_context
from escrow.models import Milestone, Project, Transaction
from tests import builders


def plain(data) -> str:
    return json.dumps(data, default=str)


def test_project_and_ledger_pages_render_as_the_serializers_do(db):
    completed = builders.completed(currency="UGX", amounts=("150000",))
    buyer = completed.buyer
    builders.draft(buyer=buyer, fee_bearer="buyer")
    builders.funded(buyer=buyer, currency="NGN", amounts=("1000.50",))
    builders.disputed(buyer=buyer)
    request = APIRequestFactory().get("/api/v1/projects/")
    force_authenticate(request, user=buyer)
    request = Request(request)
    request.user = buyer
    projects = list(Project.objects.filter(buyer=buyer).order_by("-created_at"))
    context = page_context(request, projects)
    assert len(projects) == 4
    assert plain(list_data(s.ProjectSerializer, projects, context)) == plain(
        s.ProjectSerializer(projects, many=True, context=context).data)
    rows = list(Transaction.objects.order_by("-created_at"))
    assert len({row.currency for row in rows}) == 3 and any(row.milestone_id is None for row in rows)
    assert plain(list_data(s.TransactionSerializer, rows)) == plain(s.TransactionSerializer(rows, many=True).data)
    milestones = list(Milestone.objects.filter(project__buyer=buyer).select_related("project"))
    assert len({m.status for m in milestones}) >= 3
    assert plain(list_data(s.MilestoneSerializer, milestones, {"request": request})) == plain(
        s.MilestoneSerializer(milestones, many=True, context={"request": request}).data)


def test_times_render_as_drf_renders_them_in_any_time_zone(db):
    builders.completed()
    rows = list(Transaction.objects.order_by("-created_at"))
    for zone in ("UTC", "Africa/Nairobi", "America/Sao_Paulo"):
        with timezone.override(zone):
            ours = list_data(s.TransactionSerializer, rows)
            assert plain(ours) == plain(s.TransactionSerializer(rows, many=True).data)
            assert ours[0]["created_at"].endswith("Z" if zone == "UTC" else ("+03:00" if "Nairobi" in zone else "-03:00"))
