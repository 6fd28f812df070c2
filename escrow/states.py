"""The escrow state machines: every allowed transition, who may make it, in one place.

The services look an action up here before acting (``require``); the API turns the refusal into
a 409 with its message, and the admin asks ``allowed_actions`` which buttons to offer.

Actors: ``creator``, ``buyer``, ``seller``, ``counterparty`` (the party who did not create the
project), ``operator`` (staff with the escrow operator permission, on a project they are not a
party to) and ``system`` (the payment gateway's confirmations, the inspection-period command).
"""

from dataclasses import dataclass

from escrow.errors import InvalidTransition, NotAllowed
from escrow.models import MilestoneStatus as M
from escrow.models import ProjectStatus as P

OPERATOR_PERMISSION = "escrow.act_as_operator"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the status stays (the action changes something else)
    actors: frozenset[str]
    # Milestone actions only: the project states in which they may happen (money not frozen).
    project_states: frozenset[str] = frozenset()


def _t(action: str, sources, target, actors, project_states=()) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(actors), frozenset(project_states))


FUNDED = (P.ACTIVE, P.IN_PROGRESS)

PROJECT_TRANSITIONS = {
    t.action: t
    for t in (
        # The terms (the project's fields and its milestones) are the creator's while draft.
        _t("edit", [P.DRAFT], None, ["creator"]),
        _t("delete", [P.DRAFT], None, ["creator"]),
        _t("propose", [P.DRAFT], P.PENDING, ["creator"]),
        _t("accept", [P.PENDING], None, ["counterparty"]),
        _t("fund", [P.PENDING], None, ["buyer"]),
        _t("confirm_deposit", [P.PENDING], P.ACTIVE, ["system"]),
        _t("begin_work", [P.ACTIVE], P.IN_PROGRESS, ["system"]),
        _t("complete", FUNDED, P.COMPLETED, ["system"]),
        _t("cancel", [P.DRAFT, P.PENDING], P.CANCELLED, ["buyer", "seller", "operator"]),
        # Mutual cancellation after funding: the first party asks, the other agrees.
        _t("request_cancel", FUNDED, None, ["buyer", "seller"]),
        _t("dispute", FUNDED, P.DISPUTED, ["buyer", "seller"]),
        _t("resolve", [P.DISPUTED], None, ["operator"]),  # to completed or refunded, by outcome
        _t("refund", [*FUNDED, P.DISPUTED], P.REFUNDED, ["operator"]),
    )
}

MILESTONE_TRANSITIONS = {
    t.action: t
    for t in (
        _t("start", [M.PENDING, M.REJECTED], M.IN_PROGRESS, ["seller"], FUNDED),
        _t("submit", [M.IN_PROGRESS], M.COMPLETED, ["seller"], FUNDED),
        _t("approve", [M.COMPLETED], M.APPROVED, ["buyer", "operator", "system"], FUNDED),
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
            project_state: str | None = None, noun: str = "project") -> Transition:
    """The transition for ``action``, or the reason it is refused (who first, then when)."""
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
    return transition


def allowed_actions(transitions: dict[str, Transition], *, state: str, roles: frozenset[str],
                    project_state: str | None = None) -> list[str]:
    """The actions ``roles`` may take from ``state`` (for the API and the admin)."""
    return [
        t.action
        for t in transitions.values()
        if t.actors & roles and state in t.sources
        and (not t.project_states or project_state in t.project_states)
    ]
