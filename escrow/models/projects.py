"""The ``projects`` (the deal) and ``milestones`` (its deliverables and payment parts) tables."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from escrow.models.choices import FeeBearer, MilestoneStatus, ProjectStatus
from escrow.models.fields import MONEY, TimestampedModel, currency_field, uuid_pk


class Project(TimestampedModel):
    id = uuid_pk()
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, null=True)
    total_amount = models.DecimalField(**MONEY)
    currency = currency_field()
    status = models.CharField(
        max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.DRAFT, db_default=ProjectStatus.DRAFT
    )
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_projects")
    # Unset only while draft; the database requires both, and distinct, once proposed.
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases", null=True, blank=True
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales", null=True, blank=True
    )
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    completion_criteria = models.TextField(blank=True, null=True)
    start_date = models.DateTimeField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # New columns (not in the old schema), each with a database default so PostgREST inserts work.
    fee_bearer = models.CharField(
        max_length=10, choices=FeeBearer.choices, default=FeeBearer.SELLER, db_default=FeeBearer.SELLER
    )
    # The commission rate is fixed when the project is created: a later change of
    # ESCROW_COMMISSION_PERCENT never changes a deal already made.
    commission_percent = models.DecimalField(max_digits=5, decimal_places=2, default=None, db_default=Decimal("2.50"))
    # Days the buyer has to approve or reject a delivered milestone before it is approved for
    # them (0: never).
    inspection_days = models.PositiveSmallIntegerField(default=None, db_default=0)
    # Mutual cancellation of a funded project: the first party's request, until the other agrees.
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # How a project-wide dispute ended (released, refunded, split, settled); empty otherwise.
    outcome = models.CharField(max_length=10, blank=True, default="", db_default="")

    class Meta:
        db_table = "projects"
        ordering = ["-created_at"]
        permissions = [
            ("act_as_operator", "Can resolve disputes, refund, and approve milestones on a buyer's behalf"),
        ]
        indexes = [
            models.Index(fields=["status"], name="projects_status_idx"),
            models.Index(fields=["created_at"], name="projects_created_at_idx"),
            # escrow_private.public_profiles() (migration 0012) probes these, both ways round.
            models.Index(fields=["buyer", "seller"], name="projects_buyer_seller_idx"),
            models.Index(fields=["seller", "buyer"], name="projects_seller_buyer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if self.commission_percent is None:
            self.commission_percent = settings.ESCROW_COMMISSION_PERCENT
        if self.inspection_days is None:
            self.inspection_days = settings.ESCROW_INSPECTION_DAYS
        super().save(*args, **kwargs)

    def role_of(self, user) -> set[str]:
        """The parts ``user`` plays in this project: creator, buyer, seller."""
        if user is None:
            return set()
        return {
            role
            for role, party_id in (("creator", self.creator_id), ("buyer", self.buyer_id), ("seller", self.seller_id))
            if party_id == user.pk
        }


class Milestone(TimestampedModel):
    id = uuid_pk()
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, null=True)
    order_index = models.PositiveIntegerField(default=0, db_default=0)
    amount = models.DecimalField(**MONEY)
    currency = currency_field()
    status = models.CharField(
        max_length=20,
        choices=MilestoneStatus.choices,
        default=MilestoneStatus.PENDING,
        db_default=MilestoneStatus.PENDING,
    )
    is_paid = models.BooleanField(default=False, db_default=False)
    completion_criteria = models.TextField(blank=True, null=True)
    completion_notes = models.TextField(blank=True, null=True)
    due_date = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # When the buyer was reminded that this delivery's inspection period ends soon (one reminder
    # per delivery: a redelivery after a rejection has a later ``completed_at`` and gets its own).
    inspection_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # How a dispute ended this milestone (released, refunded, split, settled); empty otherwise.
    outcome = models.CharField(max_length=10, blank=True, default="", db_default="")

    class Meta:
        db_table = "milestones"
        ordering = ["project", "order_index"]
        constraints = [
            models.UniqueConstraint(fields=["project", "order_index"], name="milestones_project_order_unique"),
        ]
        indexes = [
            models.Index(fields=["status"], name="milestones_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title
