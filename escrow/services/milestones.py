"""Milestone steps: the seller starts and delivers; the buyer approves (releasing the money) or
rejects; either party disputes. Delivered milestones past the inspection period are approved by
the system (``milestone_auto_approve_due``, run by ``manage.py escrow_auto_approve``)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from escrow.errors import EscrowError, InvalidInput
from escrow.models import Milestone, MilestoneStatus, ProjectStatus, User
from escrow.services.audit import record_event
from escrow.services.disputes import dispute_open
from escrow.services.locks import lock_milestone, lock_project_and_milestones
from escrow.services.settlement import complete_if_finished, release_milestone, set_project_status
from escrow.states import MILESTONE_TRANSITIONS, PROJECT_TRANSITIONS, actor_roles, require


def _step(milestone: Milestone, actor, action: str, **changes):
    """Lock, check the transition, apply ``changes`` and the new status, and audit it."""
    project, milestone = lock_milestone(milestone.pk)
    roles = actor_roles(project, actor)
    transition = require(MILESTONE_TRANSITIONS, action, state=milestone.status, roles=roles,
                         project_state=project.status, noun="milestone", project=project, milestone=milestone,
                         actor=actor)
    from_state = milestone.status
    milestone.status = transition.target
    for field, value in changes.items():
        setattr(milestone, field, value)
    milestone.save(update_fields=["status", "updated_at", *changes])
    return project, milestone, roles, from_state


@transaction.atomic
def milestone_start(*, milestone: Milestone, actor: User) -> Milestone:
    """The seller starts (or, after a rejection, resumes) work; the first start begins the project."""
    project, milestone, roles, from_state = _step(milestone, actor, "start")
    record_event(actor=actor, roles=roles, action="start", project=project, milestone=milestone,
                 from_state=from_state, to_state=milestone.status)
    if project.status == ProjectStatus.ACTIVE:
        require(PROJECT_TRANSITIONS, "begin_work", state=project.status, roles=frozenset({"system"}))
        set_project_status(project, ProjectStatus.IN_PROGRESS, actor=None, roles=frozenset({"system"}),
                           action="begin_work", milestone=milestone)
    return milestone


@transaction.atomic
def milestone_submit(*, milestone: Milestone, actor: User, notes: str = "") -> Milestone:
    """The seller delivers; the buyer's inspection period starts now."""
    project, milestone, roles, from_state = _step(
        milestone, actor, "submit", completed_at=timezone.now(), completion_notes=notes or None
    )
    record_event(actor=actor, roles=roles, action="submit", project=project, milestone=milestone,
                 from_state=from_state, to_state=milestone.status, notes=notes or None)
    return milestone


@transaction.atomic
def milestone_approve(*, milestone: Milestone, actor: User | None, reason: str = "") -> Milestone:
    """The buyer (or an operator on their behalf, with a reason, or the system after the
    inspection period) approves a delivered milestone, which releases its money: the seller's
    net and the platform's commission. The project completes with its last release."""
    project, milestones = lock_project_and_milestones(milestone.project_id)  # a milestone never changes project
    milestone = next(m for m in milestones if m.pk == milestone.pk)
    roles = actor_roles(project, actor)
    # The system approves only after the inspection period: the transition's guard.
    require(MILESTONE_TRANSITIONS, "approve", state=milestone.status, roles=roles, project_state=project.status,
            noun="milestone", project=project, milestone=milestone, actor=actor)
    on_behalf = "operator" in roles and "buyer" not in roles
    if on_behalf and not reason.strip():
        raise InvalidInput("An operator approving for the buyer must give a reason.", field="reason")
    release_milestone(project=project, milestone=milestone, actor=actor, roles=roles, action="approve",
                      reason=reason.strip() or None)
    complete_if_finished(project=project, milestones=milestones)
    return milestone


@transaction.atomic
def milestone_reject(*, milestone: Milestone, actor: User, reason: str) -> Milestone:
    """The buyer sends a delivery back, saying why; the seller may start again."""
    if not reason or not reason.strip():
        raise InvalidInput("A reason is required to reject a milestone.", field="reason")
    project, milestone, roles, from_state = _step(milestone, actor, "reject")
    record_event(actor=actor, roles=roles, action="reject", project=project, milestone=milestone,
                 from_state=from_state, to_state=milestone.status, reason=reason.strip())
    return milestone


def milestone_dispute(*, milestone: Milestone, actor: User, reason: str) -> Milestone:
    """Either party disputes a milestone: its money is frozen; the other milestones go on."""
    dispute_open(project=milestone.project, actor=actor, reason=reason, milestone=milestone)
    milestone.refresh_from_db()
    return milestone


def milestone_auto_approve_due(*, now=None) -> list[Milestone]:
    """Approve, as the system, every delivered milestone whose inspection period has run out.

    Each milestone in its own transaction, re-checked under its locks, so two runs at once
    approve each milestone once: the second finds it approved and skips it.
    """
    now = now or timezone.now()
    due = Milestone.objects.filter(
        status=MilestoneStatus.COMPLETED,
        project__status__in=[ProjectStatus.ACTIVE, ProjectStatus.IN_PROGRESS],
        project__inspection_days__gt=0,
        completed_at__lte=now - timedelta(days=1) * F("project__inspection_days"),
    ).order_by("completed_at")
    approved = []
    for milestone in due:
        try:
            approved.append(milestone_approve(milestone=milestone, actor=None, reason="inspection period ended"))
        except EscrowError:
            continue  # approved, disputed or rejected meanwhile: nothing to do
    return approved
