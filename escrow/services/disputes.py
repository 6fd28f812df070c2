"""Disputes: opening one, and ending it — by an operator (release, refund, split) or by the
parties' accepted offer (escrow/services/dispute_offers.py), both through ``settle``.

A dispute freezes only what it is about. On a milestone, that milestone's money (what the buyer
paid in for it: its amount plus the buyer's part of the commission) is frozen and the milestone
is ``disputed``; the project stays funded and its other milestones go on. On the whole project
(``milestone`` None), everything still held is frozen and the project is ``disputed``. The
database holds the same rule (migration 0021): no money leaves a project or milestone while a
dispute on it is open, so a resolution first closes the case, then moves the money.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escrow.commission import milestone_quote
from escrow.errors import AmountsDoNotAddUp, InvalidInput
from escrow.models import (
    Dispute,
    DisputeOutcome,
    DisputeStatus,
    Milestone,
    MilestoneStatus,
    OfferStatus,
    Project,
    ProjectStatus,
    User,
)
from escrow.money import parse_amount
from escrow.selectors import project_held
from escrow.services.audit import record_event
from escrow.services.locks import lock_dispute, lock_project, lock_project_and_milestones
from escrow.services.settlement import (
    FINISHED,
    complete_if_finished,
    end_milestones,
    refund_to_buyer,
    release_amount,
    release_milestone,
    set_project_status,
)
from escrow.states import MILESTONE_TRANSITIONS, PROJECT_TRANSITIONS, actor_roles, require, require_on_case

# The operator's choices, and the outcome word each records.
OUTCOMES = {"release": DisputeOutcome.RELEASED, "refund": DisputeOutcome.REFUNDED, "split": DisputeOutcome.SPLIT}


def _text(value: str | None, field: str) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"A {field} is required.", field=field)
    return value.strip()


@transaction.atomic
def dispute_open(*, project: Project, actor: User, reason: str, milestone: Milestone | None = None) -> Dispute:
    """Either party disputes a milestone (freezing its money) or the whole project (freezing
    everything held). The parties have ``ESCROW_DISPUTE_RESPONSE_DAYS`` to answer."""
    reason = _text(reason, "reason")
    project, milestones = lock_project_and_milestones(project.pk)
    roles = actor_roles(project, actor)
    if milestone is None:
        require(PROJECT_TRANSITIONS, "dispute", state=project.status, roles=roles, project=project, actor=actor)
        frozen = project_held(project.pk)
    else:
        milestone = next(m for m in milestones if m.pk == milestone.pk)
        require(MILESTONE_TRANSITIONS, "dispute", state=milestone.status, roles=roles,
                project_state=project.status, noun="milestone", project=project, milestone=milestone, actor=actor)
        frozen = milestone_quote(milestone, project).buyer_pays
    dispute = Dispute.objects.create(
        project=project, milestone=milestone, raised_by=actor, reason=reason, frozen_amount=frozen,
        currency=project.currency,
        response_due_at=timezone.now() + timedelta(days=settings.ESCROW_DISPUTE_RESPONSE_DAYS),
    )
    if milestone is None:
        set_project_status(project, ProjectStatus.DISPUTED, actor=actor, roles=roles, action="dispute", reason=reason,
                           dispute=dispute, held=frozen)
    else:
        from_state, milestone.status = milestone.status, MilestoneStatus.DISPUTED
        milestone.save(update_fields=["status", "updated_at"])
        record_event(actor=actor, roles=roles, action="dispute", project=project, milestone=milestone,
                     from_state=from_state, to_state=milestone.status, reason=reason, dispute=dispute, held=frozen)
    return dispute


def open_dispute_of(project: Project) -> Dispute:
    """The project-wide open dispute of a disputed ``project``."""
    return Dispute.objects.get(project=project, status=DisputeStatus.OPEN, milestone__isnull=True)


@transaction.atomic
def dispute_resolve(*, actor: User, outcome: str, note: str, dispute: Dispute | None = None,
                    project: Project | None = None, seller_amount: Decimal | str | None = None,
                    buyer_amount: Decimal | str | None = None) -> Dispute:
    """An operator ends a dispute (``dispute``, or the only open one of ``project``):

    - ``release``: the frozen milestones are released to the seller as if approved (commission as
      usual);
    - ``refund``: everything frozen goes back to the buyer;
    - ``split``: ``seller_amount`` (gross: the commission is taken from it) and ``buyer_amount``,
      which must sum exactly to what was frozen.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}.", field="outcome")
    note = _text(note, "note")
    if dispute is None:
        # By project: its project-wide dispute (the operators' project page, and older callers).
        if project is None:
            raise TypeError("dispute_resolve needs the dispute (or its project)")
        locked = lock_project(project.pk)
        require(PROJECT_TRANSITIONS, "resolve", state=locked.status, roles=actor_roles(locked, actor))
        dispute = open_dispute_of(locked)
    project, milestones, dispute = lock_dispute(dispute.pk)
    roles = actor_roles(project, actor)
    require_on_case("resolve", dispute=dispute, offer=None, actor=actor, roles=roles)
    if outcome == "split":
        to_seller = parse_amount(seller_amount or "0", project.currency, field="seller_amount", allow_zero=True)
        to_buyer = parse_amount(buyer_amount or "0", project.currency, field="buyer_amount", allow_zero=True)
    else:
        to_seller, to_buyer = (dispute.frozen_amount, Decimal(0)) if outcome == "release" \
            else (Decimal(0), dispute.frozen_amount)
    settle(dispute=dispute, project=project, milestones=milestones, actor=actor, roles=roles,
           outcome=OUTCOMES[outcome], seller_amount=to_seller, buyer_amount=to_buyer, note=note)
    return dispute


def settle(*, dispute: Dispute, project: Project, milestones: list[Milestone], actor, roles, outcome: str,
           seller_amount: Decimal, buyer_amount: Decimal, note: str) -> None:
    """End ``dispute`` (locked with its project and milestones by the caller): close the case,
    then move exactly what it froze, then give the project and milestones their outcome.

    The same for an operator and for the parties' accepted offer: the exact sum, the commission
    on the seller's part, the outcome words."""
    frozen = dispute.frozen_amount
    if seller_amount + buyer_amount != frozen:
        raise AmountsDoNotAddUp(
            f"The split ({seller_amount} + {buyer_amount}) must equal what the dispute froze: {frozen} {project.currency}."
        )
    now = timezone.now()
    dispute.status, dispute.outcome, dispute.resolved_at = DisputeStatus.RESOLVED, outcome, now
    dispute.seller_amount, dispute.buyer_amount = seller_amount, buyer_amount
    dispute.resolved_by, dispute.resolution_note = actor, note
    dispute.save()
    dispute.offers.filter(status=OfferStatus.OPEN).update(status=OfferStatus.LAPSED, decided_at=now)
    details = {"dispute": dispute, "outcome": outcome, "note": note, "seller_amount": seller_amount,
               "buyer_amount": buyer_amount}
    if dispute.milestone_id is None:
        _settle_project(project, milestones, actor, roles, outcome, seller_amount, buyer_amount, details)
    else:
        milestone = next(m for m in milestones if m.pk == dispute.milestone_id)
        _settle_milestone(project, milestone, actor, roles, outcome, seller_amount, buyer_amount, details)
        complete_if_finished(project=project, milestones=milestones)


def _settle_milestone(project, milestone, actor, roles, outcome, to_seller, to_buyer, details) -> None:
    from_state = milestone.status
    if outcome == DisputeOutcome.RELEASED:
        release_milestone(project=project, milestone=milestone, actor=actor, roles=roles, action="resolve_release",
                          outcome=outcome, note=details["note"])
    else:
        if to_seller > 0:
            release_amount(project=project, gross=to_seller, actor=actor, roles=roles, action="resolve_release",
                           milestone=milestone, note=details["note"])
            milestone.is_paid, milestone.paid_at = True, timezone.now()
        if to_buyer > 0:
            refund_to_buyer(project=project, amount=to_buyer, actor=actor, roles=roles, action="resolve_refund",
                            milestone=milestone, note=details["note"])
        milestone.status = MilestoneStatus.REFUNDED if to_seller == 0 else MilestoneStatus.SPLIT
        milestone.outcome = outcome
        milestone.save(update_fields=["status", "outcome", "is_paid", "paid_at", "updated_at"])
    record_event(actor=actor, roles=roles, action="resolve", project=project, milestone=milestone,
                 from_state=from_state, to_state=milestone.status, **details)


def _settle_project(project, milestones, actor, roles, outcome, to_seller, to_buyer, details) -> None:
    if outcome == DisputeOutcome.RELEASED:
        for milestone in milestones:
            if milestone.status not in FINISHED:
                release_milestone(project=project, milestone=milestone, actor=actor, roles=roles,
                                  action="resolve_release", outcome=outcome, note=details["note"])
    else:
        if to_seller > 0:
            release_amount(project=project, gross=to_seller, actor=actor, roles=roles, action="resolve_release",
                           note=details["note"])
        if to_buyer > 0:
            refund_to_buyer(project=project, amount=to_buyer, actor=actor, roles=roles, action="resolve_refund",
                            note=details["note"])
        end_milestones(milestones, MilestoneStatus.REFUNDED if to_seller == 0 else MilestoneStatus.SPLIT,
                       outcome=outcome)
    # A split that paid the seller is not a refund: the deal ended with the seller paid (in part).
    target = ProjectStatus.COMPLETED if to_seller > 0 else ProjectStatus.REFUNDED
    project.outcome = outcome
    project.save(update_fields=["outcome", "updated_at"])
    set_project_status(project, target, actor=actor, roles=roles, action="resolve", **details)
