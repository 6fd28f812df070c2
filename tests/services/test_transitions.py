"""Every action, from every state, by every kind of actor: refused exactly where the transition
tables say so, with the right error, and with nothing written. (The allowed paths are exercised
with their effects in the other service tests.)"""

import pytest

from escrow import services
from escrow.errors import InvalidTransition, NotAllowed
from escrow.models import ActorKind, EscrowEvent, MilestoneStatus, ProjectStatus
from escrow.states import MILESTONE_TRANSITIONS, PROJECT_TRANSITIONS, actor_roles
from tests import builders
from tests.factories import UserFactory
from tests.helpers import db_snapshot

# The builders make the buyer the creator; the seller is then the counterparty.
ROLES = {
    "buyer": frozenset({"buyer", "creator"}),
    "seller": frozenset({"seller", "counterparty"}),
    "stranger": frozenset(),
    "operator": frozenset({"operator"}),
    "system": frozenset({"system"}),
}

PROJECT_CALLS = {
    "edit": lambda p, a: services.project_update(project=p, actor=a, title="New title"),
    "delete": lambda p, a: services.project_delete(project=p, actor=a),
    "propose": lambda p, a: services.project_propose(project=p, actor=a),
    "accept": lambda p, a: services.project_accept(project=p, actor=a),
    "fund": lambda p, a: services.project_fund_start(project=p, actor=a),
    "cancel": lambda p, a: services.project_cancel(project=p, actor=a),
    "request_cancel": lambda p, a: services.project_request_cancel(project=p, actor=a),
    "dispute": lambda p, a: services.project_dispute(project=p, actor=a, reason="not as agreed"),
    "resolve": lambda p, a: services.dispute_resolve(project=p, actor=a, outcome="refund", note="checked"),
    "refund": lambda p, a: services.project_refund(project=p, actor=a, note="checked"),
}

MILESTONE_CALLS = {
    "start": lambda m, a: services.milestone_start(milestone=m, actor=a),
    "submit": lambda m, a: services.milestone_submit(milestone=m, actor=a, notes="here"),
    "approve": lambda m, a: services.milestone_approve(milestone=m, actor=a, reason="checked"),
    "reject": lambda m, a: services.milestone_reject(milestone=m, actor=a, reason="incomplete"),
    "dispute": lambda m, a: services.milestone_dispute(milestone=m, actor=a, reason="not as agreed"),
}


def user_for(project, actor: str):
    return {
        "buyer": lambda: project.buyer,
        "seller": lambda: project.seller,
        "stranger": UserFactory,
        "operator": builders.make_operator,
        "system": lambda: None,
    }[actor]()


def expected_refusal(transition, state: str, roles, project_state: str | None = None):
    if not transition.actors & roles:
        return NotAllowed
    if state not in transition.sources:
        return InvalidTransition
    if transition.project_states and project_state not in transition.project_states:
        return InvalidTransition
    return None


def assert_refused(call, target, user, error) -> None:
    before = db_snapshot()
    with pytest.raises(error):
        call(target, user)
    assert db_snapshot() == before, "a refused action wrote something"


PROJECT_CASES = [
    (state, action, actor, error)
    for state in builders.BUILDERS
    for action in PROJECT_CALLS
    for actor in ROLES
    if (error := expected_refusal(PROJECT_TRANSITIONS[action], state, ROLES[actor]))
]


@pytest.mark.parametrize(("state", "action", "actor", "error"), PROJECT_CASES)
def test_project_action_refusals(db, state, action, actor, error):
    project = builders.BUILDERS[state]()
    assert project.status == state
    user = user_for(project, actor)
    assert actor_roles(project, user) == ROLES[actor]
    assert_refused(PROJECT_CALLS[action], project, user, error)


def milestone_in(state: str):
    """(project, milestone) with the milestone in ``state``."""
    if state == MilestoneStatus.PENDING:
        project = builders.in_progress()
        return project, project.milestones.get(order_index=1)
    if state == MilestoneStatus.IN_PROGRESS:
        project = builders.in_progress()
        return project, project.milestones.get(order_index=0)
    project = builders.delivered()
    milestone = project.milestones.get(order_index=0)
    if state == MilestoneStatus.APPROVED:
        services.milestone_approve(milestone=milestone, actor=project.buyer)
    elif state == MilestoneStatus.REJECTED:
        services.milestone_reject(milestone=milestone, actor=project.buyer, reason="again")
    elif state in (MilestoneStatus.DISPUTED, MilestoneStatus.REFUNDED, MilestoneStatus.SPLIT):
        services.milestone_dispute(milestone=milestone, actor=project.seller, reason="unpaid")
        if state != MilestoneStatus.DISPUTED:
            dispute = milestone.disputes.get()
            services.dispute_resolve(dispute=dispute, actor=builders.make_operator(), outcome="split", note="n",
                                     seller_amount=dispute.frozen_amount if state == MilestoneStatus.SPLIT else 0,
                                     buyer_amount=0 if state == MilestoneStatus.SPLIT else dispute.frozen_amount)
    milestone.refresh_from_db()
    return builders.refreshed(project), milestone


# A milestone's dispute freezes that milestone only: its project stays in progress.
PROJECT_STATE_OF = {state: ProjectStatus.IN_PROGRESS for state in MilestoneStatus.values}

MILESTONE_CASES = [
    (state, action, actor, error)
    for state in MilestoneStatus.values
    for action in MILESTONE_CALLS
    for actor in ROLES
    if (error := expected_refusal(MILESTONE_TRANSITIONS[action], state, ROLES[actor], PROJECT_STATE_OF[state]))
]


@pytest.mark.parametrize(("state", "action", "actor", "error"), MILESTONE_CASES)
def test_milestone_action_refusals(db, state, action, actor, error):
    project, milestone = milestone_in(state)
    assert (milestone.status, project.status) == (state, PROJECT_STATE_OF[state])
    user = user_for(project, actor)
    assert actor_roles(project, user) == ROLES[actor]
    assert_refused(MILESTONE_CALLS[action], milestone, user, error)


@pytest.mark.parametrize(("action", "index", "actor"), [
    ("approve", 0, "buyer"), ("reject", 0, "buyer"), ("submit", 1, "seller"), ("start", 2, "seller"),
])
def test_a_dispute_freezes_every_milestone(db, action, index, actor):
    project = builders.delivered(amounts=("300.00", "300.00", "400.00"))
    services.milestone_start(milestone=project.milestones.get(order_index=1), actor=project.seller)
    services.project_dispute(project=project, actor=project.seller, reason="unpaid")
    milestone = project.milestones.get(order_index=index)
    before = db_snapshot()
    with pytest.raises(InvalidTransition, match="frozen by a dispute"):
        MILESTONE_CALLS[action](milestone, getattr(project, actor))
    assert db_snapshot() == before


@pytest.mark.parametrize(("action", "index", "actor"), [
    ("approve", 0, "buyer"), ("reject", 0, "buyer"), ("submit", 1, "seller"), ("start", 2, "seller"),
])
def test_a_milestone_dispute_freezes_that_milestone_only(db, action, index, actor):
    """The other milestones go on (start, deliver, approve: release); the disputed one is frozen."""
    project = builders.delivered(amounts=("300.00", "300.00", "400.00"), fee_bearer="buyer")
    services.milestone_start(milestone=project.milestones.get(order_index=1), actor=project.seller)
    disputed = project.milestones.get(order_index=1 if index == 0 else 0)
    services.milestone_dispute(milestone=disputed, actor=project.buyer, reason="not as agreed")
    assert builders.refreshed(project).status == ProjectStatus.IN_PROGRESS
    milestone = project.milestones.get(order_index=index)
    MILESTONE_CALLS[action](milestone, getattr(project, actor))  # goes on
    before = db_snapshot()
    with pytest.raises(InvalidTransition, match="disputed"):
        MILESTONE_CALLS["approve"](disputed, project.buyer)
    assert db_snapshot() == before


def test_funding_needs_the_counterpartys_acceptance(db):
    project = builders.proposed()
    before = db_snapshot()
    with pytest.raises(InvalidTransition, match="not accepted"):
        services.project_fund_start(project=project, actor=project.buyer)
    assert db_snapshot() == before


def test_terms_are_accepted_once(db):
    project = builders.accepted()
    before = db_snapshot()
    with pytest.raises(InvalidTransition, match="already accepted"):
        services.project_accept(project=project, actor=project.seller)
    assert db_snapshot() == before


def test_the_creator_does_not_accept_their_own_terms(db):
    project = builders.proposed(creator=None)
    with pytest.raises(NotAllowed, match="counterparty"):
        services.project_accept(project=project, actor=project.creator)
    assert builders.refreshed(project).terms_accepted_at is None


def test_a_seller_created_project_is_accepted_by_the_buyer(db):
    seller = UserFactory()
    project = builders.proposed(seller=seller, creator=seller)
    services.project_accept(project=project, actor=project.buyer)
    assert builders.refreshed(project).terms_accepted_at is not None
    assert builders.refreshed(project).status == ProjectStatus.PENDING


# --- an operator who is a party is only that party ---

PARTY_OPERATOR_REFUSALS = [
    # (builder, the operator's part, the call an operator could make on someone else's deal)
    (builders.delivered, "seller", lambda p: services.milestone_approve(milestone=p.milestones.get(order_index=0),
                                                                 actor=p.seller, reason="looks done to me")),
    (builders.disputed, "seller", lambda p: services.dispute_resolve(project=p, actor=p.seller, outcome="release",
                                                              note="I delivered")),
    (builders.disputed, "buyer", lambda p: services.dispute_resolve(project=p, actor=p.buyer, outcome="refund",
                                                             note="they were late")),
    (builders.funded, "buyer", lambda p: services.project_refund(project=p, actor=p.buyer, note="changed my mind")),
    (builders.in_progress, "seller", lambda p: services.project_refund(project=p, actor=p.seller, note="as a favour")),
]


@pytest.mark.parametrize(("build", "part", "call"), PARTY_OPERATOR_REFUSALS, ids=[
    "seller-approves-own-milestone", "seller-resolves-own-dispute", "buyer-resolves-own-dispute",
    "buyer-refunds-own-project", "seller-refunds-own-project"])
def test_an_operator_cannot_act_as_operator_on_their_own_deal(db, build, part, call):
    project = build()
    builders.make_operator(getattr(project, part))
    project = builders.refreshed(project)
    assert "operator" not in actor_roles(project, getattr(project, part))
    assert_refused(lambda p, _: call(p), project, None, NotAllowed)


def test_an_operator_who_is_the_buyer_approves_as_the_buyer(db):
    """Their party's powers stay: recorded as the user they are in this deal, not as an operator."""
    project = builders.delivered()
    buyer = builders.make_operator(project.buyer)
    assert actor_roles(project, buyer) == ROLES["buyer"]
    services.milestone_approve(milestone=project.milestones.get(order_index=0), actor=buyer)
    event = EscrowEvent.objects.get(project=project, action="approve")
    assert (event.actor, event.actor_kind) == (buyer, ActorKind.USER)


def test_an_operator_still_acts_on_other_peoples_deals(db):
    mine, theirs = builders.disputed(), builders.disputed()
    operator = builders.make_operator(mine.seller)
    services.dispute_resolve(project=theirs, actor=operator, outcome="refund", note="evidence read")
    assert builders.refreshed(theirs).status == ProjectStatus.REFUNDED
