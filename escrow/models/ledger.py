"""The ``transactions`` table: the ledger. Rows are never updated in amount nor deleted."""

from django.conf import settings
from django.db import models

from escrow.models.choices import TransactionStatus, TransactionType
from escrow.models.fields import MONEY, TimestampedModel, currency_field, uuid_pk


class Transaction(TimestampedModel):
    id = uuid_pk()
    # PROTECT: a user with ledger rows cannot disappear and take the money trail with them.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transactions")
    project = models.ForeignKey(
        "escrow.Project", on_delete=models.SET_NULL, related_name="transactions", null=True, blank=True
    )
    milestone = models.ForeignKey(
        "escrow.Milestone", on_delete=models.SET_NULL, related_name="transactions", null=True, blank=True
    )
    transaction_type = models.CharField(max_length=20, choices=TransactionType.choices)
    status = models.CharField(
        max_length=20,
        choices=TransactionStatus.choices,
        default=TransactionStatus.PENDING,
        db_default=TransactionStatus.PENDING,
    )
    amount = models.DecimalField(**MONEY)
    currency = currency_field()
    fee = models.DecimalField(**MONEY, default=0, db_default=0)
    net_amount = models.DecimalField(**MONEY)
    payment_gateway = models.CharField(max_length=50, default="fincra", db_default="fincra")
    gateway_transaction_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    gateway_reference = models.CharField(max_length=255, null=True, blank=True)
    gateway_response = models.JSONField(null=True, blank=True)
    # What FinCra kept: its collection fee on a deposit (amount received − amount settled to us),
    # its payout fee on a withdrawal (debited from the wallet on top of the amount).
    gateway_fee = models.DecimalField(**MONEY, null=True, blank=True)
    description = models.TextField(blank=True, null=True)
    notes = models.TextField(blank=True, null=True)
    extra_data = models.JSONField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "transactions"
        ordering = ["-created_at"]
        constraints = [
            # A milestone is released at most once, whatever the code above does concurrently.
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(transaction_type="escrow_release") & ~models.Q(status__in=["failed", "cancelled"]),
                name="transactions_one_release_per_milestone",
            ),
            # A project is held once: a second confirmation of the same payment cannot hold twice.
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(transaction_type="escrow_hold") & ~models.Q(status__in=["failed", "cancelled"]),
                name="transactions_one_hold_per_project",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction_type"], name="transactions_type_idx"),
            models.Index(fields=["status"], name="transactions_status_idx"),
            models.Index(fields=["created_at"], name="transactions_created_at_idx"),
            # A page of a user's ledger, newest first (escrow.selectors.transactions_page): their own
            # rows and their projects' rows, each an index range read whatever the ledger's size.
            models.Index(fields=["user", "-created_at", "id"], name="transactions_user_page_idx"),
            models.Index(fields=["project", "-created_at", "id"], name="transactions_project_page_idx"),
            models.Index(fields=["gateway_reference"], name="transactions_gateway_ref_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.amount} {self.currency} ({self.status})"
