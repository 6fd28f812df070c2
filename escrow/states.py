"""The escrow state machines: every allowed transition, who may make it, in one place.

The services look an action up here before acting (``require``); the API turns the refusal into
a 409 with its message, and lists ``allowed_actions`` as what the caller may do now.

Besides the state and the actor, a few transitions depend on something else the row records (the
terms accepted once, who asked to cancel, the inspection period): a ``guard`` says so, and both
``require`` and ``allowed_actions`` run it, so the actions offered are exactly those that would
succeed. What the table does not decide is the request's input (a missing reason, milestones not
summing to the total): those are refused as invalid input, naming the field.

Actors: ``creator``, ``buyer``, ``seller``, ``counterparty`` (the party who did not create the
project), ``operator`` (staff with the escrow operator permission, on a project they are not a
party to) and ``system`` (the payment gateway's confirmations, the inspection-period command).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from escrow.errors import InvalidTransition, NotAllowed
from escrow.models import Dispute, DisputeStatus, OfferStatus
from escrow.models import MilestoneStatus as M
from escrow.models import ProjectStatus as P

OPERATOR_PERMISSION = "escrow.act_as_operator"


# A guard gets (project, milestone or None, actor or None for the system) and answers why the
# transition is refused now, or None.
Guard = Callable[..., str | None]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the status stays (the action changes something else)
    actors: frozenset[str]
    # Milestone actions only: the project states in which they may happen (money not frozen).
    project_states: frozenset[str] = frozenset()
    guard: Guard | None = None


def _t(action: str, sources, target, actors, project_states=(), guard: Guard | None = None) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(actors), frozenset(project_states), guard)


def inspection_over(project, milestone, now) -> bool:
    """The buyer's inspection period of a delivered milestone has run out (never with 0 days)."""
    return bool(
        project.inspection_days and milestone.completed_at
        and milestone.completed_at + timedelta(days=project.inspection_days) <= now
    )


def _terms_open(project, milestone, actor) -> str | None:
    return "The terms of this project are already accepted." if project.terms_accepted_at else None


def _terms_accepted(project, milestone, actor) -> str | None:
    return None if project.terms_accepted_at else "The counterparty has not accepted the terms yet."


def _parties_set(project, milestone, actor) -> str | None:
    if project.buyer_id and project.seller_id:
        return None
    return "The counterparty has not joined yet: the project can be proposed once they accept the invitation."


def _not_asked_yet(project, milestone, actor) -> str | None:
    if actor is not None and project.cancel_requested_by_id == actor.pk:
        return "You already asked to cancel; the other party has to agree."
    return None


def open_cases(project) -> list:
    """The milestone ids of the project's open disputes (None: the project-wide one). Pages read
    them with their rows (``escrow.selectors.with_open_cases``); otherwise they are read here."""
    known = getattr(project, "open_cases", None)
    if known is not None:
        return known
    return list(Dispute.objects.filter(project=project, status=DisputeStatus.OPEN).values_list("milestone_id", flat=True))


def _no_open_dispute(project, milestone, actor) -> str | None:
    if open_cases(project):
        return "A dispute on this project is open: it has to be resolved or settled first."
    return None


def _no_open_milestone_dispute(project, milestone, actor) -> str | None:
    if any(milestone_id is not None for milestone_id in open_cases(project)):
        return "A milestone of this project is in dispute: resolve that dispute first."
    return None


def _cancel_guard(project, milestone, actor) -> str | None:
    return _not_asked_yet(project, milestone, actor) or _no_open_dispute(project, milestone, actor)


def _inspection_over_for_system(project, milestone, actor) -> str | None:
    if actor is None and not inspection_over(project, milestone, timezone.now()):
        return "The buyer's inspection period for this milestone has not ended."
    return None


FUNDED = (P.ACTIVE, P.IN_PROGRESS)

PROJECT_TRANSITIONS = {
    t.action: t
    for t in (
        # The terms (the project's fields and its milestones) are the creator's while draft.
        _t("edit", [P.DRAFT], None, ["creator"]),
        _t("delete", [P.DRAFT], None, ["creator"]),
        _t("propose", [P.DRAFT], P.PENDING, ["creator"], guard=_parties_set),
        _t("accept", [P.PENDING], None, ["counterparty"], guard=_terms_open),
        _t("fund", [P.PENDING], None, ["buyer"], guard=_terms_accepted),
        _t("confirm_deposit", [P.PENDING], P.ACTIVE, ["system"]),
        _t("begin_work", [P.ACTIVE], P.IN_PROGRESS, ["system"]),
        _t("complete", FUNDED, P.COMPLETED, ["system"]),
        _t("cancel", [P.DRAFT, P.PENDING], P.CANCELLED, ["buyer", "seller", "operator"]),
        # Mutual cancellation after funding: the first party asks, the other agrees.
        # (Refused while a dispute is open: its money is frozen until the dispute ends.)
        _t("request_cancel", FUNDED, None, ["buyer", "seller"], guard=_cancel_guard),
        # A project-wide dispute freezes everything still held; a milestone's dispute (below)
        # freezes that milestone only and leaves the project funded. One at a time: a project-wide
        # dispute waits until the milestone disputes are over.
        _t("dispute", FUNDED, P.DISPUTED, ["buyer", "seller"], guard=_no_open_dispute),
        _t("resolve", [P.DISPUTED], None, ["operator"]),  # to completed or refunded, by outcome
        _t("refund", [*FUNDED, P.DISPUTED], P.REFUNDED, ["operator"], guard=_no_open_milestone_dispute),
        # Every milestone ended by disputes with all its money back to the buyer: nothing was paid.
        _t("close_refunded", FUNDED, P.REFUNDED, ["system"]),
    )
}

MILESTONE_TRANSITIONS = {
    t.action: t
    for t in (
        _t("start", [M.PENDING, M.REJECTED], M.IN_PROGRESS, ["seller"], FUNDED),
        _t("submit", [M.IN_PROGRESS], M.COMPLETED, ["seller"], FUNDED),
        _t("approve", [M.COMPLETED], M.APPROVED, ["buyer", "operator", "system"], FUNDED,
           guard=_inspection_over_for_system),
        _t("reject", [M.COMPLETED], M.REJECTED, ["buyer"], FUNDED),
        _t("dispute", [M.IN_PROGRESS, M.COMPLETED, M.REJECTED], M.DISPUTED, ["buyer", "seller"], FUNDED),
    )
}


def is_operator(user) -> bool:
    return bool(user is not None and user.is_active and user.is_staff and user.has_perm(OPERATOR_PERMISSION))


def actor_roles(project, user) -> frozenset[str]:
    """What ``user`` is in ``project``; ``None`` is the system.

    An operator who is a party to the project (its creator, buyer or seller) is only that party
    here: nobody approves, refunds or resolves a dispute of their own deal as an operator.
    """
    if user is None:
        return frozenset({"system"})
    roles = set(project.role_of(user))
    if roles & {"buyer", "seller"} and "creator" not in roles:
        roles.add("counterparty")
    if not roles and is_operator(user):
        roles.add("operator")
    return frozenset(roles)


def require(transitions: dict[str, Transition], action: str, *, state: str, roles: frozenset[str],
            project_state: str | None = None, noun: str = "project", project=None, milestone=None,
            actor=None) -> Transition:
    """The transition for ``action``, or the reason it is refused (who first, then when).

    A guarded transition needs the ``project`` (and its ``milestone``) as locked by the caller, and
    the ``actor`` (None: the system)."""
    transition = transitions[action]
    if not transition.actors & roles:
        allowed = " or ".join(sorted(transition.actors))
        raise NotAllowed(f"Only the {allowed} may {action.replace('_', ' ')} this {noun}.")
    if state not in transition.sources:
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a {noun} that is {state.replace('_', ' ')}"
            f" (allowed from: {', '.join(sorted(transition.sources))})."
        )
    if transition.project_states and project_state not in transition.project_states:
        frozen = " The money is frozen by a dispute." if project_state == P.DISPUTED else ""
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a {noun} while the project is {project_state.replace('_', ' ')}.{frozen}"
        )
    if transition.guard is not None:
        if project is None:
            raise TypeError(f"require({action!r}) needs the project: the transition has a guard.")
        if refusal := transition.guard(project, milestone, actor):
            raise InvalidTransition(refusal)
    return transition


def allowed_actions(transitions: dict[str, Transition], *, project, actor, milestone=None) -> list[str]:
    """The actions ``actor`` (None: the system) may take now on ``project``, or on its
    ``milestone`` with the milestone transitions: exactly those ``require`` lets through."""
    roles = actor_roles(project, actor)
    state, project_state = (project.status, None) if milestone is None else (milestone.status, project.status)
    allowed = []
    for action, transition in transitions.items():
        # The checks of ``require`` that need no guard, first and without raising: a list page asks
        # this for every row, and most actions are refused by who or when.
        if (not transition.actors & roles or state not in transition.sources
                or (transition.project_states and project_state not in transition.project_states)):
            continue
        try:
            require(transitions, action, state=state, roles=roles, project_state=project_state,
                    project=project, milestone=milestone, actor=actor)
        except (NotAllowed, InvalidTransition):
            continue
        allowed.append(action)
    return allowed


# --- the case of a dispute (escrow/services/disputes*.py) ---------------------------------------
# A guard here gets (dispute, its open offer or None, actor).


def _no_open_offer(dispute, offer, actor) -> str | None:
    if offer is None:
        return None
    if actor is not None and offer.made_by_id == actor.pk:
        return "Your offer is still open: withdraw it first to make another."
    return "An offer from the other party is open: accept it or counter it."


def _offer_from_other(dispute, offer, actor) -> str | None:
    if offer is None:
        return "There is no open offer."
    if actor is not None and offer.made_by_id == actor.pk:
        return "This is your own offer: the other party answers it."
    return None


def _own_offer(dispute, offer, actor) -> str | None:
    if offer is None:
        return "There is no open offer."
    if actor is None or offer.made_by_id != actor.pk:
        return "Only the party who made an offer may withdraw it."
    return None


OPEN_CASE = [DisputeStatus.OPEN]
PARTIES = ["buyer", "seller"]

DISPUTE_TRANSITIONS = {
    t.action: t
    for t in (
        _t("post_message", OPEN_CASE, None, [*PARTIES, "operator"]),
        _t("post_internal_note", OPEN_CASE, None, ["operator"]),
        _t("add_evidence", OPEN_CASE, None, [*PARTIES, "operator"]),
        _t("make_offer", OPEN_CASE, None, PARTIES, guard=_no_open_offer),
        _t("counter_offer", OPEN_CASE, None, PARTIES, guard=_offer_from_other),
        _t("withdraw_offer", OPEN_CASE, None, PARTIES, guard=_own_offer),
        # An accepted offer settles the dispute through the operators' own resolution.
        _t("accept_offer", OPEN_CASE, DisputeStatus.RESOLVED, PARTIES, guard=_offer_from_other),
        _t("resolve", OPEN_CASE, DisputeStatus.RESOLVED, ["operator"]),
    )
}


def open_offer(dispute):
    return dispute.offers.filter(status=OfferStatus.OPEN).first()


def require_on_case(action: str, *, dispute, offer, actor, roles: frozenset[str]) -> Transition:
    """``require`` for the case's table: its guards get the dispute and its open offer."""
    return require(DISPUTE_TRANSITIONS, action, state=dispute.status, roles=roles, noun="dispute",
                   project=dispute, milestone=offer, actor=actor)


def dispute_allowed_actions(dispute, *, actor) -> list[str]:
    """What ``actor`` may do now on the case: exactly what ``require_on_case`` lets through."""
    roles = actor_roles(dispute.project, actor)
    offer = open_offer(dispute)
    allowed = []
    for action in DISPUTE_TRANSITIONS:
        try:
            require_on_case(action, dispute=dispute, offer=offer, actor=actor, roles=roles)
        except (NotAllowed, InvalidTransition):
            continue
        allowed.append(action)
    return allowed
