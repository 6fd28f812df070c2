"""Moving held money: the release of a milestone and the refund of what is left.

Internal steps of the services; callers hold the project's lock (and the milestone's) already.
"""

from decimal import Decimal

from django.utils import timezone

from escrow.commission import commission_quote, milestone_quote
from escrow.models import FeeBearer, Milestone, MilestoneStatus, Project, ProjectStatus, TransactionType
from escrow.selectors import project_held
from escrow.services.audit import record_event
from escrow.services.ledger import PLATFORM_USER_ID, append_entry


def release_milestone(*, project: Project, milestone: Milestone, actor, roles, action: str, **event_data) -> None:
    """Approve ``milestone`` and pay it: the seller's net and the platform's commission, from the hold."""
    quote = milestone_quote(milestone, project)
    now = timezone.now()
    from_state = milestone.status
    milestone.status = MilestoneStatus.APPROVED
    milestone.approved_at = milestone.approved_at or now
    milestone.is_paid, milestone.paid_at = True, now
    milestone.save(update_fields=["status", "approved_at", "is_paid", "paid_at", "updated_at"])
    append_entry(
        transaction_type=TransactionType.ESCROW_RELEASE, user_id=project.seller_id, amount=quote.seller_receives,
        currency=project.currency, project=project, milestone=milestone,
        description=f"Release of milestone {milestone.order_index}: {milestone.title}",
    )
    if quote.commission > 0:
        append_entry(
            transaction_type=TransactionType.COMMISSION, user_id=PLATFORM_USER_ID, amount=quote.commission,
            currency=project.currency, project=project, milestone=milestone,
            description=f"Commission {project.commission_percent}% on milestone {milestone.order_index}",
        )
    record_event(
        actor=actor, roles=roles, action=action, project=project, milestone=milestone, from_state=from_state,
        to_state=MilestoneStatus.APPROVED, gross=quote.buyer_pays, released=quote.seller_receives,
        commission=quote.commission, **event_data,
    )


def release_amount(*, project: Project, gross: Decimal, actor, roles, action: str, **event_data) -> None:
    """Release ``gross`` of the hold to the seller, not tied to one milestone (a split resolution)."""
    # A split's seller part bears the commission itself, whoever bore it on the milestones.
    quote = commission_quote(amount=gross, currency=project.currency, fee_bearer=FeeBearer.SELLER,
                             percent=project.commission_percent)
    commission = quote.commission
    append_entry(
        transaction_type=TransactionType.ESCROW_RELEASE, user_id=project.seller_id, amount=gross - commission,
        currency=project.currency, project=project, description="Release by dispute resolution",
    )
    if commission > 0:
        append_entry(
            transaction_type=TransactionType.COMMISSION, user_id=PLATFORM_USER_ID, amount=commission,
            currency=project.currency, project=project, description="Commission on a dispute release",
        )
    record_event(actor=actor, roles=roles, action=action, project=project, gross=gross, commission=commission,
                 released=gross - commission, **event_data)


def refund_to_buyer(*, project: Project, amount: Decimal, actor, roles, action: str, **event_data) -> None:
    append_entry(
        transaction_type=TransactionType.REFUND, user_id=project.buyer_id, amount=amount, currency=project.currency,
        project=project, description="Refund of money held in escrow",
    )
    record_event(actor=actor, roles=roles, action=action, project=project, refunded=amount, **event_data)


def set_project_status(project: Project, target: str, *, actor, roles, action: str, **event_data) -> None:
    from_state = project.status
    project.status = target
    fields = ["status", "updated_at"]
    if target == ProjectStatus.COMPLETED:
        project.completed_at = timezone.now()
        fields.append("completed_at")
    if project.cancel_requested_by_id and target not in (ProjectStatus.ACTIVE, ProjectStatus.IN_PROGRESS):
        # A request to cancel stands while the project stays funded; it lapses when it leaves.
        project.cancel_requested_by = None
        fields.append("cancel_requested_by")
    project.save(update_fields=fields)
    record_event(actor=actor, roles=roles, action=action, project=project, from_state=from_state, to_state=target,
                 subject="project", **event_data)


def refund_everything_held(*, project: Project, actor, roles, action: str, **event_data) -> Decimal:
    """Return what the project still holds to the buyer and mark it refunded."""
    held = project_held(project.pk)
    if held > 0:
        refund_to_buyer(project=project, amount=held, actor=actor, roles=roles, action=f"{action}_refund")
    set_project_status(project, ProjectStatus.REFUNDED, actor=actor, roles=roles, action=action, refunded=held,
                       **event_data)
    return held


def complete_if_all_released(*, project: Project, milestones: list[Milestone]) -> None:
    if all(m.is_paid for m in milestones) and project.status != ProjectStatus.COMPLETED:
        set_project_status(project, ProjectStatus.COMPLETED, actor=None, roles=frozenset({"system"}),
                           action="complete")
