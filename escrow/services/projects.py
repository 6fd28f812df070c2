"""Project steps: propose, accept, cancel (before and after funding), dispute, operator refund."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from escrow.errors import AmountsDoNotAddUp, InvalidInput
from escrow.models import (
    Dispute,
    DisputeOutcome,
    DisputeStatus,
    Project,
    ProjectStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
    User,
)
from escrow.services.audit import record_event
from escrow.services.disputes import dispute_open, settle
from escrow.services.drafts import require_fundable_currency
from escrow.services.locks import lock_project, lock_project_and_milestones
from escrow.services.settlement import refund_everything_held, set_project_status
from escrow.states import PROJECT_TRANSITIONS, actor_roles, require


def _require(project: Project, actor, action: str) -> frozenset[str]:
    roles = actor_roles(project, actor)
    require(PROJECT_TRANSITIONS, action, state=project.status, roles=roles, project=project, actor=actor)
    return roles


def _reason(reason: str | None, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise InvalidInput(f"A {field} is required.", field=field)
    return reason.strip()


@transaction.atomic
def project_propose(*, project: Project, actor: User) -> Project:
    """Send a draft's terms to the counterparty: parties set, milestones summing to the total."""
    project, milestones = lock_project_and_milestones(project.pk)
    roles = _require(project, actor, "propose")
    if not project.buyer_id or not project.seller_id:
        raise InvalidInput("A project needs both a buyer and a seller before it is proposed.", field="seller_email")
    if project.buyer_id == project.seller_id:
        raise InvalidInput("The buyer and the seller must be different people.", field="seller_email")
    if not milestones:
        raise AmountsDoNotAddUp("A project needs at least one milestone before it is proposed.")
    require_fundable_currency(project.currency)  # clients may edit a draft's currency through the database
    if other := [m for m in milestones if m.currency != project.currency]:
        raise AmountsDoNotAddUp(f"Milestone '{other[0].title}' is in {other[0].currency}, the project in {project.currency}.")
    total = sum(m.amount for m in milestones)
    if total != project.total_amount:
        raise AmountsDoNotAddUp(
            f"Milestones sum to {total} {project.currency} but the project total is {project.total_amount}."
        )
    set_project_status(project, ProjectStatus.PENDING, actor=actor, roles=roles, action="propose",
                       total=project.total_amount, milestones=len(milestones))
    return project


@transaction.atomic
def project_accept(*, project: Project, actor: User) -> Project:
    """The counterparty accepts the proposed terms; the buyer may then fund."""
    project = lock_project(project.pk)
    roles = _require(project, actor, "accept")  # once only: the transition's guard
    project.terms_accepted_at = timezone.now()
    project.save(update_fields=["terms_accepted_at", "updated_at"])
    record_event(actor=actor, roles=roles, action="accept", project=project, from_state=project.status)
    return project


@transaction.atomic
def project_cancel(*, project: Project, actor: User) -> Project:
    """Cancel before funding. A checkout already started is cancelled with it."""
    project = lock_project(project.pk)
    roles = _require(project, actor, "cancel")
    pending = Transaction.objects.select_for_update().filter(
        project=project, transaction_type=TransactionType.DEPOSIT, status=TransactionStatus.PENDING
    )
    cancelled_deposits = pending.update(status=TransactionStatus.CANCELLED)
    set_project_status(project, ProjectStatus.CANCELLED, actor=actor, roles=roles, action="cancel",
                       cancelled_deposits=cancelled_deposits or None)
    return project


@transaction.atomic
def project_request_cancel(*, project: Project, actor: User) -> Project:
    """Mutual cancellation of a funded project: the first party asks; when the other agrees, the
    unreleased money goes back to the buyer and the project is refunded."""
    project = lock_project(project.pk)
    roles = _require(project, actor, "request_cancel")
    if project.cancel_requested_by_id is None:
        project.cancel_requested_by = actor
        project.save(update_fields=["cancel_requested_by", "updated_at"])
        record_event(actor=actor, roles=roles, action="request_cancel", project=project, from_state=project.status)
    else:  # the other party agrees (asking twice is refused by the transition's guard)
        refund_everything_held(project=project, actor=actor, roles=roles, action="mutual_cancel")
    return project


def project_dispute(*, project: Project, actor: User, reason: str) -> Project:
    """Either party disputes the whole project: everything still held is frozen until an operator
    resolves the dispute or the parties settle it (escrow/services/disputes.py)."""
    dispute = dispute_open(project=project, actor=actor, reason=reason)
    return dispute.project


@transaction.atomic
def project_refund(*, project: Project, actor: User, note: str) -> Project:
    """An operator returns everything still held to the buyer. A project-wide dispute it ends is
    closed as refunded (refused while a milestone's dispute is open: resolve that one first)."""
    note = _reason(note, "note")
    project, milestones = lock_project_and_milestones(project.pk)
    roles = _require(project, actor, "refund")
    dispute = Dispute.objects.select_for_update().filter(project=project, status=DisputeStatus.OPEN).first()
    if dispute is not None:
        settle(dispute=dispute, project=project, milestones=milestones, actor=actor, roles=roles,
               outcome=DisputeOutcome.REFUNDED, seller_amount=Decimal(0), buyer_amount=dispute.frozen_amount,
               note=note)
    else:
        refund_everything_held(project=project, actor=actor, roles=roles, action="refund", note=note)
    return project




def project_party_cancel(*, project: Project, actor: User) -> Project:
    """A party's "cancel": before funding it cancels; after funding it asks for (or agrees to)
    a mutual cancellation, which refunds the buyer."""
    status = Project.objects.values_list("status", flat=True).get(pk=project.pk)
    if status in (ProjectStatus.ACTIVE, ProjectStatus.IN_PROGRESS):
        return project_request_cancel(project=project, actor=actor)
    return project_cancel(project=project, actor=actor)
