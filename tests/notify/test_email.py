"""E-mail notifications for real: the state changes of the services, a real job worker, and a real
SMTP server on 127.0.0.1 (aiosmtpd) that Django's SMTP backend talks to over TCP."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from escrow import services
from escrow.models import Milestone, TransactionStatus, TransactionType, User
from escrow.notify.email import inspection_reminders_queue
from escrow.services.ledger import append_entry
from tests import builders
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.jobs import wait_for
from tests.notify.smtp import parts

pytestmark = pytest.mark.slow

SEND = "escrow.notify.jobs.send_notification"


def test_a_project_s_life_tells_each_party_what_concerns_them(worker, smtp):
    project = builders.draft(inspection_days=3)
    buyer, seller = project.buyer, project.seller

    services.project_propose(project=project, actor=buyer)
    proposed = smtp.wait(seller.email, "proposed")
    text, html = parts(proposed)
    assert project.title in text and project.title in html
    # who acted, in which role, and the project's terms, read with the event
    assert f"{buyer.full_name} (the buyer) proposed" in text
    assert f"in {project.milestones.count()} milestone(s)" in text
    assert proposed["from"] == "Amani <no-reply@amani.test>"

    services.project_accept(project=project, actor=seller)
    smtp.wait(buyer.email, "was accepted")

    deposit = services.project_fund_start(project=project, actor=buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)
    for party in (buyer, seller):
        text, _ = parts(smtp.wait(party.email, "is funded"))
        assert "1,000.00 USD" in text

    first, second = project.milestones.order_by("order_index")
    services.milestone_start(milestone=first, actor=seller)
    smtp.wait(buyer.email, "Work started")

    services.milestone_submit(milestone=first, actor=seller, notes="see the repo")
    first.refresh_from_db()
    deadline = f"{first.completed_at + timedelta(days=3):%Y-%m-%d %H:%M} UTC"
    assert wait_for(lambda: smtp.to(buyer.email, "was delivered"))
    [delivered] = smtp.to(buyer.email, "was delivered")
    text, html = parts(delivered)
    assert deadline in delivered["subject"] and deadline in text and deadline in html
    assert "see the repo" in text

    services.milestone_reject(milestone=first, actor=buyer, reason="tests fail")
    text, html = parts(smtp.wait(seller.email, "was sent back"))
    assert "tests fail" in text and "tests fail" in html

    services.milestone_start(milestone=first, actor=seller)
    services.milestone_submit(milestone=first, actor=seller)
    services.milestone_approve(milestone=first, actor=buyer)
    for party in (buyer, seller):
        text, html = parts(smtp.wait(party.email, "was approved"))
        assert "approved by the buyer" in text and "390.00 USD" in text  # 400 less 2.5 % commission

    services.project_dispute(project=project, actor=seller, reason="the buyer went silent")
    for party in (buyer, seller):
        smtp.wait(party.email, "is disputed")
    services.dispute_resolve(project=project, actor=builders.make_operator(), outcome="refund",
                             note="Refunded: the seller could not show the work.")
    for party in (buyer, seller):
        text, html = parts(smtp.wait(party.email, "dispute on"))
        assert "Refunded: the seller could not show the work." in text
        assert "Refunded: the seller could not show the work." in html

    # Nobody is told twice of anything (but of each of the two deliveries), and no one else was written to.
    subjects = [(tuple(to), subject) for to, subject in smtp.summary() if "was delivered" not in subject]
    assert len(subjects) == len(set(subjects))
    assert len(smtp.to(buyer.email, "was delivered")) == 2
    assert {tuple(to) for to, _ in subjects} == {(buyer.email,), (seller.email,)}


def test_the_buyer_is_reminded_once_a_day_before_the_deadline_then_auto_approval_is_told(worker, smtp):
    project = builders.delivered(inspection_days=3)
    milestone = project.milestones.order_by("order_index").first()
    smtp.wait(project.buyer.email, "was delivered")
    assert inspection_reminders_queue() == []  # three days left: not yet

    Milestone.objects.filter(pk=milestone.pk).update(completed_at=timezone.now() - timedelta(days=2, hours=1))
    assert [m.pk for m in inspection_reminders_queue()] == [milestone.pk]
    assert inspection_reminders_queue() == []  # once per delivery
    milestone.refresh_from_db()
    assert milestone.inspection_reminder_sent_at is not None
    deadline = f"{milestone.completed_at + timedelta(days=3):%Y-%m-%d %H:%M} UTC"
    reminder = smtp.wait(project.buyer.email, "Reminder")
    text, html = parts(reminder)
    assert deadline in reminder["subject"] and deadline in text and deadline in html
    assert not smtp.to(project.seller.email, "Reminder")

    Milestone.objects.filter(pk=milestone.pk).update(completed_at=timezone.now() - timedelta(days=3, minutes=1))
    assert [m.pk for m in services.milestone_auto_approve_due()] == [milestone.pk]
    for party in (project.buyer, project.seller):
        text, _ = parts(smtp.wait(party.email, "was approved"))
        assert "approved automatically at the end of its inspection period" in text


def test_cancellations_refunds_and_payouts(worker, smtp):
    pending = builders.proposed()
    services.project_cancel(project=pending, actor=pending.buyer)
    smtp.wait(pending.seller.email, "was cancelled")

    funded = builders.funded()
    services.project_party_cancel(project=funded, actor=funded.buyer)
    smtp.wait(funded.seller.email, "asks to cancel")
    services.project_party_cancel(project=funded, actor=funded.seller)
    for party in (funded.buyer, funded.seller):
        text, _ = parts(smtp.wait(party.email, "cancelled and refunded"))
        assert "1,000.00 USD was refunded" in text

    done = builders.completed()
    seller = done.seller
    for succeeded, word in ((True, "was paid"), (False, "failed")):
        withdrawal = append_entry(transaction_type=TransactionType.WITHDRAWAL, user_id=seller.pk,
                                  amount=Decimal("100.00"), currency="USD", status=TransactionStatus.PENDING)
        services.withdrawal_settle(withdrawal=withdrawal, succeeded=succeeded)
        text, html = parts(smtp.wait(seller.email, f"withdrawal of 100.00 USD {word}"))
        assert "100.00 USD" in html


def test_non_essential_e_mails_respect_the_opt_out_and_essential_ones_ignore_it(worker, smtp):
    project = builders.draft()
    buyer, seller = project.buyer, project.seller
    response = client_for(seller).patch(reverse("me"), {"notify_optional": False}, format="json")
    assert response.status_code == 200 and response.json()["notify_optional"] is False
    User.objects.filter(pk=buyer.pk).update(notify_optional=False)

    services.project_propose(project=project, actor=buyer)  # non-essential: not sent to the seller
    assert not ProcrastinateJob.objects.filter(task_name=SEND).exists()
    services.project_accept(project=project, actor=seller)  # non-essential: not sent to the buyer
    deposit = services.project_fund_start(project=project, actor=buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)  # essential
    smtp.wait(buyer.email, "is funded")
    smtp.wait(seller.email, "is funded")
    time.sleep(0.5)
    assert [subject for _, subject in smtp.summary() if "funded" not in subject] == []


def test_notify_optional_is_the_user_s_own_to_change(db):
    user, other = UserFactory(), UserFactory()
    assert user.notify_optional is True
    response = client_for(user).patch(reverse("me"), {"notify_optional": "maybe"}, format="json")
    assert response.status_code == 400 and "notify_optional" in response.content.decode()
    assert User.objects.get(pk=user.pk).notify_optional is True  # refused: nothing written
    response = client_for(user).patch(reverse("me"), {"notify_optional": False}, format="json")
    assert response.status_code == 200 and response.json()["notify_optional"] is False
    assert User.objects.get(pk=user.pk).notify_optional is False
    assert User.objects.get(pk=other.pk).notify_optional is True


def test_a_state_change_that_rolls_back_sends_nothing(worker, smtp):
    project = builders.draft()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.project_propose(project=project, actor=project.buyer)
        assert ProcrastinateJob.objects.filter(task_name=SEND).count() == 1  # deferred with the change...
        raise RuntimeError("the request failed after the change")
    assert not ProcrastinateJob.objects.filter(task_name=SEND).exists()  # ...and gone with it
    time.sleep(1)
    assert smtp.summary() == []


def test_a_refusing_mail_server_is_retried(worker, smtp):
    smtp.refuse = 2
    project = builders.draft()
    services.project_propose(project=project, actor=project.buyer)
    smtp.wait(project.seller.email, "proposed")
    assert smtp.refused == 2
    assert wait_for(lambda: ProcrastinateJob.objects.get(task_name=SEND).status == "succeeded")
    assert ProcrastinateJob.objects.get(task_name=SEND).attempts == 3  # two refused, the third taken
    assert len(smtp.summary()) == 1
