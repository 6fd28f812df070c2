"""The outbound webhooks in the OpenAPI schema (its ``webhooks`` section, OpenAPI 3.1).

One webhook per event type would repeat one shape 23 times: there is one, ``escrow-event``, whose
``type`` says which (docs/webhooks.md lists them). Its headers follow Standard Webhooks.
"""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from escrow.api.views.timeline import TimelineEntrySerializer
from escrow.notify import events


class WebhookProjectSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="The project's status after the change.")
    currency = serializers.CharField()
    total_amount = serializers.CharField()


class WebhookMilestoneSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    order_index = serializers.IntegerField()
    status = serializers.CharField()
    amount = serializers.CharField()


class WebhookDataSerializer(serializers.Serializer):
    schema_version = serializers.ChoiceField(choices=[events.SCHEMA_VERSION],
                                             help_text="Changes only when a field is removed or changes meaning.")
    event = TimelineEntrySerializer(help_text="The same entry GET /projects/{id}/events/ shows.")
    project = WebhookProjectSerializer()
    milestone = WebhookMilestoneSerializer(allow_null=True)


class WebhookPayloadSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=events.EVENT_TYPES)
    timestamp = serializers.DateTimeField(help_text="When the change happened.")
    data = WebhookDataSerializer()


escrow_event = OpenApiWebhook(
    name="escrow-event",
    decorator=extend_schema(
        summary="A state change of a project you are a party of",
        description=(
            "Sent to each active endpoint of each party that wants the event's type, signed per Standard "
            "Webhooks: header `webhook-id` (msg_..., the same on every retry and replay: drop duplicates), "
            "`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature` (`v1,` + base64 "
            "HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the endpoint's secret). "
            "Answer 2xx within 10 seconds; anything else is retried with exponential backoff for at least "
            "24 hours (docs/webhooks.md)."),
        operation_id="escrow_event",
        request=WebhookPayloadSerializer,
        responses={200: OpenApiResponse(description="Received (any 2xx)."),
                   "4XX": OpenApiResponse(description="Refused: retried with backoff, as any non-2xx answer.")},
    ),
)


def webhook_signature(result, generator, request, public):
    """POSTPROCESSING_HOOKS: our outbound webhooks' credential is their Standard Webhooks signature."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})["webhookSignature"] = {
        "type": "apiKey", "in": "header", "name": "webhook-signature",
        "description": "Standard Webhooks: verify it with the endpoint's secret before trusting the body.",
    }
    for item in result.get("webhooks", {}).values():
        for operation in item.values():
            operation["security"] = [{"webhookSignature": []}]
    return result


def openapi_31_nullable(result, generator, request, public):
    """POSTPROCESSING_HOOKS: DRF's pagination schemas say ``nullable: true`` (OpenAPI 3.0), which
    3.1 dropped; say it as 3.1 does (``type: [string, "null"]``) so validators accept null."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                del node["nullable"]
                node["type"] = [node["type"], "null"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
