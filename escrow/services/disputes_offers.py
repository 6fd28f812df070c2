"""Settlement offers: the parties end a dispute between themselves.

Either party offers a split of what the dispute froze (an amount to the seller, gross — the
commission is taken from it as in an operator's split — and the rest back to the buyer). The other
party accepts it, or counters with an offer of their own; the maker may withdraw it. At most one
offer is open per dispute (``dispute_offers_one_open``). An accepted offer ends the dispute through
``escrow.services.disputes.settle``, the operators' own resolution: the same exact sum, the same
commission, the outcome ``settled``; no operator is needed.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from escrow.errors import AmountsDoNotAddUp
from escrow.models import DisputeOutcome, OfferStatus, SettlementOffer, User
from escrow.money import parse_amount
from escrow.services.audit import record_event
from escrow.services.disputes import settle
from escrow.services.locks import lock_dispute
from escrow.states import actor_roles, require_on_case


def _locked(dispute_id):
    project, milestones, dispute = lock_dispute(dispute_id)
    offer = SettlementOffer.objects.select_for_update().filter(dispute=dispute, status=OfferStatus.OPEN).first()
    return project, milestones, dispute, offer


def _amounts(dispute, seller_amount, buyer_amount) -> tuple[Decimal, Decimal]:
    to_seller = parse_amount(seller_amount, dispute.currency, field="seller_amount", allow_zero=True)
    to_buyer = parse_amount(buyer_amount, dispute.currency, field="buyer_amount", allow_zero=True)
    if to_seller + to_buyer != dispute.frozen_amount:
        raise AmountsDoNotAddUp(f"The offer ({to_seller} + {to_buyer}) must divide exactly what the dispute froze: "
                                f"{dispute.frozen_amount} {dispute.currency}.")
    return to_seller, to_buyer


def _event(project, dispute, actor, roles, action: str, offer: SettlementOffer, **data) -> None:
    record_event(actor=actor, roles=roles, action=action, project=project, milestone=dispute.milestone,
                 subject="milestone" if dispute.milestone_id else "project", from_state=dispute.status,
                 dispute=dispute, offer=offer, seller_amount=offer.seller_amount, buyer_amount=offer.buyer_amount,
                 **data)


def _create(project, dispute, actor, roles, action, seller_amount, buyer_amount, note, counters=None):
    to_seller, to_buyer = _amounts(dispute, seller_amount, buyer_amount)
    offer = SettlementOffer.objects.create(dispute=dispute, made_by=actor, seller_amount=to_seller,
                                           buyer_amount=to_buyer, note=(note or "").strip(), counters=counters)
    _event(project, dispute, actor, roles, action, offer, note=offer.note or None)
    return offer


@transaction.atomic
def offer_make(*, dispute, actor: User, seller_amount, buyer_amount, note: str = "") -> SettlementOffer:
    """A party offers a split of what the dispute froze (no other offer open)."""
    project, _, dispute, offer = _locked(dispute.pk)
    roles = actor_roles(project, actor)
    require_on_case("make_offer", dispute=dispute, offer=offer, actor=actor, roles=roles)
    return _create(project, dispute, actor, roles, "offer_make", seller_amount, buyer_amount, note)


@transaction.atomic
def offer_counter(*, offer: SettlementOffer, actor: User, seller_amount, buyer_amount,
                  note: str = "") -> SettlementOffer:
    """The other party answers the open ``offer`` with their own: the first is ``countered``."""
    project, _, dispute, open_offer = _locked(offer.dispute_id)
    roles = actor_roles(project, actor)
    require_on_case("counter_offer", dispute=dispute, offer=_the(open_offer, offer), actor=actor, roles=roles)
    _decide(open_offer, OfferStatus.COUNTERED, actor)
    return _create(project, dispute, actor, roles, "offer_counter", seller_amount, buyer_amount, note,
                   counters=open_offer)


@transaction.atomic
def offer_withdraw(*, offer: SettlementOffer, actor: User) -> SettlementOffer:
    """The maker takes back their open offer."""
    project, _, dispute, open_offer = _locked(offer.dispute_id)
    roles = actor_roles(project, actor)
    require_on_case("withdraw_offer", dispute=dispute, offer=_the(open_offer, offer), actor=actor, roles=roles)
    _decide(open_offer, OfferStatus.WITHDRAWN, actor)
    _event(project, dispute, actor, roles, "offer_withdraw", open_offer)
    return open_offer


@transaction.atomic
def offer_accept(*, offer: SettlementOffer, actor: User) -> SettlementOffer:
    """The other party accepts the open ``offer``: the dispute is settled as it says."""
    project, milestones, dispute, open_offer = _locked(offer.dispute_id)
    roles = actor_roles(project, actor)
    require_on_case("accept_offer", dispute=dispute, offer=_the(open_offer, offer), actor=actor, roles=roles)
    _decide(open_offer, OfferStatus.ACCEPTED, actor)
    _event(project, dispute, actor, roles, "offer_accept", open_offer)
    settle(dispute=dispute, project=project, milestones=milestones, actor=actor, roles=roles,
           outcome=DisputeOutcome.SETTLED, seller_amount=open_offer.seller_amount,
           buyer_amount=open_offer.buyer_amount, note=f"Settled by the parties: offer {open_offer.pk} accepted.")
    return open_offer


def _decide(offer: SettlementOffer, status: str, actor: User) -> None:
    offer.status, offer.decided_at, offer.decided_by = status, timezone.now(), actor
    offer.save(update_fields=["status", "decided_at", "decided_by"])


def _the(open_offer, offer):
    """The open offer, if it is the one answered; else None, so the guard says there is none to
    answer (a stale offer: countered, withdrawn or settled meanwhile)."""
    return open_offer if open_offer is not None and open_offer.pk == offer.pk else None
