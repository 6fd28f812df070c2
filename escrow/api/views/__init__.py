"""API views, one module per resource: parse the request, find the object the caller may see (RLS
does the rest), call a service, serialize the answer. Nothing here decides an escrow rule."""

from escrow.api.views.accounts import LogoutView, MeView, RefreshView, RegisterView, TokenView
from escrow.api.views.disputes import (
    DisputeDetailView,
    DisputeEvidenceView,
    DisputeListView,
    DisputeMessagesView,
    DisputeOffersView,
    EvidenceDownloadView,
    OfferAcceptView,
    OfferCounterView,
    OfferWithdrawView,
)
from escrow.api.views.health import HealthView
from escrow.api.views.milestones import MilestoneViewSet
from escrow.api.views.money import (
    BalanceView,
    FincraWebhookView,
    PayoutDocumentView,
    QuoteView,
    TransactionViewSet,
    WithdrawalView,
)
from escrow.api.views.projects import InvitationClaimView, ProjectViewSet
from escrow.api.views.timeline import ProjectTimelineView
from escrow.api.views.webhook_endpoints import WebhookEndpointViewSet

__all__ = [
    "BalanceView", "DisputeDetailView", "DisputeEvidenceView", "DisputeListView", "DisputeMessagesView",
    "DisputeOffersView", "EvidenceDownloadView", "FincraWebhookView", "OfferAcceptView", "OfferCounterView",
    "OfferWithdrawView", "HealthView", "InvitationClaimView", "LogoutView", "MeView",
    "MilestoneViewSet", "PayoutDocumentView", "ProjectTimelineView", "ProjectViewSet", "QuoteView", "RefreshView",
    "RegisterView", "TokenView", "TransactionViewSet", "WebhookEndpointViewSet", "WithdrawalView",
]
