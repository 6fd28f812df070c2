"""Random sequences of escrow operations by random actors, against a plain-Python model.

The model restates DESIGN §6 on its own (it does not read ``escrow.states``): who may do what
from which state, and where the money goes — including partial freezes (issue 14): a milestone's
dispute freezes that milestone's money only while the others go on, a project-wide one
everything; each is ended by an operator's resolution or by an accepted settlement offer. After every step the engine must agree with it —
allowed steps succeed with the modelled effect, refused ones raise a domain error and write
nothing — and the ledger invariants must hold.

At least 200 examples run in CI; set ``HYPOTHESIS_STATEFUL_EXAMPLES`` for more. On a failure,
Hypothesis prints the failing steps and a ``@reproduce_failure`` blob to replay them.
"""

import os
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from escrow import services
from escrow.errors import EscrowError
from escrow.models import Dispute, Project, Transaction, TransactionStatus, TransactionType
from escrow.payments import contract
from escrow.selectors import available_balance, project_held
from tests import builders
from tests.factories import UserFactory
from tests.helpers import assert_ledger_invariants, db_snapshot

ACTORS = ("buyer", "seller", "stranger", "operator", "system")
# Drawn more often: the parties, whose steps move an escrow forward.
ACTOR = st.sampled_from(("buyer", "buyer", "seller", "seller", "stranger", "operator", "system"))
STAGES = ("draft", "proposed", "accepted", "funded", "delivered")
FUNDED = ("active", "in_progress")
FINISHED = ("approved", "refunded", "split")
BANK = {"account_number": "0123456789", "bank_code": "058", "account_holder_name": "Ada Seller", "country": "NG"}


def unit(currency: str) -> Decimal:
    return Decimal(1) if currency in ("UGX", "XOF") else Decimal("0.01")


class Model:
    """The rules, restated: one project, two or three milestones."""

    def __init__(self, amounts: list[Decimal], currency: str, fee_bearer: str, percent: Decimal):
        self.currency, self.percent, self.fee_bearer = currency, percent, fee_bearer
        self.status, self.accepted, self.funding_flagged, self.cancel_asker = "draft", False, False, None
        self.milestones = [{"amount": a, "status": "pending", "paid": False} for a in amounts]
        self.held = Decimal(0)
        self.balance = {"buyer": Decimal(0), "seller": Decimal(0)}

    def split(self, gross: Decimal) -> tuple[Decimal, Decimal]:
        """(what the buyer pays, what the seller receives) for a milestone of ``gross``."""
        commission = (gross * self.percent / 100).quantize(unit(self.currency), rounding=ROUND_HALF_UP)
        seller_part = {"seller": commission, "buyer": Decimal(0),
                       "split": (commission / 2).quantize(unit(self.currency), rounding=ROUND_DOWN)}[self.fee_bearer]
        return gross + commission - seller_part, gross - seller_part

    def owed(self) -> Decimal:
        return sum(self.split(m["amount"])[0] for m in self.milestones)

    def release(self, index: int) -> None:
        milestone = self.milestones[index]
        pays, receives = self.split(milestone["amount"])
        milestone.update(status="approved", paid=True)
        self.held -= pays
        self.balance["seller"] += receives

    def divide(self, frozen: Decimal, to_seller: Decimal) -> None:
        """A split of ``frozen``: the seller's part bears the commission itself."""
        commission = (to_seller * self.percent / 100).quantize(unit(self.currency), rounding=ROUND_HALF_UP)
        self.balance["seller"] += to_seller - commission
        self.balance["buyer"] += frozen - to_seller
        self.held -= frozen

    def end_unfinished(self, status: str) -> None:
        for milestone in self.milestones:
            if milestone["status"] not in FINISHED:
                milestone["status"] = status

    def finish_if_done(self) -> None:
        if self.status in FUNDED and all(m["status"] in FINISHED for m in self.milestones):
            self.status = "completed" if any(m["paid"] for m in self.milestones) else "refunded"
            self.cancel_asker = None

    def open_disputes(self) -> int:
        return (self.status == "disputed") + sum(m["status"] == "disputed" for m in self.milestones)

    def refund_all(self) -> None:
        self.balance["buyer"] += self.held
        self.held = Decimal(0)
        self.end_unfinished("refunded")
        self.status, self.cancel_asker = "refunded", None


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # every example runs in a savepoint, rolled back at teardown
        self.ready = False

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @precondition(lambda self: not self.ready)
    @rule(
        amounts=st.lists(st.integers(min_value=100, max_value=500_000), min_size=2, max_size=3),
        currency=st.sampled_from(["USD", "UGX", "XOF", "KES", "NGN"]),
        fee_bearer=st.sampled_from(["buyer", "seller", "split"]),
        percent=st.sampled_from([Decimal("2.5"), Decimal("0"), Decimal("7.25")]),
        stage=st.sampled_from(STAGES),
    )
    def create(self, amounts, currency, fee_bearer, percent, stage):
        """A project at a random stage of its life, reached through the services."""
        values = [Decimal(a) * unit(currency) for a in amounts]
        build = {"draft": builders.draft, "proposed": builders.proposed, "accepted": builders.accepted,
                 "funded": builders.funded, "delivered": builders.delivered}[stage]
        self.project = build(amounts=[str(v) for v in values], currency=currency, fee_bearer=fee_bearer,
                             commission_percent=percent)
        self.users = {"buyer": self.project.buyer, "seller": self.project.seller, "stranger": UserFactory(),
                      "operator": builders.make_operator(), "system": None}
        self.model = model = Model(values, currency, fee_bearer, percent)
        if stage != "draft":
            model.status = "pending"
        model.accepted = stage in ("accepted", "funded", "delivered")
        if stage in ("funded", "delivered"):
            model.status, model.held = "active", model.owed()
        if stage == "delivered":
            model.status = "in_progress"
            model.milestones[0]["status"] = "completed"
        self.milestone_ids = list(self.project.milestones.order_by("order_index").values_list("pk", flat=True))
        self.withdrawals: list[tuple[Transaction, Decimal]] = []
        self.ready = True

    # --- the engine's call, and the check against the model ---

    def attempt(self, allowed: bool, call, effect=lambda: None):
        before = db_snapshot()
        if allowed:
            call()
            effect()
        else:
            with pytest.raises(EscrowError):
                call()
            assert db_snapshot() == before, "a refused step wrote something"

    def milestone(self, index):
        return self.project.milestones.get(pk=self.milestone_ids[index])

    # --- rules ---

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR)
    def propose(self, actor):
        allowed = actor == "buyer" and self.model.status == "draft"
        self.attempt(allowed, lambda: services.project_propose(project=self.project, actor=self.users[actor]),
                     lambda: setattr(self.model, "status", "pending"))

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR)
    def accept(self, actor):
        allowed = actor == "seller" and self.model.status == "pending" and not self.model.accepted
        self.attempt(allowed, lambda: services.project_accept(project=self.project, actor=self.users[actor]),
                     lambda: setattr(self.model, "accepted", True))

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, exact=st.booleans())
    def fund_and_pay(self, actor, exact):
        model = self.model
        allowed = actor == "buyer" and model.status == "pending" and model.accepted

        def call():
            deposit = services.project_fund_start(project=self.project, actor=self.users[actor])
            assert deposit.amount == model.owed()
            services.deposit_confirm(reference=deposit.pk,
                                     amount_received=deposit.amount if exact else deposit.amount + unit(model.currency))

        def effect():
            if model.funding_flagged:
                return  # a flagged deposit waits for an operator: nothing more happens
            if exact:
                model.status, model.held = "active", model.owed()
            else:
                model.funding_flagged = True

        self.attempt(allowed, call, effect)

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR)
    def cancel(self, actor):
        allowed = actor in ("buyer", "seller", "operator") and self.model.status in ("draft", "pending")
        self.attempt(allowed, lambda: services.project_cancel(project=self.project, actor=self.users[actor]),
                     lambda: setattr(self.model, "status", "cancelled"))

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, index=st.integers(0, 2))
    def start(self, actor, index):
        model = self.model
        index %= len(model.milestones)
        allowed = (actor == "seller" and model.status in FUNDED
                   and model.milestones[index]["status"] in ("pending", "rejected"))

        def effect():
            model.milestones[index]["status"] = "in_progress"
            model.status = "in_progress"

        self.attempt(allowed, lambda: services.milestone_start(milestone=self.milestone(index), actor=self.users[actor]),
                     effect)

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, index=st.integers(0, 2))
    def submit(self, actor, index):
        model = self.model
        index %= len(model.milestones)
        allowed = actor == "seller" and model.status in FUNDED and model.milestones[index]["status"] == "in_progress"
        self.attempt(allowed, lambda: services.milestone_submit(milestone=self.milestone(index), actor=self.users[actor]),
                     lambda: model.milestones[index].update(status="completed"))

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, index=st.integers(0, 2))
    def approve(self, actor, index):
        model = self.model
        index %= len(model.milestones)
        # The system approves only after an inspection period, which these projects do not have.
        allowed = actor in ("buyer", "operator") and model.status in FUNDED \
            and model.milestones[index]["status"] == "completed"

        def effect():
            model.release(index)
            model.finish_if_done()

        self.attempt(allowed, lambda: services.milestone_approve(
            milestone=self.milestone(index), actor=self.users[actor], reason="on the buyer's behalf"), effect)

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, index=st.integers(0, 2))
    def reject(self, actor, index):
        model = self.model
        index %= len(model.milestones)
        allowed = actor == "buyer" and model.status in FUNDED and model.milestones[index]["status"] == "completed"
        self.attempt(allowed, lambda: services.milestone_reject(
            milestone=self.milestone(index), actor=self.users[actor], reason="not yet"),
            lambda: model.milestones[index].update(status="rejected"))

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, index=st.one_of(st.none(), st.integers(0, 2)))
    def dispute(self, actor, index):
        model = self.model
        if index is None:
            # Project-wide: everything held is frozen; one at a time (no milestone dispute open).
            allowed = actor in ("buyer", "seller") and model.status in FUNDED and model.open_disputes() == 0
            call = lambda: services.project_dispute(project=self.project, actor=self.users[actor], reason="why")  # noqa: E731
        else:
            index %= len(model.milestones)
            allowed = actor in ("buyer", "seller") and model.status in FUNDED \
                and model.milestones[index]["status"] in ("in_progress", "completed", "rejected")
            call = lambda: services.milestone_dispute(milestone=self.milestone(index), actor=self.users[actor],  # noqa: E731
                                                      reason="why")

        def effect():
            if index is None:
                model.status, model.cancel_asker = "disputed", None
            else:  # that milestone only: the project stays funded
                model.milestones[index]["status"] = "disputed"

        self.attempt(allowed, call, effect)

    def dispute_of(self, index):
        """The open dispute of milestone ``index`` (None: the project-wide one), or None."""
        milestone_id = None if index is None else self.milestone_ids[index]
        return Dispute.objects.filter(project=self.project, milestone_id=milestone_id, status="open").first()

    def settle_effect(self, index, outcome: str, to_seller: Decimal):
        """The model's side of ending the dispute of milestone ``index`` (None: the project)."""
        event(f"{'project' if index is None else 'milestone'} dispute ended: {outcome}")
        model = self.model
        if index is None:
            held = model.held
            if outcome == "release":
                for i, milestone in enumerate(model.milestones):
                    if milestone["status"] not in FINISHED:
                        model.release(i)
                model.status = "completed"
            elif outcome == "refund":
                model.refund_all()
            else:
                model.divide(held, to_seller)
                model.end_unfinished("split" if to_seller > 0 else "refunded")
                model.status = "completed" if to_seller > 0 else "refunded"
            return
        milestone = model.milestones[index]
        frozen = model.split(milestone["amount"])[0]
        if outcome == "release":
            model.release(index)
        elif outcome == "refund":
            model.divide(frozen, Decimal(0))
            milestone["status"] = "refunded"
        else:
            model.divide(frozen, to_seller)
            milestone.update(status="split" if to_seller > 0 else "refunded", paid=to_seller > 0)
        model.finish_if_done()

    def frozen(self, index) -> Decimal:
        model = self.model
        return model.held if index is None else model.split(model.milestones[index]["amount"])[0]

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR, outcome=st.sampled_from(["release", "refund", "split"]),
          share=st.integers(0, 100), index=st.one_of(st.none(), st.integers(0, 2)))
    def resolve(self, actor, outcome, share, index):
        model = self.model
        if index is None:
            allowed = actor == "operator" and model.status == "disputed"
            target = {"project": self.project}
        else:
            index %= len(model.milestones)
            dispute = self.dispute_of(index)
            if dispute is None:
                return  # nothing to resolve on that milestone
            allowed = actor == "operator"
            target = {"dispute": dispute}
        frozen = self.frozen(index)
        to_seller = (frozen * share / 100).quantize(unit(model.currency), rounding=ROUND_DOWN)
        self.attempt(allowed, lambda: services.dispute_resolve(
            actor=self.users[actor], outcome=outcome, note="decided", seller_amount=to_seller,
            buyer_amount=frozen - to_seller, **target),
            lambda: self.settle_effect(index, outcome, to_seller))

    @precondition(lambda self: self.ready)
    @rule(maker=ACTOR, answer=st.sampled_from(["accept", "counter", "withdraw", "none"]), answerer=ACTOR,
          share=st.integers(0, 100), index=st.one_of(st.none(), st.integers(0, 2)))
    def settle_by_offer(self, maker, answer, answerer, share, index):
        """A party offers a split; the other accepts (the dispute ends as "settled"), counters, or
        the maker withdraws. Refused for anyone else, and for a party answering their own offer."""
        model = self.model
        if index is not None:
            index %= len(model.milestones)
        dispute = self.dispute_of(index)
        if dispute is None:
            return
        frozen = self.frozen(index)
        to_seller = (frozen * share / 100).quantize(unit(model.currency), rounding=ROUND_DOWN)
        offer = {}

        def make():
            offer["row"] = services.offer_make(dispute=dispute, actor=self.users[maker], seller_amount=to_seller,
                                               buyer_amount=frozen - to_seller, note="fair")

        self.attempt(maker in ("buyer", "seller"), make)
        if "row" not in offer or answer == "none":
            if "row" in offer:  # leave no offer open for the next step's maker
                services.offer_withdraw(offer=offer["row"], actor=self.users[maker])
            return
        row = offer["row"]
        party = answerer in ("buyer", "seller")
        if answer == "withdraw":
            self.attempt(answerer == maker, lambda: services.offer_withdraw(offer=row, actor=self.users[answerer]))
            if answerer != maker:
                services.offer_withdraw(offer=row, actor=self.users[maker])
        elif answer == "counter":
            allowed = party and answerer != maker
            self.attempt(allowed, lambda: services.offer_counter(
                offer=row, actor=self.users[answerer], seller_amount=frozen, buyer_amount=Decimal(0), note="no"))
            open_offer = dispute.offers.filter(status="open").get()
            services.offer_withdraw(offer=open_offer, actor=open_offer.made_by)
        else:
            allowed = party and answerer != maker
            self.attempt(allowed, lambda: services.offer_accept(offer=row, actor=self.users[answerer]),
                         lambda: (event("settled by an accepted offer"), self.settle_effect(index, "split", to_seller)))
            if not allowed:
                services.offer_withdraw(offer=row, actor=self.users[maker])

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR)
    def operator_refund(self, actor):
        model = self.model
        # Refused while a milestone's dispute is open (its money is frozen): resolve that first.
        allowed = actor == "operator" and model.status in (*FUNDED, "disputed") \
            and not any(m["status"] == "disputed" for m in model.milestones)
        self.attempt(allowed, lambda: services.project_refund(project=self.project, actor=self.users[actor], note="n"),
                     model.refund_all)

    @precondition(lambda self: self.ready)
    @rule(actor=ACTOR)
    def request_cancel(self, actor):
        model = self.model
        allowed = actor in ("buyer", "seller") and model.status in FUNDED and model.cancel_asker != actor \
            and model.open_disputes() == 0

        def effect():
            if model.cancel_asker is None:
                model.cancel_asker = actor
            else:
                model.refund_all()

        self.attempt(allowed, lambda: services.project_request_cancel(project=self.project, actor=self.users[actor]),
                     effect)

    @precondition(lambda self: self.ready)
    @rule(who=st.sampled_from(["buyer", "seller"]), percent=st.integers(1, 120))
    def withdraw(self, who, percent):
        model = self.model
        amount = (model.balance[who] * percent / 100).quantize(unit(model.currency), rounding=ROUND_DOWN) \
            or unit(model.currency)
        # BANK is a Nigerian account: an NGN payout only (a USD one needs a US account, and the
        # sender this server is not configured with; other currencies are not paid out at all).
        allowed = amount <= model.balance[who] and not contract.payout_destination_problems(model.currency, BANK)

        def call():
            row = services.withdrawal_request(user=self.users[who], amount=amount, currency=model.currency,
                                              bank_account=BANK, account_name="Ada Seller")
            self.withdrawals.append((row, who))

        self.attempt(allowed, call, lambda: model.balance.__setitem__(who, model.balance[who] - amount))

    @precondition(lambda self: self.ready and any(
        r.status == TransactionStatus.PENDING for r, _ in getattr(self, "withdrawals", [])))
    @rule(succeeded=st.booleans(), data=st.data())
    def settle_withdrawal(self, succeeded, data):
        pending = [(r, who) for r, who in self.withdrawals if r.status == TransactionStatus.PENDING]
        row, who = data.draw(st.sampled_from(pending))
        services.withdrawal_settle(withdrawal=row, succeeded=succeeded)
        row.refresh_from_db()
        if not succeeded:
            self.model.balance[who] += row.amount

    # --- after every step ---

    @invariant()
    def engine_agrees_with_the_model(self):
        if not self.ready:
            return
        project = Project.objects.get(pk=self.project.pk)
        assert project.status == self.model.status
        assert project_held(project.pk) == self.model.held
        for who in ("buyer", "seller"):
            assert available_balance(self.users[who].pk, self.model.currency) == self.model.balance[who], who
        assert [m.status for m in project.milestones.order_by("order_index")] == \
            [m["status"] for m in self.model.milestones]
        assert Dispute.objects.filter(project=project, status="open").count() == self.model.open_disputes()
        with connection.cursor() as cursor:  # the deferred rules (dispute states, milestone sums) hold now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        holds = Transaction.objects.filter(project=project, transaction_type=TransactionType.ESCROW_HOLD).count()
        assert holds == (0 if self.model.status in ("draft", "pending", "cancelled") else 1)
        assert_ledger_invariants()


EscrowMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.slow
def test_escrow_engine_against_the_model(db):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(EscrowMachine, settings=EscrowMachine.TestCase.settings)
