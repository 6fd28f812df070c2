"""The four tables of the old backend, kept by name, column and enum value (``db_table``)."""

from escrow.models.choices import FeeBearer, MilestoneStatus, ProjectStatus, TransactionStatus, TransactionType
from escrow.models.disputes import (
    Dispute,
    DisputeAssignment,
    DisputeEvidence,
    DisputeMessage,
    DisputeOutcome,
    DisputeStatus,
    OfferStatus,
    SettlementOffer,
)
from escrow.models.events import ActorKind, EscrowEvent
from escrow.models.idempotency import IdempotencyKey
from escrow.models.invitations import Invitation, InvitationRole
from escrow.models.ledger import Transaction
from escrow.models.outbound import DeliveryTrigger, MessageStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from escrow.models.projects import Milestone, Project
from escrow.models.sessions import RefreshToken, RevokedReason
from escrow.models.users import User
from escrow.models.wallet import WalletCheck
from escrow.models.webhooks import WebhookEvent

__all__ = [
    "ActorKind",
    "DeliveryTrigger",
    "Dispute",
    "DisputeAssignment",
    "DisputeEvidence",
    "DisputeMessage",
    "DisputeOutcome",
    "DisputeStatus",
    "EscrowEvent",
    "FeeBearer",
    "IdempotencyKey",
    "Invitation",
    "InvitationRole",
    "MessageStatus",
    "Milestone",
    "MilestoneStatus",
    "OfferStatus",
    "Project",
    "ProjectStatus",
    "RefreshToken",
    "RevokedReason",
    "SettlementOffer",
    "Transaction",
    "TransactionStatus",
    "TransactionType",
    "User",
    "WalletCheck",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookMessage",
]
