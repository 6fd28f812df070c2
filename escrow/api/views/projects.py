"""Projects: create, read, change terms, the escrow steps (propose, accept, fund, cancel, dispute),
their milestones, and the invitation of a counterparty named by e-mail."""


from django.conf import settings as django_settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from escrow import services
from escrow.api import serializers as s
from escrow.api.base import EscrowAPIMixin, EscrowAPIView, as_owner
from escrow.api.errors import error_response
from escrow.api.fields import list_data
from escrow.api.views.common import ERROR, money_text, query_choice, valid
from escrow.models import Invitation, Milestone, ProjectStatus, Transaction
from escrow.payments import gateway
from escrow.payments.fincra import FincraError, Rejected, Unauthorized
from escrow.selectors import page_figures, projects_for, projects_rows, with_open_cases

PROJECT_ORDERING = ("created_at", "-created_at", "due_date", "-due_date", "total_amount", "-total_amount", "title",
                    "-title", "status", "-status")




def page_context(request, projects) -> dict:
    """What a page of projects shows besides its rows — the parties' e-mails and the amounts
    held — in one statement for the whole page; the rows bring the open cases their actions
    depend on (``with_open_cases``). (Per row, RLS on ``transactions`` and the public profiles
    would run for every project of the user before the page is cut.)

    Parties' e-mails come from the public profiles: under RLS a client reads only its own
    ``users`` row. With API_RLS off (the benchmark's switch) the owner reads ``users`` directly."""
    ids = {pid for p in projects for pid in (p.creator_id, p.buyer_id, p.seller_id) if pid}
    emails, held = page_figures(ids, [p.pk for p in projects], as_client=django_settings.API_RLS)
    return {"request": request, "emails": emails, "held": held}


class ProjectViewSet(EscrowAPIMixin, viewsets.GenericViewSet):
    serializer_class = s.ProjectSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return projects_for(self.request.user)

    def get_serializer_class(self):
        return s.ProjectSerializer if self.action == "list" else s.ProjectDetailSerializer

    def _detail(self, project_id, code=status.HTTP_200_OK) -> Response:
        project = get_object_or_404(with_open_cases(self.get_queryset()).prefetch_related("milestones"),
                                    pk=project_id)
        return Response(s.ProjectDetailSerializer(project, context=page_context(self.request, [project])).data,
                        status=code)

    @extend_schema(parameters=[
        OpenApiParameter("status", enum=ProjectStatus.values),
        OpenApiParameter("role", enum=["creator", "buyer", "seller"]),
        OpenApiParameter("ordering", enum=PROJECT_ORDERING),
    ])
    def list(self, request):
        filters = {}
        if value := query_choice(request, "status", ProjectStatus.values):
            filters["status"] = value
        if value := query_choice(request, "role", ("creator", "buyer", "seller")):
            filters[f"{value}_id"] = request.user.pk
        page = self.paginate_queryset(projects_rows(
            request.user, filters=filters, ordering=query_choice(request, "ordering", PROJECT_ORDERING) or "-created_at"))
        return self.get_paginated_response(list_data(s.ProjectSerializer, page, page_context(request, page)))

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectDetailSerializer, 400: ERROR})
    def create(self, request):
        # The counterparty is invited by e-mail, registered or not, with the same answer either way:
        # nothing here may tell the caller whether an e-mail has an account (docs/api.md, Invitations).
        data = valid(s.ProjectCreateSerializer, request.data)
        with as_owner():
            project = services.project_create_by_email(creator=request.user, **data)
        return self._detail(project.pk, status.HTTP_201_CREATED)

    def _invitation(self, request, pk, service=None) -> Response:
        project = self.get_object()
        if project.creator_id != request.user.pk:
            raise Http404  # the invitee's e-mail is the creator's to see
        with as_owner():  # the invitations table is closed to client roles (docs/rls.md)
            if service is not None:
                service(project=project, actor=request.user)
            invitation = Invitation.objects.filter(project=project).order_by("-created_at").first()
        if invitation is None:
            raise Http404
        return Response(s.InvitationSerializer(invitation).data)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 404: ERROR})
    @action(detail=True, methods=["get"])
    def invitation(self, request, pk=None):
        return self._invitation(request, pk)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"], url_path="invitation/resend")
    def invitation_resend(self, request, pk=None):
        return self._invitation(request, pk, services.invitation_resend)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"], url_path="invitation/withdraw")
    def invitation_withdraw(self, request, pk=None):
        return self._invitation(request, pk, services.invitation_withdraw)

    @extend_schema(responses={200: s.ProjectDetailSerializer, 404: ERROR})
    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=s.ProjectTermsSerializer, responses={200: s.ProjectDetailSerializer, 400: ERROR, 409: ERROR})
    def partial_update(self, request, pk=None):
        project = self.get_object()
        data = valid(s.ProjectTermsSerializer, request.data, partial=True)
        with as_owner():
            services.project_update(project=project, actor=request.user, **data)
        return self._detail(project.pk)

    @extend_schema(responses={204: None, 404: ERROR, 409: ERROR})
    def destroy(self, request, pk=None):
        project = self.get_object()
        with as_owner():
            services.project_delete(project=project, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _act(self, service, **arguments) -> Response:
        project = self.get_object()
        with as_owner():
            service(project=project, actor=self.request.user, **arguments)
        return self._detail(project.pk)

    @extend_schema(request=None, responses={200: s.ProjectDetailSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        return self._act(services.project_propose)

    @extend_schema(request=None, responses={200: s.ProjectDetailSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(services.project_accept)

    @extend_schema(request=None, responses={200: s.ProjectDetailSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(services.project_party_cancel)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.ProjectDetailSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        return self._act(services.project_dispute, **valid(s.ReasonSerializer, request.data))

    @extend_schema(request=s.FundSerializer, responses={200: s.FundResponseSerializer, 400: ERROR, 409: ERROR,
                                                        502: ERROR, 503: ERROR})
    @action(detail=True, methods=["post"])
    def fund(self, request, pk=None):
        # The pending deposit is committed first; FinCra is asked for a checkout only then,
        # outside any transaction or lock. No answer is recorded with the deposit: a retry after
        # a crash runs ``fund`` again, which reuses that deposit and its checkout.
        full_name = valid(s.FundSerializer, request.data).get("full_name") or request.user.full_name or ""
        with self.rls_block():
            project = self.get_object()
            with as_owner():  # refuses what FinCra's checkout would (a name without a space...) with a 400
                deposit = services.project_fund_start(project=project, actor=request.user, customer_name=full_name)
        try:
            checkout_url = gateway.start_checkout(Transaction.objects.select_related("user").get(pk=deposit.pk),
                                                  customer_name=full_name)
        except (Rejected, Unauthorized) as error:  # a retry would be refused again: say what FinCra said
            return error_response("gateway_refused", f"The payment gateway refused the checkout: {error}", 502)
        except FincraError as error:
            return error_response("gateway_unavailable", f"The payment gateway did not answer ({error}); retry.", 503)
        return Response({
            "transaction_id": str(deposit.pk),
            "reference": str(deposit.pk),
            "amount": money_text(deposit.amount, deposit.currency),
            "currency": deposit.currency,
            "checkout_url": checkout_url,
        })

    @property
    def atomic_request(self) -> bool:
        return self.action != "fund"

    @extend_schema(methods=["GET"], request=None, responses={200: s.MilestoneSerializer(many=True)})
    @extend_schema(methods=["POST"], request=s.MilestoneTermsSerializer, responses={201: s.MilestoneSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def milestones(self, request, pk=None):
        project = self.get_object()
        context = {"request": request, "project": project}
        if request.method == "GET":
            return Response(list_data(s.MilestoneSerializer, project.milestones.all(), context))
        data = valid(s.MilestoneTermsSerializer, request.data)
        with as_owner():
            milestone = services.milestone_create(project=project, actor=request.user, **data)
        project = self.get_queryset().get(pk=project.pk)
        return Response(s.MilestoneSerializer(Milestone.objects.get(pk=milestone.pk),
                                              context={**context, "project": project}).data,
                        status=status.HTTP_201_CREATED)



class InvitationClaimView(EscrowAPIView):
    """The invitation link's token, presented by a signed-in user with the invited e-mail."""

    @extend_schema(request=s.InvitationClaimSerializer, responses={200: s.ProjectDetailSerializer, 404: ERROR})
    def post(self, request):
        token = valid(s.InvitationClaimSerializer, request.data)["token"]
        with as_owner():
            project = services.invitation_claim(token=token, user=request.user)
        if project is None:  # unknown, expired, withdrawn, another e-mail's: all the same answer
            raise Http404
        project = get_object_or_404(with_open_cases(projects_for(request.user)).prefetch_related("milestones"),
                                    pk=project.pk)
        return Response(s.ProjectDetailSerializer(project, context=page_context(request, [project])).data)
