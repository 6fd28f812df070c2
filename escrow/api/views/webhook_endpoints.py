"""``/api/v1/webhook-endpoints/``: a user's outbound webhook endpoints, their delivery log, replays.

Reads run under RLS (``webhook_*_select_owner``; the ``secret`` column is granted to no client
role, so these querysets leave it out). Writes go through ``escrow.notify.webhooks`` as the table
owner: an endpoint's URL is checked by resolving its host, which no database rule can do.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from escrow.api.base import EscrowAPIMixin, as_owner
from escrow.api.views.common import ERROR
from escrow.models import DeliveryTrigger, WebhookDelivery, WebhookEndpoint, WebhookMessage
from escrow.notify import events, webhooks

EVENT_TYPE = serializers.ChoiceField(choices=events.EVENT_TYPES)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "is_active", "failing_since", "disabled_reason",
                  "created_at", "updated_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="Standard Webhooks signing secret (whsec_...). Shown this once only.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2048, help_text="https URL on a public address.")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    event_types = serializers.ListField(child=EVENT_TYPE, required=False, max_length=len(events.EVENT_TYPES),
                                        help_text="Types to receive; empty or absent: every type.")


class WebhookEndpointUpdateSerializer(WebhookEndpointInputSerializer):
    is_active = serializers.BooleanField(required=False, help_text="true enables a disabled endpoint again.")


class DeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField()
    webhook_id = serializers.CharField(source="message.webhook_id", help_text="The `webhook-id` header sent.")
    event_type = serializers.CharField(source="message.event_type")
    event_id = serializers.UUIDField(source="message.event_id", allow_null=True)
    message_status = serializers.CharField(source="message.status")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "message_id", "webhook_id", "event_type", "event_id", "message_status", "trigger",
                  "attempted_at", "succeeded", "response_status", "response_excerpt", "error", "duration_ms"]
        read_only_fields = fields


class ReplaySerializer(serializers.Serializer):
    message_id = serializers.UUIDField()
    webhook_id = serializers.CharField()
    status = serializers.CharField()


class DeliveryPagination(CursorPagination):
    ordering = ("-attempted_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


READABLE = [*WebhookEndpointSerializer.Meta.fields, "owner_id"]


class WebhookEndpointViewSet(EscrowAPIMixin, viewsets.GenericViewSet):
    serializer_class = WebhookEndpointSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def pagination_class(self):
        return DeliveryPagination if self.action == "deliveries" else api_settings.DEFAULT_PAGINATION_CLASS

    def get_queryset(self):
        # Never the secret: the client role has no grant on it.
        return WebhookEndpoint.objects.filter(owner=self.request.user).only(*READABLE)

    @extend_schema(responses={200: WebhookEndpointSerializer(many=True)})
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "id"))
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(request=WebhookEndpointInputSerializer,
                   responses={201: WebhookEndpointCreatedSerializer, 400: ERROR})
    def create(self, request):
        data = _valid(WebhookEndpointInputSerializer, request.data)
        with as_owner():
            endpoint = webhooks.webhook_endpoint_create(owner=request.user, **data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: WebhookEndpointSerializer, 404: ERROR})
    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSerializer(self.get_object()).data)

    @extend_schema(request=WebhookEndpointUpdateSerializer, responses={200: WebhookEndpointSerializer, 400: ERROR})
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = _valid(WebhookEndpointUpdateSerializer, request.data, partial=True)
        with as_owner():
            webhooks.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(self.get_queryset().get(pk=endpoint.pk)).data)

    @extend_schema(responses={204: None, 404: ERROR})
    def destroy(self, request, pk=None):
        endpoint = self.get_object()
        with as_owner():
            webhooks.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: DeliverySerializer(many=True), 404: ERROR})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        rows = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("message").defer("message__payload")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: ReplaySerializer, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None, message_id=None):
        endpoint = self.get_object()
        message = get_object_or_404(WebhookMessage.objects.filter(endpoint=endpoint).defer("payload"),
                                    pk=message_id)
        with as_owner():
            webhooks.webhook_replay(message=message, trigger=DeliveryTrigger.OWNER_REPLAY)
        return Response({"message_id": str(message.pk), "webhook_id": message.webhook_id, "status": "queued"},
                        status=status.HTTP_202_ACCEPTED)


def _valid(serializer_class, data, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
