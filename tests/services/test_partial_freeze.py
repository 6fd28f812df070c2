"""Partial freezes (issue 14), as a property: random sequences on a funded project whose every
milestone has started, so disputes — on one milestone or on the whole project — happen often and
end often, by an operator (release, refund, split) or by the parties' accepted offer.

It is the engine-wide model of tests/services/test_stateful.py (the same rules and invariants),
started where disputes are possible: after every step the engine agrees with the model (statuses,
outcome words, what is held, each party's balance), a milestone's dispute has frozen exactly that
milestone while the others went on, and the database's deferred rules hold (``disputes_chk_states``:
no milestone stays disputed after its dispute ended).
"""

from decimal import Decimal

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test

from escrow import services
from escrow.commission import milestone_quote
from escrow.models import Dispute, Project
from escrow.selectors import project_held
from tests import builders
from tests.factories import UserFactory
from tests.services.test_stateful import EscrowMachine, Model, unit


class PartialFreezeMachine(EscrowMachine):
    @precondition(lambda self: not self.ready)
    @rule(
        amounts=st.lists(st.integers(min_value=100, max_value=500_000), min_size=2, max_size=3),
        currency=st.sampled_from(["USD", "UGX", "NGN"]),
        fee_bearer=st.sampled_from(["buyer", "seller", "split"]),
        percent=st.sampled_from([Decimal("2.5"), Decimal("0"), Decimal("7.25")]),
    )
    def create(self, amounts, currency, fee_bearer, percent):
        values = [Decimal(a) * unit(currency) for a in amounts]
        self.project = builders.funded(amounts=[str(v) for v in values], currency=currency, fee_bearer=fee_bearer,
                                       commission_percent=percent)
        for milestone in self.project.milestones.order_by("order_index"):
            services.milestone_start(milestone=milestone, actor=self.project.seller)
        self.users = {"buyer": self.project.buyer, "seller": self.project.seller, "stranger": UserFactory(),
                      "operator": builders.make_operator(), "system": None}
        self.model = model = Model(values, currency, fee_bearer, percent)
        model.status, model.accepted, model.held = "in_progress", True, model.owed()
        for milestone in model.milestones:
            milestone["status"] = "in_progress"
        self.milestone_ids = list(self.project.milestones.order_by("order_index").values_list("pk", flat=True))
        self.withdrawals = []
        self.ready = True

    # Steps that cannot happen on a funded project, or do not touch disputes: left out here (the
    # engine-wide machine runs them), so the steps go to disputes and their ends.
    def propose(self): ...
    def accept(self): ...
    def fund_and_pay(self): ...
    def cancel(self): ...
    def withdraw(self): ...
    def settle_withdrawal(self): ...

    @precondition(lambda self: self.ready)
    @rule(outcome=st.sampled_from(["release", "refund", "split"]), share=st.integers(0, 100),
          index=st.one_of(st.none(), st.integers(0, 2)))
    def operator_resolves(self, outcome, share, index):
        EscrowMachine.resolve(self, actor="operator", outcome=outcome, share=share, index=index)

    @precondition(lambda self: self.ready)
    @rule(maker=st.sampled_from(["buyer", "seller"]), answer=st.sampled_from(["accept", "accept", "counter", "withdraw"]),
          share=st.integers(0, 100), index=st.one_of(st.none(), st.integers(0, 2)))
    def parties_settle(self, maker, answer, share, index):
        answerer = "seller" if maker == "buyer" else "buyer"
        EscrowMachine.settle_by_offer(self, maker=maker, answer=answer, answerer=answerer, share=share, index=index)

    @invariant()
    def a_milestone_dispute_freezes_that_milestone_only(self):
        if not self.ready:
            return
        project = Project.objects.get(pk=self.project.pk)
        for dispute in Dispute.objects.filter(project=project, status="open", milestone__isnull=False):
            # What it froze is what was paid in for that milestone, still held; the project is not frozen.
            assert dispute.frozen_amount == milestone_quote(dispute.milestone, project).buyer_pays
            assert project_held(project.pk) >= dispute.frozen_amount
            assert project.status in ("active", "in_progress")
        for milestone in project.milestones.all():
            # Outcome words that mean what happened: a divided milestone says by whom.
            if milestone.status == "split":
                assert milestone.outcome in ("split", "settled")
            if milestone.outcome == "released":
                assert milestone.status == "approved" and milestone.is_paid
        ended = project.disputes.filter(status="resolved", milestone__isnull=True).first()
        if ended is not None:
            assert project.outcome == ended.outcome
            # A split that paid the seller is not labelled "refunded".
            assert project.status == ("completed" if ended.seller_amount > 0 else "refunded")


PartialFreezeMachine.TestCase.settings = EscrowMachine.TestCase.settings  # HYPOTHESIS_STATEFUL_EXAMPLES


@pytest.mark.slow
def test_partial_freezes_against_the_model(db):
    run_state_machine_as_test(PartialFreezeMachine, settings=PartialFreezeMachine.TestCase.settings)
