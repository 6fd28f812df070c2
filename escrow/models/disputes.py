"""Disputes as cases (issue 14): the case, its messages, evidence files and settlement offers.

A dispute is about one milestone (``milestone`` set: only that milestone's money is frozen, the
others go on) or the whole project (``milestone`` null: everything still held is frozen). It is
``open`` until an operator resolves it or the parties settle it by an accepted offer; then it
records its ``outcome`` and the amounts that went to each side. At most one open dispute per
milestone, and a project-wide one only while no other dispute of the project is open (the
partial unique indexes below, and the services).

Parties read their case, its messages but the operators' internal notes, its evidence and offers
through RLS (migration 0021); nobody writes these tables but the backend's services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from escrow.models.fields import MONEY, TimestampedModel, uuid_pk


class DisputeStatus(models.TextChoices):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeOutcome(models.TextChoices):
    """What happened to the money a dispute froze (also on the project and its milestones)."""

    RELEASED = "released"  # all to the seller, commission as usual
    REFUNDED = "refunded"  # all back to the buyer
    SPLIT = "split"  # divided by an operator
    SETTLED = "settled"  # divided as the parties agreed (an accepted offer)


class OfferStatus(models.TextChoices):
    OPEN = "open"
    ACCEPTED = "accepted"
    COUNTERED = "countered"  # the other party answered with an offer of their own
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"  # the dispute ended otherwise while the offer was open


class Dispute(TimestampedModel):
    id = uuid_pk()
    project = models.ForeignKey("escrow.Project", on_delete=models.PROTECT, related_name="disputes")
    milestone = models.ForeignKey("escrow.Milestone", on_delete=models.PROTECT, related_name="disputes",
                                  null=True, blank=True)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN,
                              db_default=DisputeStatus.OPEN)
    # What the dispute froze when it was opened (what a resolution must divide exactly).
    frozen_amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    # The parties' answers are due by then; when it passes, the operators are told once.
    response_due_at = models.DateTimeField()
    deadline_notified_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=DisputeOutcome.choices, blank=True, default="",
                               db_default="")
    seller_amount = models.DecimalField(**MONEY, null=True, blank=True)  # gross, before commission
    buyer_amount = models.DecimalField(**MONEY, null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    resolution_note = models.TextField(blank=True, default="", db_default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "disputes"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["milestone"], condition=Q(status="open", milestone__isnull=False),
                                    name="disputes_one_open_per_milestone"),
            models.UniqueConstraint(fields=["project"], condition=Q(status="open", milestone__isnull=True),
                                    name="disputes_one_open_per_project"),
            models.CheckConstraint(condition=Q(status__in=DisputeStatus.values), name="disputes_chk_status"),
            models.CheckConstraint(condition=Q(outcome__in=["", *DisputeOutcome.values]), name="disputes_chk_outcome"),
            models.CheckConstraint(
                condition=Q(status="open", outcome="", resolved_at__isnull=True, seller_amount__isnull=True,
                            buyer_amount__isnull=True)
                | (Q(status="resolved", resolved_at__isnull=False, seller_amount__isnull=False,
                     buyer_amount__isnull=False) & ~Q(outcome="")),
                name="disputes_chk_resolution"),
            # The resolution divides exactly what was frozen.
            models.CheckConstraint(
                condition=Q(seller_amount__isnull=True)
                | Q(seller_amount__gte=0, buyer_amount__gte=0,
                    frozen_amount=models.F("seller_amount") + models.F("buyer_amount")),
                name="disputes_chk_exact_sum"),
            models.CheckConstraint(condition=Q(frozen_amount__gte=0), name="disputes_chk_frozen_amount"),
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="disputes_project_status_idx"),
            models.Index(fields=["status", "response_due_at"], name="disputes_due_idx"),
        ]

    def __str__(self) -> str:
        return f"dispute on {self.milestone or self.project} ({self.status})"


class DisputeMessage(models.Model):
    id = uuid_pk()
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    # An operators' note: never shown to the parties (the RLS policy and the API).
    internal = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        db_table = "dispute_messages"
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="dispute_messages_chk_body"),
        ]
        indexes = [models.Index(fields=["dispute", "created_at"], name="dispute_messages_case_idx")]


class DisputeEvidence(models.Model):
    id = uuid_pk()
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The storage's name of the file (Django's storage API): a random name, never the uploader's.
    file = models.FileField(max_length=255, upload_to="dispute-evidence/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)  # from the content's magic bytes
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=500, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        db_table = "dispute_evidence"
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/png", "image/jpeg", "image/gif",
                                              "image/webp"]),
                name="dispute_evidence_chk_content_type"),
            models.CheckConstraint(condition=Q(size__gt=0), name="dispute_evidence_chk_size"),
        ]
        indexes = [models.Index(fields=["dispute", "created_at"], name="dispute_evidence_case_idx")]


class SettlementOffer(models.Model):
    id = uuid_pk()
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="offers")
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The offer this one counters, if any.
    counters = models.ForeignKey("self", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    seller_amount = models.DecimalField(**MONEY)  # gross to the seller (commission taken from it)
    buyer_amount = models.DecimalField(**MONEY)  # back to the buyer
    note = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN,
                              db_default=OfferStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)

    class Meta:
        db_table = "dispute_offers"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dispute"], condition=Q(status="open"), name="dispute_offers_one_open"),
            models.CheckConstraint(condition=Q(status__in=OfferStatus.values), name="dispute_offers_chk_status"),
            models.CheckConstraint(condition=Q(seller_amount__gte=0, buyer_amount__gte=0),
                                   name="dispute_offers_chk_amounts"),
            models.CheckConstraint(condition=Q(status="open", decided_at__isnull=True)
                                   | (~Q(status="open") & Q(decided_at__isnull=False)),
                                   name="dispute_offers_chk_decided"),
        ]
        indexes = [models.Index(fields=["dispute", "created_at"], name="dispute_offers_case_idx")]


class DisputeAssignment(models.Model):
    """Which operator works on a case: the operators' queue only.

    Its own table, not a column of ``disputes``, because parties read their ``disputes`` rows
    directly (PostgREST, and the API's queries as ``authenticated``): this table has RLS enabled
    and no policy or grant for any client role, so who handles a case stays among operators
    (migration 0022).
    """

    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, primary_key=True, related_name="assignment")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "dispute_assignments"
        indexes = [models.Index(fields=["operator"], name="dispute_assignments_op_idx")]

    def __str__(self) -> str:
        return f"{self.operator} on {self.dispute_id}"
