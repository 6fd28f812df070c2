"""``GET /api/v1/projects/{id}/events/``: the project's audit trail as its parties may see it.

Runs under RLS like every view (``escrow_events_select_involved``); a project the caller is not
a party of is a 404. What an entry shows and hides is decided in ``escrow.notify.events``, which
the webhooks' payloads use too.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import CursorPagination

from escrow.api.base import EscrowAPIMixin
from escrow.api.views.common import ERROR
from escrow.models import EscrowEvent, User
from escrow.notify import events
from escrow.selectors import projects_for, public_names


class TimelinePagination(CursorPagination):
    """Oldest first; ``?cursor=`` from ``next``/``previous``; ``?page_size=`` up to 100."""

    ordering = ("created_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


class ActorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "operator", "system"])
    role = serializers.ChoiceField(choices=["buyer", "seller", "creator", "operator", "system"],
                                   help_text="The actor's part in this project.")
    name = serializers.CharField(allow_null=True, help_text="A party's full name; null for operators and the system.")


class TimelineEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField(help_text="<subject>.<action>: the same word as the webhooks' `type`.")
    subject = serializers.ChoiceField(choices=["project", "milestone"])
    action = serializers.CharField()
    milestone_id = serializers.UUIDField(allow_null=True)
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = ActorSerializer()
    details = serializers.DictField(
        help_text="Reasons, the operator's resolution note, amounts (strings): see docs/api.md for the keys.")
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return events.public_event(instance, self.context["project"], self.context["names"])


class ProjectTimelineView(EscrowAPIMixin, generics.ListAPIView):
    serializer_class = TimelineEntrySerializer
    pagination_class = TimelinePagination

    def get_queryset(self):
        # The project first: a stranger gets the same 404 as for the project itself.
        self.project = get_object_or_404(projects_for(self.request.user), pk=self.kwargs["pk"])
        return EscrowEvent.objects.filter(project=self.project).exclude(action__in=events.HIDDEN_ACTIONS)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        project = getattr(self, "project", None)
        if project is not None:
            parties = {project.creator_id, project.buyer_id, project.seller_id} - {None}
            context["project"] = project
            context["names"] = (public_names(parties) if settings.API_RLS
                                else dict(User.objects.filter(pk__in=parties).values_list("pk", "full_name")))
        return context

    @extend_schema(responses={200: TimelineEntrySerializer(many=True), 404: ERROR})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
