"""``actions`` (what the API offers a caller) lists exactly what would succeed.

For projects and milestones in every state, and each kind of caller, every action is tried
through its service in a savepoint that is rolled back: the ones that succeed must be exactly the
ones ``allowed_actions`` lists, and every one that is not listed is refused with an escrow error.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from escrow import services
from escrow.errors import EscrowError
from escrow.models import Milestone, MilestoneStatus, Project
from escrow.states import MILESTONE_TRANSITIONS, PROJECT_TRANSITIONS, allowed_actions
from tests import builders
from tests.factories import UserFactory
from tests.services.test_transitions import MILESTONE_CALLS, PROJECT_CALLS, milestone_in

CALLERS = ("buyer", "seller", "stranger", "operator")


class _Undo(Exception):
    """Raised after a successful call to roll its savepoint back."""


def succeeds(call, target, user) -> bool:
    try:
        with transaction.atomic():
            call(target, user)
            raise _Undo
    except _Undo:
        return True
    except EscrowError:
        return False


def _cancel_requested():
    project = builders.funded()
    services.project_request_cancel(project=project, actor=project.buyer)
    return builders.refreshed(project)


def _by_seller(build):
    def built():
        seller = UserFactory()
        return build(seller=seller, creator=seller)
    return built


def _invited():
    """A draft whose seller is invited by e-mail and has not joined (escrow/services/invitations.py)."""
    project = builders.draft()
    Project.objects.filter(pk=project.pk).update(seller=None)
    return builders.refreshed(project)


PROJECTS = {
    "draft_seller_invited": _invited,
    **builders.BUILDERS,
    "draft_by_seller": _by_seller(builders.draft),
    "pending_by_seller": _by_seller(builders.proposed),
    "accepted": builders.accepted,
    "accepted_by_seller": _by_seller(builders.accepted),
    "cancel_requested": _cancel_requested,
    "delivered": builders.delivered,
}


def callers(project) -> dict:
    return {"buyer": project.buyer, "seller": project.seller or UserFactory(), "stranger": UserFactory(),
            "operator": builders.make_operator()}


@pytest.mark.parametrize("state", PROJECTS)
def test_project_actions_are_exactly_what_succeeds(db, state):
    project = PROJECTS[state]()
    mismatches = {}
    for name, user in callers(project).items():
        listed = set(allowed_actions(PROJECT_TRANSITIONS, project=builders.refreshed(project), actor=user))
        assert listed <= set(PROJECT_CALLS), f"{name} is offered an action no caller can take: {listed}"
        worked = {action for action, call in PROJECT_CALLS.items()
                  if succeeds(call, builders.refreshed(project), user)}
        if listed != worked:
            mismatches[name] = {"listed, refused": listed - worked, "not listed, succeeds": worked - listed}
    assert not mismatches, mismatches


def _milestone_of(build, index=0):
    def built():
        project = build()
        return project, project.milestones.get(order_index=index)
    return built


MILESTONES = {
    **{state: (lambda state=state: milestone_in(state)) for state in MilestoneStatus.values},
    "pending_in_draft": _milestone_of(builders.draft),
    "pending_in_accepted": _milestone_of(builders.accepted),
    "pending_in_active": _milestone_of(builders.funded),
    "delivered_in_cancel_requested": None,  # filled below
    "paid_in_completed": _milestone_of(builders.completed),
}


def _delivered_with_cancel_requested():
    project = builders.delivered()
    services.project_request_cancel(project=project, actor=project.seller)
    return builders.refreshed(project), project.milestones.get(order_index=0)


MILESTONES["delivered_in_cancel_requested"] = _delivered_with_cancel_requested


@pytest.mark.parametrize("state", MILESTONES)
def test_milestone_actions_are_exactly_what_succeeds(db, state):
    project, milestone = MILESTONES[state]()
    mismatches = {}
    for name, user in callers(project).items():
        fresh = builders.refreshed(project)
        listed = set(allowed_actions(MILESTONE_TRANSITIONS, project=fresh,
                                     milestone=fresh.milestones.get(pk=milestone.pk), actor=user))
        worked = {action for action, call in MILESTONE_CALLS.items()
                  if succeeds(call, fresh.milestones.get(pk=milestone.pk), user)}
        if listed != worked:
            mismatches[name] = {"listed, refused": listed - worked, "not listed, succeeds": worked - listed}
    assert not mismatches, mismatches


@pytest.mark.parametrize(("inspection_days", "days_ago", "offered"), [(0, 365, False), (3, 2, False), (3, 4, True)])
def test_the_system_is_offered_approval_only_after_the_inspection_period(db, inspection_days, days_ago, offered):
    project = builders.delivered(inspection_days=inspection_days)
    milestone = project.milestones.get(order_index=0)
    Milestone.objects.filter(pk=milestone.pk).update(completed_at=timezone.now() - timedelta(days=days_ago))
    milestone.refresh_from_db()
    listed = "approve" in allowed_actions(MILESTONE_TRANSITIONS, project=project, milestone=milestone, actor=None)
    assert listed is offered
    assert succeeds(MILESTONE_CALLS["approve"], milestone, None) is offered
