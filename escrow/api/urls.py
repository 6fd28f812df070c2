"""/api/v1/ routes (trailing slashes, JSON)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from escrow.api import views

project_list = views.ProjectViewSet.as_view({"get": "list", "post": "create"})
project_detail = views.ProjectViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
milestone_detail = views.MilestoneViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})


def project_action(name: str):
    return views.ProjectViewSet.as_view({"post": name})


def milestone_action(name: str):
    return views.MilestoneViewSet.as_view({"post": name})


urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("users/me/", views.MeView.as_view(), name="me"),
    path("projects/", project_list, name="project-list"),
    path("projects/<uuid:pk>/", project_detail, name="project-detail"),
    path("projects/<uuid:pk>/milestones/", views.ProjectViewSet.as_view({"get": "milestones", "post": "milestones"}),
         name="project-milestones"),
    *(path(f"projects/<uuid:pk>/{name}/", project_action(name), name=f"project-{name}")
      for name in ("propose", "accept", "fund", "cancel", "dispute")),
    path("projects/<uuid:pk>/invitation/", views.ProjectViewSet.as_view({"get": "invitation"}),
         name="project-invitation"),
    path("projects/<uuid:pk>/invitation/resend/", views.ProjectViewSet.as_view({"post": "invitation_resend"}),
         name="project-invitation-resend"),
    path("projects/<uuid:pk>/invitation/withdraw/", views.ProjectViewSet.as_view({"post": "invitation_withdraw"}),
         name="project-invitation-withdraw"),
    path("invitations/claim/", views.InvitationClaimView.as_view(), name="invitation-claim"),
    path("projects/<uuid:pk>/events/", views.ProjectTimelineView.as_view(), name="project-events"),
    path("milestones/<uuid:pk>/", milestone_detail, name="milestone-detail"),
    *(path(f"milestones/<uuid:pk>/{name}/", milestone_action(name), name=f"milestone-{name}")
      for name in ("start", "submit", "approve", "reject", "dispute")),
    path("disputes/", views.DisputeListView.as_view(), name="dispute-list"),
    path("disputes/<uuid:pk>/", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path("disputes/<uuid:pk>/messages/", views.DisputeMessagesView.as_view(), name="dispute-messages"),
    path("disputes/<uuid:pk>/evidence/", views.DisputeEvidenceView.as_view(), name="dispute-evidence"),
    path("disputes/<uuid:pk>/evidence/<uuid:evidence_id>/download/", views.EvidenceDownloadView.as_view(),
         name="dispute-evidence-download"),
    path("disputes/<uuid:pk>/offers/", views.DisputeOffersView.as_view(), name="dispute-offers"),
    path("disputes/<uuid:pk>/offers/<uuid:offer_id>/accept/", views.OfferAcceptView.as_view(), name="offer-accept"),
    path("disputes/<uuid:pk>/offers/<uuid:offer_id>/counter/", views.OfferCounterView.as_view(),
         name="offer-counter"),
    path("disputes/<uuid:pk>/offers/<uuid:offer_id>/withdraw/", views.OfferWithdrawView.as_view(),
         name="offer-withdraw"),
    path("transactions/", views.TransactionViewSet.as_view({"get": "list"}), name="transaction-list"),
    path("transactions/<uuid:pk>/", views.TransactionViewSet.as_view({"get": "retrieve"}), name="transaction-detail"),
    path("balance/", views.BalanceView.as_view(), name="balance"),
    path("withdrawals/", views.WithdrawalView.as_view(), name="withdrawals"),
    path("payout-documents/<uuid:pk>/", views.PayoutDocumentView.as_view(), name="payout-document"),
    path("commission/quote/", views.QuoteView.as_view(), name="commission-quote"),
    path("webhook-endpoints/", views.WebhookEndpointViewSet.as_view({"get": "list", "post": "create"}), name="webhook-endpoint-list"),
    path("webhook-endpoints/<uuid:pk>/",
         views.WebhookEndpointViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="webhook-endpoint-detail"),
    path("webhook-endpoints/<uuid:pk>/deliveries/", views.WebhookEndpointViewSet.as_view({"get": "deliveries"}),
         name="webhook-endpoint-deliveries"),
    path("webhook-endpoints/<uuid:pk>/messages/<uuid:message_id>/replay/", views.WebhookEndpointViewSet.as_view({"post": "replay"}),
         name="webhook-message-replay"),
    path("health/", views.HealthView.as_view(), name="health"),
    path("webhooks/fincra/", views.FincraWebhookView.as_view(), name="fincra-webhook"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
