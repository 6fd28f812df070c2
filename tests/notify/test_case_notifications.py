"""E-mails of dispute cases, through the job queue and a real SMTP server on 127.0.0.1: the
operators told once when a case's response deadline passes; a party told of the other's message
and offer."""

from datetime import timedelta

from django.utils import timezone

from escrow import services
from escrow.models import Dispute, EscrowEvent
from tests import builders
from tests.notify.smtp import parts


def milestone_dispute(project, index=0):
    milestone = project.milestones.get(order_index=index)
    services.milestone_dispute(milestone=milestone, actor=project.buyer, reason="not delivered")
    return Dispute.objects.get(milestone=milestone, status="open")


def test_the_operators_are_told_once_when_the_response_deadline_passes(worker, smtp, settings):
    settings.ESCROW_DISPUTE_RESPONSE_DAYS = 2
    project = builders.in_progress()
    dispute = milestone_dispute(project)
    operator = builders.make_operator()
    assert services.disputes_deadline_due() == []  # not yet
    later = timezone.now() + timedelta(days=2, minutes=1)
    assert [d.pk for d in services.disputes_deadline_due(now=later)] == [dispute.pk]
    assert services.disputes_deadline_due(now=later + timedelta(days=1)) == []  # once
    text, _ = parts(smtp.wait(operator.email, "response deadline passed"))
    assert project.title in text
    assert EscrowEvent.objects.filter(project=project, action="case_deadline").count() == 1
    dispute.refresh_from_db()
    assert dispute.deadline_notified_at is not None


def test_a_party_is_told_of_the_other_partys_message_and_offer(worker, smtp):
    project = builders.in_progress()
    dispute = milestone_dispute(project)
    services.dispute_message_post(dispute=dispute, actor=project.buyer, body="Where is the rest?")
    smtp.wait(project.seller.email, "New message on the dispute")
    services.offer_make(dispute=dispute, actor=project.buyer, seller_amount="100.00", buyer_amount="300.00")
    text, _ = parts(smtp.wait(project.seller.email, "settlement offer"))
    assert "100.00 USD to the seller" in text and "300.00 USD back to the buyer" in text
    services.dispute_message_post(dispute=dispute, actor=builders.make_operator(), body="internal", internal=True)
    assert not smtp.to(project.buyer.email, "New message")  # neither the author nor an internal note
