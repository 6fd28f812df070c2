"""Dispute resolution by an operator: release to the seller, refund the buyer, or split."""

from decimal import Decimal

from django.db import transaction

from escrow.errors import AmountsDoNotAddUp, InvalidInput
from escrow.models import Project, ProjectStatus, User
from escrow.money import parse_amount
from escrow.selectors import project_held
from escrow.services.locks import lock_project_and_milestones
from escrow.services.settlement import (
    refund_everything_held,
    refund_to_buyer,
    release_amount,
    release_milestone,
    set_project_status,
)
from escrow.states import PROJECT_TRANSITIONS, actor_roles, require

OUTCOMES = ("release", "refund", "split")


@transaction.atomic
def dispute_resolve(*, project: Project, actor: User, outcome: str, note: str,
                    seller_amount: Decimal | str | None = None, buyer_amount: Decimal | str | None = None) -> Project:
    """Settle everything a disputed project still holds.

    - ``release``: every unreleased milestone is released to the seller as if approved
      (commission as usual); the project is completed.
    - ``refund``: all that is held goes back to the buyer; the project is refunded.
    - ``split``: ``seller_amount`` is released (commission taken from it) and ``buyer_amount``
      refunded; they must sum exactly to what is held. The project is completed when the buyer
      gets nothing back, refunded otherwise.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}.", field="outcome")
    if not note or not note.strip():
        raise InvalidInput("A resolution note is required.", field="note")
    project, milestones = lock_project_and_milestones(project.pk)
    roles = actor_roles(project, actor)
    require(PROJECT_TRANSITIONS, "resolve", state=project.status, roles=roles)
    note = note.strip()
    if outcome == "refund":
        refund_everything_held(project=project, actor=actor, roles=roles, action="resolve", outcome=outcome, note=note)
        return project
    if outcome == "release":
        for milestone in milestones:
            if not milestone.is_paid:
                release_milestone(project=project, milestone=milestone, actor=actor, roles=roles,
                                  action="resolve_release", note=note)
        set_project_status(project, ProjectStatus.COMPLETED, actor=actor, roles=roles, action="resolve",
                           outcome=outcome, note=note)
        return project
    held = project_held(project.pk)
    to_seller = parse_amount(seller_amount or "0", project.currency, field="seller_amount", allow_zero=True)
    to_buyer = parse_amount(buyer_amount or "0", project.currency, field="buyer_amount", allow_zero=True)
    if to_seller + to_buyer != held:
        raise AmountsDoNotAddUp(
            f"The split ({to_seller} + {to_buyer}) must equal what is held: {held} {project.currency}."
        )
    if to_seller > 0:
        release_amount(project=project, gross=to_seller, actor=actor, roles=roles, action="resolve_release", note=note)
    if to_buyer > 0:
        refund_to_buyer(project=project, amount=to_buyer, actor=actor, roles=roles, action="resolve_refund", note=note)
    target = ProjectStatus.REFUNDED if to_buyer > 0 else ProjectStatus.COMPLETED
    set_project_status(project, target, actor=actor, roles=roles, action="resolve", outcome=outcome, note=note,
                       seller_amount=to_seller, buyer_amount=to_buyer)
    return project
