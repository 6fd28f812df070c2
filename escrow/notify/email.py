"""E-mail notifications: who is told of what, and the message each is sent (docs/notifications.md).

``notifications_queue`` is called by ``record_event`` (escrow/services/audit.py) in the state
change's transaction, beside the webhooks: for each notification the event owes, one
``send_notification`` job per recipient is deferred in that transaction, so a change that rolls
back sends nothing. The worker renders and sends it through Django's e-mail framework
(``EMAIL_URL``), retrying with backoff while the server refuses or is away.

Essential notifications (money moved, disputes, payouts, deadlines) are always sent; the others
only to users whose ``notify_optional`` is on (checked when the job is deferred and again when it
runs, so turning it off stops what is still waiting).

Invitations (escrow/services/invitations.py) defer ``send_notification`` with the kind ``invited``
(essential: the invitee may have no account to opt out with) and an ``invitation_id`` instead of a
recipient: it is addressed to the invited e-mail, registered or not, with the same message either
way (``invitation_send``).
"""

from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation

from escrow.db.prepared import Prepared, prepared
from escrow.models import Milestone, MilestoneStatus, Project, ProjectStatus, Transaction, User
from escrow.money import decimals
from escrow.notify import events

BUYER, SELLER, BOTH, OTHERS = "buyer", "seller", "both", "others"


@dataclass(frozen=True)
class Kind:
    essential: bool
    subject: str
    lines: tuple[str, ...]  # paragraphs; ``%(name)s`` placeholders filled from the context


KINDS = {
    "invited": Kind(True, "%(inviter)s invited you to the escrow project “%(project)s”", (
        "%(inviter)s invited you to be the %(role)s of the escrow project “%(project)s” (%(total)s) on Amani, "
        "which holds the buyer's payment until the work is approved.",
        "To join, open %(link)s and sign in or create your account with this e-mail address (%(email)s); "
        "the project appears in your account as soon as you do. The invitation expires on %(expires)s.",
        "If you did not expect this, ignore this message: nothing happens unless you sign in.",
    )),
    "proposed": Kind(False, "%(actor)s proposed “%(project)s”", (
        "%(actor)s proposed the escrow project “%(project)s” to you: %(total)s in %(milestones)s milestone(s).",
        "Review the terms and accept the project in Amani before it can be funded.",
    )),
    "accepted": Kind(False, "“%(project)s” was accepted", (
        "%(actor)s accepted the project “%(project)s”. The buyer can now fund it.",
    )),
    "funded": Kind(True, "“%(project)s” is funded", (
        "The buyer's payment of %(amount)s for “%(project)s” is held in escrow.",
        "The seller can start work; money is released to the seller only when a milestone is approved.",
    )),
    "deposit_failed": Kind(True, "Your payment for “%(project)s” failed", (
        "Your payment for “%(project)s” did not go through, and nothing is held. You can try again.",
    )),
    "work_started": Kind(False, "Work started on “%(project)s”", (
        "The seller started work on “%(project)s” (milestone “%(milestone)s”).",
    )),
    "delivered": Kind(True, "“%(milestone)s” was delivered: inspect it by %(deadline)s", (
        "The seller delivered the milestone “%(milestone)s” of “%(project)s”.",
        "%(inspection)s",
    )),
    "inspection_reminder": Kind(True, "Reminder: “%(milestone)s” is approved automatically on %(deadline)s", (
        "The inspection period of the milestone “%(milestone)s” of “%(project)s” ends on %(deadline)s.",
        "If you neither approve, reject nor dispute it by then, it is approved automatically and its "
        "money (%(amount)s) is released to the seller.",
    )),
    "released": Kind(True, "“%(milestone)s” was approved and %(released)s released", (
        "The milestone “%(milestone)s” of “%(project)s” was %(how)s.",
        "%(released)s was released to the seller (%(amount)s gross, commission %(commission)s).",
    )),
    "rejected": Kind(False, "“%(milestone)s” was sent back", (
        "The buyer rejected the delivery of the milestone “%(milestone)s” of “%(project)s”.",
        "You can start it again and deliver anew.",
    )),
    "disputed": Kind(True, "“%(project)s” is disputed", (
        "%(actor)s opened a dispute on “%(project)s”%(disputed_part)s. The money it is about is frozen until "
        "an operator resolves the dispute or you settle it together (a settlement offer).",
    )),
    "dispute_resolved": Kind(True, "The dispute on “%(project)s” was resolved", (
        "The dispute on “%(project)s”%(disputed_part)s ended: %(outcome)s.",
        "Note: %(note)s",
    )),
    "case_message": Kind(False, "New message on the dispute of “%(project)s”", (
        "%(actor)s wrote on the dispute of “%(project)s”%(disputed_part)s. Read it in the app.",
    )),
    "offer_made": Kind(True, "A settlement offer on the dispute of “%(project)s”", (
        "%(actor)s offers to settle the dispute of “%(project)s”%(disputed_part)s: %(seller_amount)s to the "
        "seller (before commission) and %(buyer_amount)s back to the buyer. Accept it or counter it in the app.",
    )),
    "case_deadline": Kind(True, "Dispute response deadline passed: “%(project)s”", (
        "The response deadline of the dispute on “%(project)s”%(disputed_part)s has passed. The case waits for "
        "an operator.",
    )),
    "cancel_requested": Kind(False, "%(actor)s asks to cancel “%(project)s”", (
        "%(actor)s asked to cancel “%(project)s”. If you agree, cancel it too and the money held is refunded "
        "to the buyer.",
    )),
    "cancelled": Kind(False, "“%(project)s” was cancelled", (
        "%(actor)s cancelled the project “%(project)s”. No money was held.",
    )),
    "refunded": Kind(True, "“%(project)s” was cancelled and refunded", (
        "The project “%(project)s” was cancelled and %(refunded)s was refunded to the buyer.",
    )),
    "payout_completed": Kind(True, "Your withdrawal of %(amount)s was paid", (
        "Your withdrawal of %(amount)s was paid out to your bank account.",
    )),
    "payout_failed": Kind(True, "Your withdrawal of %(amount)s failed", (
        "Your withdrawal of %(amount)s could not be paid out. The amount is available in your balance again; "
        "check your bank details and try again.",
    )),
    "webhook_endpoint_disabled": Kind(True, "Your webhook endpoint was disabled", (
        "Your webhook endpoint %(url)s was disabled: %(reason)s.",
        "No events are sent to it until you enable it again (PATCH /api/v1/webhook-endpoints/%(endpoint_id)s/ "
        "with is_active true); the events it missed can be replayed from its delivery log.",
    )),
}

# Event type → the notifications it owes and to whom. The other audit events tell no one: their
# outcome has an event of its own (``project.resolve`` after ``resolve_release``...).
ON_EVENT = {
    "project.propose": [("proposed", OTHERS)],
    "project.accept": [("accepted", OTHERS)],
    "project.confirm_deposit": [("funded", BOTH)],
    "project.deposit_failed": [("deposit_failed", BUYER)],
    "project.begin_work": [("work_started", BUYER)],
    "milestone.submit": [("delivered", BUYER)],
    "milestone.approve": [("released", BOTH)],
    "milestone.reject": [("rejected", SELLER)],
    "project.dispute": [("disputed", BOTH)],
    "milestone.dispute": [("disputed", BOTH)],
    "project.resolve": [("dispute_resolved", BOTH)],
    "milestone.resolve": [("dispute_resolved", BOTH)],
    "project.case_message": [("case_message", OTHERS)],
    "milestone.case_message": [("case_message", OTHERS)],
    "project.offer_make": [("offer_made", OTHERS)],
    "milestone.offer_make": [("offer_made", OTHERS)],
    "project.offer_counter": [("offer_made", OTHERS)],
    "milestone.offer_counter": [("offer_made", OTHERS)],
    "project.request_cancel": [("cancel_requested", OTHERS)],
    "project.cancel": [("cancelled", OTHERS)],
    "project.mutual_cancel": [("refunded", BOTH)],
    "project.refund": [("refunded", BOTH)],
}

OUTCOMES = {"release": "the money held is released to the seller", "refund": "the money held is refunded to "
            "the buyer", "split": "the money held is split between the seller and the buyer",
            # the outcome words of dispute cases (issue 14)
            "released": "an operator released the money to the seller",
            "refunded": "the money went back to the buyer",
            "settled": "settled by the parties' accepted offer: %(split)s",
            }


def language_for(user: User) -> str:
    """The recipient's language. The hook for per-user languages: users have none yet, so every
    e-mail is in ``LANGUAGE_CODE`` (English); a ``language`` on users would be returned here."""
    return settings.LANGUAGE_CODE


# --- deferred with the state change ---------------------------------------------------------------

def _recipients(rule: str, event, project) -> set:
    parties = {project.buyer_id, project.seller_id} - {None}
    if rule == BUYER:
        return {project.buyer_id} - {None}
    if rule == SELLER:
        return {project.seller_id} - {None}
    if rule == OTHERS and event.actor_id in parties:
        return parties - {event.actor_id}
    return parties  # BOTH, or OTHERS when an operator or the system acted


def notifications_queue(*, event, project=None, milestone=None) -> int:
    """In the state change's transaction: defer the e-mails ``event`` owes. Returns how many."""
    if project is None:
        if event.action == "withdrawal_settle" and event.to_state in ("completed", "failed"):
            withdrawal = Transaction.objects.only("user_id").get(pk=event.data["withdrawal"])
            return notification_defer(kind=f"payout_{event.to_state}", recipient_id=withdrawal.user_id,
                                      withdrawal_id=withdrawal.pk)
        return 0
    owed = [(kind, recipient_id) for kind, rule in ON_EVENT.get(events.type_of(event), ())
            for recipient_id in sorted(_recipients(rule, event, project), key=str)]
    return notifications_defer(owed, event_id=event.pk)


def wanted(kind: str, user: User | None) -> bool:
    return user is not None and user.is_active and (KINDS[kind].essential or user.notify_optional)


def notification_defer(*, kind: str, recipient_id, **refs) -> int:
    """Defer one notification's job (in the caller's transaction), unless the recipient opted out."""
    return notifications_defer([(kind, recipient_id)], **refs)


def notifications_defer(owed: list[tuple[str, object]], **refs) -> int:
    """Defer a job for each (kind, recipient id) of ``owed`` whose recipient wants it, all about
    ``refs``, in the caller's transaction: the recipients read in one query, the jobs deferred in
    one statement. One job per e-mail, so that one recipient's failure never resends another's."""
    if not owed:
        return 0
    ids = sorted({recipient_id for _, recipient_id in owed}, key=str)
    wants = prepared(("notified", len(ids)), lambda *ids: User.objects.filter(pk__in=ids).only(
        "is_active", "notify_optional"), [uuid4() for _ in ids])
    users = {user.pk: user for user in wants.run(*ids)}
    refs = {name: str(value) for name, value in refs.items()}
    jobs = [{"kind": kind, "recipient_id": str(recipient_id), **refs}
            for kind, recipient_id in owed if wanted(kind, users.get(recipient_id))]
    if jobs:
        from escrow.notify.jobs import send_notification

        send_notification.batch_defer(*jobs)
    return len(jobs)


def inspection_reminders_queue(*, now=None) -> list[Milestone]:
    """Defer the reminder of every delivery whose inspection period ends within
    ``NOTIFY_INSPECTION_REMINDER_HOURS``, once per delivery (recorded on the milestone, under its
    lock). A period no longer than that is not reminded of: the delivery's e-mail gave its deadline."""
    now = now or timezone.now()
    hours = settings.NOTIFY_INSPECTION_REMINDER_HOURS
    period = timedelta(days=1) * F("project__inspection_days")
    due = Milestone.objects.filter(
        Q(inspection_reminder_sent_at__isnull=True) | Q(inspection_reminder_sent_at__lt=F("completed_at")),
        status=MilestoneStatus.COMPLETED,
        project__status__in=[ProjectStatus.ACTIVE, ProjectStatus.IN_PROGRESS],
        project__inspection_days__gt=hours / 24,
        completed_at__lte=now + timedelta(hours=hours) - period,
        completed_at__gt=now - period,
    ).values_list("pk", flat=True)
    reminded = []
    for milestone_id in due:
        with transaction.atomic():
            from escrow.services.locks import lock_milestone

            project, milestone = lock_milestone(milestone_id)
            sent_at = milestone.inspection_reminder_sent_at
            if milestone.status != MilestoneStatus.COMPLETED or (sent_at and sent_at >= milestone.completed_at):
                continue  # approved, rejected or reminded meanwhile
            milestone.inspection_reminder_sent_at = now
            milestone.save(update_fields=["inspection_reminder_sent_at", "updated_at"])
            notification_defer(kind="inspection_reminder", recipient_id=project.buyer_id, milestone_id=milestone.pk)
            reminded.append(milestone)
    return reminded


# --- sent by the worker ---------------------------------------------------------------------------

def _money(amount, currency: str) -> str:
    return f"{amount:,.{decimals(currency)}f} {currency}" if amount not in (None, "") else ""


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def deadline_of(milestone: Milestone, project: Project):
    if not project.inspection_days or milestone.completed_at is None:
        return None
    return milestone.completed_at + timedelta(days=project.inspection_days)


def _actor_name(event, project, recipient) -> str:
    if event is None or event.actor_id is None:
        return "Amani"
    if event.actor_id == recipient.pk:
        return "You"
    if event.actor_id in (project.buyer_id, project.seller_id):
        role = "buyer" if event.actor_id == project.buyer_id else "seller"
        return f"{event.actor_name} (the {role})" if event.actor_name else f"The {role}"
    return "An operator"


def _event_with_subjects(event_id):
    from escrow.models import EscrowEvent

    count = (Milestone.objects.filter(project_id=OuterRef("project_id")).order_by().values("project_id")
             .annotate(n=Count("pk")).values("n"))
    return (EscrowEvent.objects.filter(pk=event_id).select_related("project", "milestone")
            .annotate(milestone_count=Coalesce(Subquery(count), 0),
                      actor_name=Subquery(User.objects.filter(pk=OuterRef("actor_id")).values("full_name"))))


# What a notification about an event says, in one query compiled once: the event with its project,
# its milestone, the project's number of milestones and the actor's name.
EVENT_WITH_SUBJECTS = Prepared(_event_with_subjects, uuid4())
RECIPIENT = Prepared(lambda user_id: User.objects.filter(pk=user_id), uuid4())


def context_for(kind: str, recipient: User, *, event_id=None, milestone_id=None, withdrawal_id=None,
                endpoint_id=None) -> dict | None:
    """What the message says, read now from the database; ``None`` when its subject is gone."""
    from decimal import Decimal

    from escrow.models import WebhookEndpoint

    context = {"name": recipient.full_name or recipient.email, "facts": []}
    if withdrawal_id:
        withdrawal = Transaction.objects.filter(pk=withdrawal_id).first()
        if withdrawal is None:
            return None
        context["amount"] = _money(withdrawal.amount, withdrawal.currency)
        context["facts"].append(("Amount", context["amount"]))
        return context
    if endpoint_id:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
        if endpoint is None or endpoint.is_active:
            return None
        context.update(url=endpoint.url, reason=endpoint.disabled_reason, endpoint_id=str(endpoint.pk))
        return context
    if event_id:
        event = next(iter(EVENT_WITH_SUBJECTS.run(event_id)), None)
        if event is None or event.project is None:
            return None
        project, milestone, milestone_count = event.project, event.milestone, event.milestone_count
    else:
        event = None
        milestone = Milestone.objects.filter(pk=milestone_id).select_related("project").first()
        if milestone is None:
            return None
        project = milestone.project
        milestone_count = project.milestones.count()
    data = event.data if event is not None else {}
    currency = project.currency
    money = {key: _money(Decimal(data[key]), currency) for key in ("held", "gross", "released", "commission",
                                                                     "refunded") if key in data}
    context.update(
        project=project.title, project_id=str(project.pk), total=_money(project.total_amount, currency),
        milestones=milestone_count, actor=_actor_name(event, project, recipient),
        milestone=milestone.title if milestone else "", amount=money.get("gross") or money.get("held", ""),
        released=money.get("released", ""), commission=money.get("commission", ""),
        refunded=money.get("refunded", _money(Decimal(0), currency)),
        reason=data.get("reason", ""), note=data.get("note", ""),
        outcome=OUTCOMES.get(data.get("outcome"), data.get("outcome", "")),
        disputed_part=f" (milestone “{milestone.title}”)" if milestone is not None else "",
        seller_amount=_money(Decimal(data["seller_amount"]), currency) if "seller_amount" in data else "",
        buyer_amount=_money(Decimal(data["buyer_amount"]), currency) if "buyer_amount" in data else "",
    )
    split = f"{context['seller_amount']} to the seller (before commission), {context['buyer_amount']} to the buyer"
    if data.get("outcome") == "split":
        context["outcome"] = f"an operator split the money: {split}"
    elif data.get("outcome") == "settled":
        context["outcome"] = OUTCOMES["settled"] % {"split": split}
    facts = [("Project", f"{project.title} ({project.pk})")]
    if milestone is not None:
        facts.append(("Milestone", f"{milestone.title} ({_money(milestone.amount, currency)})"))
        if not context["amount"]:
            context["amount"] = _money(milestone.amount, currency)
        deadline = deadline_of(milestone, project)
        context["deadline"] = _when(deadline) if deadline else "no deadline"
        context["inspection"] = (
            f"Inspect it and approve, reject or dispute it by {context['deadline']}: after that it is approved "
            "automatically and its money released to the seller." if deadline else
            "This project has no inspection period: it stays delivered until the buyer approves, rejects or "
            "disputes it.")
        if deadline and kind in ("delivered", "inspection_reminder"):
            facts.append(("Inspection deadline", context["deadline"]))
    if kind == "released":
        context["how"] = ("approved automatically at the end of its inspection period" if event.actor_id is None
                          else "approved by the buyer" if event.actor_id == project.buyer_id
                          else "approved by an operator on the buyer's behalf")
    for label, key in (("Amount", "amount"), ("Released", "released"), ("Refunded", "refunded")):
        if context.get(key) and kind in ("funded", "released", "refunded") and (label, context[key]) not in facts:
            facts.append((label, context[key]))
    if context["reason"]:
        facts.append(("Reason", context["reason"]))
    if context["note"]:
        facts.append(("Operator's note", context["note"]))
    if data.get("notes"):
        facts.append(("Seller's notes", data["notes"]))
    context["facts"] = facts
    return context


def render(kind: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a notification."""
    spec = KINDS[kind]
    subject = "Amani: " + spec.subject % context
    paragraphs = [line % context for line in spec.lines]
    page = {**context, "subject": subject, "paragraphs": paragraphs}
    return (subject, render_to_string("notify/email.txt", page), render_to_string("notify/email.html", page))


def invitation_send(*, invitation_id) -> int:
    """Send an invitation's e-mail now (the job's body): 1 if sent, 0 if no longer open."""
    from escrow.models import Invitation
    from escrow.services.invitations import invitation_link, invitation_status

    invitation = Invitation.objects.filter(pk=invitation_id).select_related("project", "created_by").first()
    if invitation is None or invitation_status(invitation) != "open":
        return 0  # accepted, withdrawn or expired (or the draft deleted) since it was deferred
    project, inviter = invitation.project, invitation.created_by
    context = {
        "name": invitation.email, "email": invitation.email, "role": invitation.role, "project": project.title,
        "inviter": inviter.full_name or inviter.email, "total": _money(project.total_amount, project.currency),
        "link": invitation_link(invitation), "expires": _when(invitation.expires_at),
    }
    context["facts"] = [("Project", project.title), ("Amount", context["total"]), ("Your role", invitation.role),
                        ("Join", context["link"]), ("Expires", context["expires"])]
    with translation.override(settings.LANGUAGE_CODE):
        subject, text, html = render("invited", context)
    message = EmailMultiAlternatives(subject=subject.replace("\n", " "), body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    return message.send(fail_silently=False)


def notification_send(*, kind: str, recipient_id, **refs) -> int:
    """Send one notification now (the job's body): 1 if sent, 0 if no longer owed."""
    if kind == "invited":
        return invitation_send(**refs)
    recipient = next(iter(RECIPIENT.run(recipient_id)), None)
    if not wanted(kind, recipient):
        return 0  # deactivated, or turned non-essential e-mails off since
    with translation.override(language_for(recipient)):
        context = context_for(kind, recipient, **refs)
        if context is None:
            return 0
        subject, text, html = render(kind, context)
    message = EmailMultiAlternatives(subject=subject.replace("\n", " "), body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient.email])
    message.attach_alternative(html, "text/html")
    return message.send(fail_silently=False)
