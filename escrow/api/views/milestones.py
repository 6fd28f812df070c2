"""Milestones: read, change terms, and the work steps (start, submit, approve, reject, dispute)."""


from uuid import UUID, uuid4

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from escrow import services
from escrow.api import serializers as s
from escrow.api.base import EscrowAPIMixin, as_owner
from escrow.api.fields import list_data
from escrow.api.views.common import ERROR, valid
from escrow.db.prepared import Prepared
from escrow.models import Milestone
from escrow.selectors import projects_for

# A milestone of the caller's projects, with its project: every milestone action reads it twice
# (before and after the change), compiled once (escrow.db.prepared).
MILESTONE_FOR_USER = Prepared(lambda user_id, milestone_id: Milestone.objects.filter(
    project__in=projects_for(user_id), pk=milestone_id).select_related("project"), uuid4(), uuid4())


class MilestoneViewSet(EscrowAPIMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.MilestoneSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Milestone.objects.filter(project__in=projects_for(self.request.user)).select_related("project")

    def _milestone(self, milestone_id) -> Milestone:
        try:
            milestone_id = UUID(str(milestone_id))
        except ValueError:
            raise Http404 from None  # not a UUID: no such milestone
        found = MILESTONE_FOR_USER.run(self.request.user.pk, milestone_id)
        if not found:
            raise Http404
        return found[0]

    def get_object(self) -> Milestone:
        milestone = self._milestone(self.kwargs["pk"])
        self.check_object_permissions(self.request, milestone)
        return milestone

    def _detail(self, milestone_id) -> Response:
        milestone = self._milestone(milestone_id)
        return Response(list_data(s.MilestoneSerializer, [milestone], {"request": self.request})[0])

    @extend_schema(request=s.MilestoneTermsSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    def partial_update(self, request, pk=None):
        milestone = self.get_object()
        data = valid(s.MilestoneTermsSerializer, request.data, partial=True)
        with as_owner():
            services.milestone_update(milestone=milestone, actor=request.user, **data)
        return self._detail(milestone.pk)

    @extend_schema(responses={204: None, 404: ERROR, 409: ERROR})
    def destroy(self, request, pk=None):
        milestone = self.get_object()
        with as_owner():
            services.milestone_delete(milestone=milestone, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _act(self, service, **arguments) -> Response:
        milestone = self.get_object()
        with as_owner():
            service(milestone=milestone, actor=self.request.user, **arguments)
        return self._detail(milestone.pk)

    @extend_schema(request=None, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(services.milestone_start)

    @extend_schema(request=s.SubmitSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._act(services.milestone_submit, **valid(s.SubmitSerializer, request.data))

    @extend_schema(request=s.OptionalReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(services.milestone_approve, **valid(s.OptionalReasonSerializer, request.data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._act(services.milestone_reject, **valid(s.ReasonSerializer, request.data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        return self._act(services.milestone_dispute, **valid(s.ReasonSerializer, request.data))
