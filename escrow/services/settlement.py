"""Moving held money: the release of a milestone and the refund of what is left.

Internal steps of the services; callers hold the project's lock (and the milestone's) already.
"""

from decimal import Decimal

from django.utils import timezone

from escrow.commission import commission_quote, milestone_quote
from escrow.models import FeeBearer, Milestone, MilestoneStatus, Project, ProjectStatus, TransactionType
from escrow.selectors import project_held
from escrow.services.audit import record_event
from escrow.services.ledger import PLATFORM_USER_ID, append_entries, append_entry, ledger_entry

# A milestone whose money is settled: released on approval, or ended by a dispute.
FINISHED = (MilestoneStatus.APPROVED, MilestoneStatus.REFUNDED, MilestoneStatus.SPLIT)


def release_milestone(*, project: Project, milestone: Milestone, actor, roles, action: str, outcome: str = "",
                      **event_data) -> None:
    """Approve ``milestone`` and pay it: the seller's net and the platform's commission, from the hold.
    ``outcome``: set when a dispute ends this way (``released``)."""
    quote = milestone_quote(milestone, project)
    now = timezone.now()
    from_state = milestone.status
    milestone.status = MilestoneStatus.APPROVED
    milestone.approved_at = milestone.approved_at or now
    milestone.is_paid, milestone.paid_at = True, now
    milestone.outcome = outcome
    milestone.save(update_fields=["status", "approved_at", "is_paid", "paid_at", "outcome", "updated_at"])
    entries = [ledger_entry(
        transaction_type=TransactionType.ESCROW_RELEASE, user_id=project.seller_id, amount=quote.seller_receives,
        currency=project.currency, project=project, milestone=milestone,
        description=f"Release of milestone {milestone.order_index}: {milestone.title}",
    )]
    if quote.commission > 0:
        entries.append(ledger_entry(
            transaction_type=TransactionType.COMMISSION, user_id=PLATFORM_USER_ID, amount=quote.commission,
            currency=project.currency, project=project, milestone=milestone,
            description=f"Commission {project.commission_percent}% on milestone {milestone.order_index}",
        ))
    append_entries(entries)
    record_event(
        actor=actor, roles=roles, action=action, project=project, milestone=milestone, from_state=from_state,
        to_state=MilestoneStatus.APPROVED, gross=quote.buyer_pays, released=quote.seller_receives,
        commission=quote.commission, **event_data,
    )


def release_amount(*, project: Project, gross: Decimal, actor, roles, action: str, milestone: Milestone | None = None,
                   **event_data) -> None:
    """Release ``gross`` of the hold to the seller (a split resolution): of one ``milestone``'s
    money, or not tied to one (a project-wide dispute)."""
    # A split's seller part bears the commission itself, whoever bore it on the milestones.
    quote = commission_quote(amount=gross, currency=project.currency, fee_bearer=FeeBearer.SELLER,
                             percent=project.commission_percent)
    commission = quote.commission
    append_entry(
        transaction_type=TransactionType.ESCROW_RELEASE, user_id=project.seller_id, amount=gross - commission,
        currency=project.currency, project=project, milestone=milestone, description="Release by dispute resolution",
    )
    if commission > 0:
        append_entry(
            transaction_type=TransactionType.COMMISSION, user_id=PLATFORM_USER_ID, amount=commission,
            currency=project.currency, project=project, milestone=milestone,
            description="Commission on a dispute release",
        )
    record_event(actor=actor, roles=roles, action=action, project=project, milestone=milestone, gross=gross,
                 commission=commission, released=gross - commission, **event_data)


def refund_to_buyer(*, project: Project, amount: Decimal, actor, roles, action: str,
                    milestone: Milestone | None = None, **event_data) -> None:
    append_entry(
        transaction_type=TransactionType.REFUND, user_id=project.buyer_id, amount=amount, currency=project.currency,
        project=project, milestone=milestone, description="Refund of money held in escrow",
    )
    record_event(actor=actor, roles=roles, action=action, project=project, milestone=milestone, refunded=amount,
                 **event_data)


def end_milestones(milestones: list[Milestone], status: str, *, outcome: str = "") -> None:
    """Give every milestone not yet finished its final ``status`` (the money of all of them was
    settled together): no milestone keeps a working or disputed status in a finished project."""
    for milestone in milestones:
        if milestone.status not in FINISHED:
            milestone.status, milestone.outcome = status, outcome
            milestone.save(update_fields=["status", "outcome", "updated_at"])


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


def refund_everything_held(*, project: Project, actor, roles, action: str, outcome: str = "",
                           **event_data) -> Decimal:
    """Return what the project still holds to the buyer and mark it refunded, with every milestone
    not yet finished (their money went back). Callers hold the project's lock; the milestones'
    are taken here, in the fixed order."""
    held = project_held(project.pk)
    if held > 0:
        refund_to_buyer(project=project, amount=held, actor=actor, roles=roles, action=f"{action}_refund")
    end_milestones(list(Milestone.objects.select_for_update().filter(project=project).order_by("order_index")),
                   MilestoneStatus.REFUNDED, outcome=outcome)
    if outcome:
        project.outcome = outcome
        project.save(update_fields=["outcome", "updated_at"])
    set_project_status(project, ProjectStatus.REFUNDED, actor=actor, roles=roles, action=action, refunded=held,
                       **({"outcome": outcome} if outcome else {}), **event_data)
    return held


def complete_if_finished(*, project: Project, milestones: list[Milestone]) -> None:
    """Once every milestone is finished, the project ends: completed when the seller was paid for
    any of them, refunded when every one went back to the buyer through its dispute."""
    if project.status not in (ProjectStatus.ACTIVE, ProjectStatus.IN_PROGRESS):
        return
    if not all(m.status in FINISHED for m in milestones):
        return
    system = frozenset({"system"})
    if any(m.is_paid for m in milestones):
        set_project_status(project, ProjectStatus.COMPLETED, actor=None, roles=system, action="complete")
    else:
        set_project_status(project, ProjectStatus.REFUNDED, actor=None, roles=system, action="close_refunded")
