"""The ``projects`` (the deal) and ``milestones`` (its deliverables and payment parts) tables."""

from django.conf import settings
from django.db import models

from escrow.models.choices import MilestoneStatus, ProjectStatus
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

    class Meta:
        db_table = "projects"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="projects_status_idx"),
            models.Index(fields=["created_at"], name="projects_created_at_idx"),
        ]

    def __str__(self) -> str:
        return self.title


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
