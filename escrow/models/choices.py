"""The old PostgreSQL enums, exactly, as Django choices stored in text columns.

A CHECK constraint per column (migration 0002) holds the database to the same values; a test
compares the two so they cannot drift apart.
"""

from django.db import models


class ProjectStatus(models.TextChoices):
    DRAFT = "draft"
    PENDING = "pending"
    ACTIVE = "active"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class MilestoneStatus(models.TextChoices):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISPUTED = "disputed"
    # Added by issue 14 (after the old values, which stay): how a dispute ended a milestone that
    # was not released in full — all its money back to the buyer, or divided between the parties.
    REFUNDED = "refunded"
    SPLIT = "split"


class TransactionType(models.TextChoices):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    ESCROW_HOLD = "escrow_hold"
    ESCROW_RELEASE = "escrow_release"
    REFUND = "refund"
    FEE = "fee"
    COMMISSION = "commission"


class TransactionStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class FeeBearer(models.TextChoices):
    """Who pays the platform's commission: taken from the seller's release, added to the buyer's
    deposit, or half each."""

    BUYER = "buyer"
    SELLER = "seller"
    SPLIT = "split"
