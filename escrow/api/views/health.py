"""The API's own health check (the probes are /livez and /readyz, amani.views)."""


from django.db import DatabaseError, connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from escrow.api.base import EscrowAPIView

HEALTH = inline_serializer("Health", {"status": serializers.ChoiceField(choices=["ok", "unavailable"]),
                                     "database": serializers.ChoiceField(choices=["ok", "unreachable"])})


class HealthView(EscrowAPIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: HEALTH, 503: OpenApiResponse(HEALTH, description="The database does not answer.")})
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response({"status": "unavailable", "database": "unreachable"}, status=503)
        return Response({"status": "ok", "database": "ok"})
