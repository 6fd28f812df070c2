"""Dispute cases: read a case; its messages, evidence files (upload, download) and settlement
offers (make, accept, counter, withdraw).

Everything is read under RLS (a stranger's or a deactivated user's case is a 404, and the parties
never receive an operators' internal note); writes go through escrow/services/disputes*.py.
Operators work on cases from the console, which calls the same services.
"""

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from escrow import services
from escrow.api.base import EscrowAPIView, as_owner
from escrow.api.fields import MoneyField
from escrow.api.views.common import ERROR, query_choice, valid
from escrow.downloads import evidence_response
from escrow.models import Dispute, DisputeEvidence, DisputeMessage, DisputeStatus, SettlementOffer
from escrow.selectors import disputes_for
from escrow.services.disputes_case import KINDS as EVIDENCE_KINDS
from escrow.states import dispute_allowed_actions

COMMON_ERRORS = {401: ERROR, 404: ERROR}
WRITE_ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR}


def _role(dispute, user_id) -> str | None:
    project = dispute.project
    if user_id == project.buyer_id:
        return "buyer"
    if user_id == project.seller_id:
        return "seller"
    return "operator" if user_id else None


class OfferSerializer(serializers.ModelSerializer):
    seller_amount = MoneyField(currency_attr="currency",
                               help_text="Gross to the seller: the commission is taken from it.")
    buyer_amount = MoneyField(currency_attr="currency", help_text="Back to the buyer.")
    made_by_role = serializers.SerializerMethodField()

    class Meta:
        model = SettlementOffer
        fields = ["id", "made_by_role", "seller_amount", "buyer_amount", "note", "status", "counters",
                  "created_at", "decided_at"]

    def get_made_by_role(self, offer) -> str:
        return _role(offer.dispute, offer.made_by_id)

    def to_representation(self, offer):
        offer.currency = offer.dispute.currency
        return super().to_representation(offer)


class MessageSerializer(serializers.ModelSerializer):
    author_role = serializers.SerializerMethodField(help_text="buyer, seller or operator.")

    class Meta:
        model = DisputeMessage
        fields = ["id", "author_role", "body", "created_at"]

    def get_author_role(self, message) -> str:
        return _role(message.dispute, message.author_id)


class EvidenceSerializer(serializers.ModelSerializer):
    uploaded_by_role = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="GET it with your token: never a public URL.")

    class Meta:
        model = DisputeEvidence
        fields = ["id", "uploaded_by_role", "original_name", "content_type", "size", "sha256", "description",
                  "created_at", "download_url"]

    def get_uploaded_by_role(self, evidence) -> str:
        return _role(evidence.dispute, evidence.uploaded_by_id)

    def get_download_url(self, evidence) -> str:
        return f"/api/v1/disputes/{evidence.dispute_id}/evidence/{evidence.pk}/download/"


class DisputeSerializer(serializers.ModelSerializer):
    frozen_amount = MoneyField(help_text="What the dispute froze: the milestone's money (its amount plus the buyer's "
                                         "part of the commission) or everything the project held.")
    seller_amount = MoneyField(allow_null=True, help_text="Once resolved: gross to the seller.")
    buyer_amount = MoneyField(allow_null=True, help_text="Once resolved: back to the buyer.")
    scope = serializers.SerializerMethodField(help_text="milestone or project.")
    raised_by_role = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Dispute
        fields = ["id", "project", "milestone", "scope", "raised_by_role", "reason", "status", "frozen_amount",
                  "currency", "response_due_at", "outcome", "seller_amount", "buyer_amount", "resolution_note",
                  "resolved_at", "created_at", "allowed_actions"]

    def get_scope(self, dispute) -> str:
        return "project" if dispute.milestone_id is None else "milestone"

    def get_raised_by_role(self, dispute) -> str:
        return _role(dispute, dispute.raised_by_id)

    def get_allowed_actions(self, dispute) -> list[str]:
        return dispute_allowed_actions(dispute, actor=self.context["request"].user)


class DisputeDetailSerializer(DisputeSerializer):
    offers = serializers.SerializerMethodField()

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "offers"]

    def get_offers(self, dispute) -> list[dict]:
        return OfferSerializer(dispute.offers.select_related("dispute__project"), many=True).data


class MessageInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000, trim_whitespace=True)


class EvidenceInput(serializers.Serializer):
    file = serializers.FileField(help_text="A PDF or an image (PNG, JPEG, GIF, WebP), checked by its content.")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class OfferInput(serializers.Serializer):
    seller_amount = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=Decimal(0),
                                             coerce_to_string=True)
    buyer_amount = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=Decimal(0),
                                            coerce_to_string=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def _dispute(request, pk) -> Dispute:
    """The case, if the caller may see it (RLS decides; the selector says it too): else 404."""
    return get_object_or_404(disputes_for(request.user).select_related("project"), pk=pk)


class DisputeListView(EscrowAPIView):
    @extend_schema(parameters=[OpenApiParameter("status", enum=DisputeStatus.values),
                               OpenApiParameter("project", str, description="A project's id.")],
                   responses={200: DisputeSerializer(many=True), 400: ERROR, 401: ERROR})
    def get(self, request):
        disputes = disputes_for(request.user).select_related("project").order_by("-created_at", "id")
        if value := query_choice(request, "status", DisputeStatus.values):
            disputes = disputes.filter(status=value)
        if project := request.query_params.get("project"):
            disputes = disputes.filter(project_id=serializers.UUIDField().run_validation(project))
        return Response(DisputeSerializer(disputes[:200], many=True, context={"request": request}).data)


class DisputeDetailView(EscrowAPIView):
    @extend_schema(responses={200: DisputeDetailSerializer, **COMMON_ERRORS})
    def get(self, request, pk):
        return Response(DisputeDetailSerializer(_dispute(request, pk), context={"request": request}).data)


class DisputeMessagesView(EscrowAPIView):
    @extend_schema(responses={200: MessageSerializer(many=True), **COMMON_ERRORS})
    def get(self, request, pk):
        dispute = _dispute(request, pk)
        # RLS leaves the internal notes out; the filter says so for readers of this code.
        messages = dispute.messages.filter(internal=False).select_related("dispute__project")
        return Response(MessageSerializer(messages, many=True).data)

    @extend_schema(request=MessageInput, responses={201: MessageSerializer, **WRITE_ERRORS})
    def post(self, request, pk):
        dispute = _dispute(request, pk)
        data = valid(MessageInput, request.data)
        with as_owner():
            message = services.dispute_message_post(dispute=dispute, actor=request.user, body=data["body"])
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class DisputeEvidenceView(EscrowAPIView):
    parser_classes = [MultiPartParser]  # the one endpoint taking files

    @extend_schema(responses={200: EvidenceSerializer(many=True), **COMMON_ERRORS})
    def get(self, request, pk):
        dispute = _dispute(request, pk)
        return Response(EvidenceSerializer(dispute.evidence.select_related("dispute__project"), many=True).data)

    @extend_schema(request={"multipart/form-data": EvidenceInput},
                   responses={201: EvidenceSerializer, 415: ERROR, **WRITE_ERRORS})
    def post(self, request, pk):
        dispute = _dispute(request, pk)
        data = valid(EvidenceInput, request.data)
        with as_owner():
            evidence = services.dispute_evidence_add(dispute=dispute, actor=request.user, upload=data["file"],
                                                     description=data["description"])
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(EscrowAPIView):
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a file whatever the Accept header

    @extend_schema(responses={**{(200, kind): bytes for kind, _, _ in EVIDENCE_KINDS}, **COMMON_ERRORS})
    def get(self, request, pk, evidence_id):
        dispute = _dispute(request, pk)
        evidence = get_object_or_404(dispute.evidence.all(), pk=evidence_id)  # found under RLS: the access check
        with as_owner():
            return evidence_response(evidence)


class DisputeOffersView(EscrowAPIView):
    @extend_schema(responses={200: OfferSerializer(many=True), **COMMON_ERRORS})
    def get(self, request, pk):
        dispute = _dispute(request, pk)
        return Response(OfferSerializer(dispute.offers.select_related("dispute__project"), many=True).data)

    @extend_schema(request=OfferInput, responses={201: OfferSerializer, **WRITE_ERRORS},
                   description="Offer a split of what the dispute froze: the amounts must add up to it exactly.")
    def post(self, request, pk):
        dispute = _dispute(request, pk)
        data = valid(OfferInput, request.data)
        with as_owner():
            offer = services.offer_make(dispute=dispute, actor=request.user, **data)
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferActionView(EscrowAPIView):
    """accept, counter (with a new split: 201 with the new offer) or withdraw the open offer."""

    action_name = ""

    def _offer(self, request, pk, offer_id) -> SettlementOffer:
        dispute = _dispute(request, pk)
        return get_object_or_404(dispute.offers.select_related("dispute__project"), pk=offer_id)

    def post(self, request, pk, offer_id):
        offer = self._offer(request, pk, offer_id)
        if self.action_name == "counter":
            data = valid(OfferInput, request.data)
            with as_owner():
                new = services.offer_counter(offer=offer, actor=request.user, **data)
            return Response(OfferSerializer(new).data, status=status.HTTP_201_CREATED)
        service = {"accept": services.offer_accept, "withdraw": services.offer_withdraw}[self.action_name]
        with as_owner():
            service(offer=offer, actor=request.user)
        offer.refresh_from_db()
        return Response(OfferSerializer(offer).data)


class OfferAcceptView(OfferActionView):
    action_name = "accept"

    @extend_schema(request=None, responses={200: OfferSerializer, **WRITE_ERRORS},
                   description="Accept the other party's open offer: the dispute is settled as it says.")
    def post(self, request, pk, offer_id):
        return super().post(request, pk, offer_id)


class OfferCounterView(OfferActionView):
    action_name = "counter"

    @extend_schema(request=OfferInput, responses={201: OfferSerializer, **WRITE_ERRORS},
                   description="Answer the other party's open offer with your own split.")
    def post(self, request, pk, offer_id):
        return super().post(request, pk, offer_id)


class OfferWithdrawView(OfferActionView):
    action_name = "withdraw"

    @extend_schema(request=None, responses={200: OfferSerializer, **WRITE_ERRORS},
                   description="Take back your own open offer.")
    def post(self, request, pk, offer_id):
        return super().post(request, pk, offer_id)
