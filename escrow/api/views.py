"""API views: parse the request, find the object the caller may see (RLS does the rest), call a
service, serialize the answer. Nothing here decides an escrow rule."""

import uuid

from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from escrow import logins, services
from escrow.api import serializers as s
from escrow.api.base import EscrowAPIMixin, EscrowAPIView, as_owner
from escrow.api.errors import error_response
from escrow.api.tokens import TokenError, issue_tokens, verify_refresh
from escrow.commission import commission_quote
from escrow.errors import InvalidInput, SessionRefused
from escrow.models import Invitation, Milestone, ProjectStatus, Transaction, TransactionStatus, TransactionType, User
from escrow.money import decimals
from escrow.payments import compliance, contract, gateway
from escrow.payments.fincra import FincraError, NotConfigured, Rejected, Unauthorized
from escrow.selectors import available_balances, projects_for, projects_held, public_emails, transactions_for

ERROR = s.error_shape()
PROJECT_ORDERING = ("created_at", "-created_at", "due_date", "-due_date", "total_amount", "-total_amount", "title",
                    "-title", "status", "-status")


def _money(value, currency: str) -> str:
    return f"{value:.{decimals(currency)}f}"


def _choice(request, name: str, choices) -> str | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise ValidationError({name: [f"Must be one of: {', '.join(choices)}."]})
    return value


# --- accounts -----------------------------------------------------------------------------------

class AuthThrottle(SimpleRateThrottle):
    """Attempts at credentials per client address: AUTH_THROTTLE_RATE, read at each request.

    The address is ``logins.client_ip`` (X-Forwarded-For only behind TRUSTED_PROXY_COUNT proxies).
    SimpleRateThrottle reads the address's history from the cache, decides and writes it back:
    concurrent requests would all read the same history, so that runs one at a time per address.
    """

    scope = "auth"

    def get_rate(self) -> str:
        return django_settings.AUTH_THROTTLE_RATE

    def get_ident(self, request) -> str:
        return logins.client_ip(request) or ""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view) -> bool:
        try:
            with logins.one_at_a_time(f"throttle:{self.get_cache_key(request, view)}"):
                return super().allow_request(request, view)
        except logins.Busy:
            raise Throttled(wait=1, detail=logins.BUSY_MESSAGE) from None


class LockedOut(Throttled):
    default_detail = "Too many failed logins."
    default_code = "locked_out"


class RegisterView(EscrowAPIView):
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(request=s.RegisterSerializer, responses={201: s.UserSerializer, 400: ERROR})
    def post(self, request):
        data = _valid(s.RegisterSerializer, request.data)
        user = services.user_register(**data)
        services.invitations_join_for(user)
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class CredentialsView(EscrowAPIView):
    """Takes credentials in the body, not a bearer token; bad ones are still a 401."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]

    def get_authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class TokenView(CredentialsView):
    # The failed attempt must be committed (it counts towards the lockout) before the 401 is
    # raised: no request-wide transaction, logins.login_attempt opens and commits its own.
    atomic_request = False

    @extend_schema(request=s.TokenRequestSerializer,
                   responses={200: s.TokenResponseSerializer, 401: ERROR, 429: ERROR})
    def post(self, request):
        data = _valid(s.TokenRequestSerializer, request.data)
        # django-axes reads and marks the Django request (its middleware answers after the view).
        django_request = request._request
        try:
            with logins.login_attempt(django_request, data["email"]):
                user = authenticate(django_request, username=data["email"], password=data["password"])
        except logins.Busy:
            raise Throttled(wait=1, detail=logins.BUSY_MESSAGE) from None
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut(detail=logins.LOCKED_OUT_MESSAGE.format(minutes=logins.lockout_minutes()),
                            wait=django_settings.AXES_COOLOFF_TIME.total_seconds())
        if user is None:
            raise AuthenticationFailed("Invalid e-mail or password.")
        services.invitations_join_for(user)
        return Response(issue_tokens(user))


class RefreshView(CredentialsView):
    """Exchanges a refresh token, once, for a new pair (escrow/services/sessions.py)."""

    # A replayed token revokes its session and is then refused: the revocation must commit.
    atomic_request = False

    @extend_schema(request=s.RefreshRequestSerializer, responses={200: s.TokenResponseSerializer, 401: ERROR})
    def post(self, request):
        claims = _refresh_claims(request)
        user = User.objects.filter(pk=claims["sub"], is_active=True).first()
        if user is None:
            raise AuthenticationFailed("No active user for this token.")
        try:
            session = services.session_refresh(jti=claims["jti"], user_id=user.pk)
        except SessionRefused as error:
            raise AuthenticationFailed(error.message) from error
        services.invitations_join_for(user)  # an invitee already signed in joins at the next refresh
        return Response(issue_tokens(user, session))


class LogoutView(CredentialsView):
    """Ends the session of a refresh token: every refresh token of that login is revoked."""

    atomic_request = False

    @extend_schema(request=s.RefreshRequestSerializer, responses={204: None, 401: ERROR})
    def post(self, request):
        claims = _refresh_claims(request)
        try:
            services.session_end(jti=claims["jti"], user_id=claims["sub"])
        except SessionRefused as error:
            raise AuthenticationFailed(error.message) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


def _refresh_claims(request) -> dict:
    data = _valid(s.RefreshRequestSerializer, request.data)
    try:
        return verify_refresh(data["refresh"])
    except TokenError as error:
        raise AuthenticationFailed(str(error)) from error


class InvitationClaimView(EscrowAPIView):
    """The invitation link's token, presented by a signed-in user with the invited e-mail."""

    @extend_schema(request=s.InvitationClaimSerializer, responses={200: s.ProjectDetailSerializer, 404: ERROR})
    def post(self, request):
        token = _valid(s.InvitationClaimSerializer, request.data)["token"]
        with as_owner():
            project = services.invitation_claim(token=token, user=request.user)
        if project is None:  # unknown, expired, withdrawn, another e-mail's: all the same answer
            raise Http404
        project = get_object_or_404(projects_for(request.user).prefetch_related("milestones"), pk=project.pk)
        return Response(s.ProjectDetailSerializer(project, context=page_context(request, [project])).data)


class MeView(EscrowAPIView):
    @extend_schema(responses={200: s.UserSerializer})
    def get(self, request):
        return Response(s.UserSerializer(request.user).data)

    @extend_schema(request=s.UserSerializer, responses={200: s.UserSerializer, 400: ERROR})
    def patch(self, request):
        serializer = s.UserSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        # Runs as the `authenticated` role: RLS and the column grants allow exactly these fields.
        user = services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(s.UserSerializer(user).data)


# --- projects -----------------------------------------------------------------------------------

def page_context(request, projects) -> dict:
    """What a page of projects shows besides its rows — the parties' e-mails and the amounts
    held — each in one query for the whole page. (Per row, RLS on ``transactions`` and the
    public profiles would run for every project of the user before the page is cut.)

    Parties' e-mails come from the public profiles: under RLS a client reads only its own
    ``users`` row. With API_RLS off (the benchmark's switch) the owner reads ``users`` directly."""
    ids = {pid for p in projects for pid in (p.creator_id, p.buyer_id, p.seller_id) if pid}
    return {
        "request": request,
        "emails": (public_emails(ids) if django_settings.API_RLS
                   else dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))),
        "held": projects_held([p.pk for p in projects]),
    }


class ProjectViewSet(EscrowAPIMixin, viewsets.GenericViewSet):
    serializer_class = s.ProjectSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return projects_for(self.request.user)

    def get_serializer_class(self):
        return s.ProjectSerializer if self.action == "list" else s.ProjectDetailSerializer

    def _detail(self, project_id, code=status.HTTP_200_OK) -> Response:
        project = get_object_or_404(self.get_queryset().prefetch_related("milestones"), pk=project_id)
        return Response(s.ProjectDetailSerializer(project, context=page_context(self.request, [project])).data,
                        status=code)

    @extend_schema(parameters=[
        OpenApiParameter("status", enum=ProjectStatus.values),
        OpenApiParameter("role", enum=["creator", "buyer", "seller"]),
        OpenApiParameter("ordering", enum=PROJECT_ORDERING),
    ])
    def list(self, request):
        projects = self.get_queryset()
        if value := _choice(request, "status", ProjectStatus.values):
            projects = projects.filter(status=value)
        if value := _choice(request, "role", ("creator", "buyer", "seller")):
            projects = projects.filter(**{value: request.user})
        projects = projects.order_by(_choice(request, "ordering", PROJECT_ORDERING) or "-created_at", "id")
        page = self.paginate_queryset(projects)
        return self.get_paginated_response(s.ProjectSerializer(page, many=True, context=page_context(request, page)).data)

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectDetailSerializer, 400: ERROR})
    def create(self, request):
        # The counterparty is invited by e-mail, registered or not, with the same answer either way:
        # nothing here may tell the caller whether an e-mail has an account (docs/api.md, Invitations).
        data = _valid(s.ProjectCreateSerializer, request.data)
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
        data = _valid(s.ProjectTermsSerializer, request.data, partial=True)
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
        return self._act(services.project_dispute, **_valid(s.ReasonSerializer, request.data))

    @extend_schema(request=s.FundSerializer, responses={200: s.FundResponseSerializer, 400: ERROR, 409: ERROR,
                                                        502: ERROR, 503: ERROR})
    @action(detail=True, methods=["post"])
    def fund(self, request, pk=None):
        # The pending deposit is committed first; FinCra is asked for a checkout only then,
        # outside any transaction or lock. No answer is recorded with the deposit: a retry after
        # a crash runs ``fund`` again, which reuses that deposit and its checkout.
        full_name = _valid(s.FundSerializer, request.data).get("full_name") or request.user.full_name or ""
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
            "amount": _money(deposit.amount, deposit.currency),
            "currency": deposit.currency,
            "checkout_url": checkout_url,
        })

    @property
    def atomic_request(self) -> bool:
        return self.action != "fund"

    @extend_schema(request=s.MilestoneTermsSerializer, responses={200: s.MilestoneSerializer(many=True),
                                                                    201: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["get", "post"])
    def milestones(self, request, pk=None):
        project = self.get_object()
        context = {"request": request, "project": project}
        if request.method == "GET":
            return Response(s.MilestoneSerializer(project.milestones.all(), many=True, context=context).data)
        data = _valid(s.MilestoneTermsSerializer, request.data)
        with as_owner():
            milestone = services.milestone_create(project=project, actor=request.user, **data)
        project = self.get_queryset().get(pk=project.pk)
        return Response(s.MilestoneSerializer(Milestone.objects.get(pk=milestone.pk),
                                              context={**context, "project": project}).data,
                        status=status.HTTP_201_CREATED)


# --- milestones ---------------------------------------------------------------------------------

class MilestoneViewSet(EscrowAPIMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.MilestoneSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Milestone.objects.filter(project__in=projects_for(self.request.user)).select_related("project")

    def _detail(self, milestone_id) -> Response:
        milestone = self.get_queryset().get(pk=milestone_id)
        return Response(s.MilestoneSerializer(milestone, context={"request": self.request}).data)

    @extend_schema(request=s.MilestoneTermsSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    def partial_update(self, request, pk=None):
        milestone = self.get_object()
        data = _valid(s.MilestoneTermsSerializer, request.data, partial=True)
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
        return self._act(services.milestone_submit, **_valid(s.SubmitSerializer, request.data))

    @extend_schema(request=s.OptionalReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(services.milestone_approve, **_valid(s.OptionalReasonSerializer, request.data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._act(services.milestone_reject, **_valid(s.ReasonSerializer, request.data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.MilestoneSerializer, 409: ERROR})
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        return self._act(services.milestone_dispute, **_valid(s.ReasonSerializer, request.data))


# --- money --------------------------------------------------------------------------------------

class TransactionViewSet(EscrowAPIMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.TransactionSerializer

    def get_queryset(self):
        return transactions_for(self.request.user).order_by("-created_at", "id")

    @extend_schema(parameters=[
        OpenApiParameter("project", str),
        OpenApiParameter("transaction_type", enum=TransactionType.values),
        OpenApiParameter("status", enum=TransactionStatus.values),
    ])
    def list(self, request):
        rows = self.get_queryset()
        if project := request.query_params.get("project"):
            try:
                rows = rows.filter(project_id=uuid.UUID(project))
            except ValueError:
                raise ValidationError({"project": ["Must be a project id (UUID)."]}) from None
        if value := _choice(request, "transaction_type", TransactionType.values):
            rows = rows.filter(transaction_type=value)
        if value := _choice(request, "status", TransactionStatus.values):
            rows = rows.filter(status=value)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.TransactionSerializer(page, many=True).data)


class BalanceView(EscrowAPIView):
    @extend_schema(responses={200: s.BalanceSerializer(many=True)})
    def get(self, request):
        return Response([
            {"currency": currency, "available": _money(amount, currency)}
            for currency, amount in available_balances(request.user.pk).items()
        ])


class WithdrawalView(EscrowAPIView):
    atomic_request = False  # FinCra resolves the account name before anything is written

    @extend_schema(request=s.WithdrawalSerializer, responses={201: s.TransactionSerializer, 400: ERROR, 409: ERROR,
                                                              503: ERROR})
    def post(self, request):
        data = _valid(s.WithdrawalSerializer, request.data)
        bank_account = services.payout_destination(currency=data["currency"], bank_account=data["bank_account"])
        account_name = None  # where FinCra cannot resolve names (USD), the holder's name as given
        if contract.resolves_account_names(data["currency"]):
            try:  # FinCra's docs: resolve the account name before paying
                account_name = gateway.client().resolve_account(
                    account_number=bank_account["account_number"], bank_code=bank_account["bank_code"],
                    currency=data["currency"])
            except Rejected as error:
                raise InvalidInput(f"FinCra could not find this bank account: {error.message}",
                                   field="bank_account.account_number") from error
            except (NotConfigured, Unauthorized) as error:  # an operator must fix the keys: retrying cannot help
                return error_response("gateway_refused", f"Payouts are not available: {error}", 502)
            except FincraError as error:
                return error_response("gateway_unavailable", f"The payment gateway did not answer ({error}); retry.",
                                      503)
        with self.rls_block(), as_owner():
            withdrawal = services.withdrawal_request(user=request.user, amount=data["amount"],
                                                     currency=data["currency"], bank_account=bank_account,
                                                     account_name=account_name)
            # Committed with the withdrawal and its payout job: if the process dies before
            # answering, a retry with the same key gets this answer and never pays twice.
            answer = Response(s.TransactionSerializer(withdrawal).data, status=status.HTTP_201_CREATED)
            self.record_answer(answer)
        return answer


class PayoutDocumentView(EscrowAPIView):
    """The supporting document of a USD payout, for FinCra (escrow.payments.compliance): readable
    only with the signature in its URL, by anyone who has that URL; otherwise a 404, whoever asks.
    Reads only."""

    permission_classes = [AllowAny]
    authentication_classes = []  # the signature is the credential; a session or token changes nothing

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a PDF whatever the Accept header

    @extend_schema(parameters=[OpenApiParameter("s", str, required=True, description="The URL's signature.")],
                   responses={(200, "application/pdf"): bytes, 404: ERROR})
    def get(self, request, pk):
        if not compliance.signature_valid(pk, request.query_params.get("s", "")):
            raise Http404
        with as_owner():  # no user: the signature, checked above, is the authority
            withdrawal = get_object_or_404(Transaction, pk=pk, transaction_type=TransactionType.WITHDRAWAL)
            document = compliance.document_pdf(withdrawal)
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="amani-payout-{pk}.pdf"'
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        response["Referrer-Policy"] = "no-referrer"
        return response


class FincraWebhookView(EscrowAPIView):
    """FinCra's callbacks: no user, a signature instead (checked before anything is stored).

    The answer comes within milliseconds: the event is stored and its processing queued in one
    transaction; the job consults FinCra (FinCra waits only 10 s for the 2xx)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    atomic_request = False

    @extend_schema(request=None, responses={200: inline_serializer("WebhookAck", {"detail": serializers.CharField()}),
                                            400: ERROR, 401: ERROR})
    def post(self, request):
        result = gateway.receive_webhook(request.body, request.META.get("HTTP_SIGNATURE", ""))
        if result.status == 401:
            return error_response("invalid_signature", "Missing or invalid webhook signature.", 401)
        if result.status >= 400:
            return error_response("webhook_not_processed", result.detail, result.status)
        return Response({"detail": result.detail})


class QuoteView(EscrowAPIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[s.QuoteQuerySerializer], responses={200: s.QuoteSerializer, 400: ERROR})
    def get(self, request):
        data = _valid(s.QuoteQuerySerializer, request.query_params)
        quote = commission_quote(**data)
        return Response({
            "amount": _money(quote.amount, quote.currency),
            "currency": quote.currency,
            "fee_bearer": quote.fee_bearer,
            "commission": _money(quote.commission, quote.currency),
            "buyer_pays": _money(quote.buyer_pays, quote.currency),
            "seller_receives": _money(quote.seller_receives, quote.currency),
        })


class HealthView(EscrowAPIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: inline_serializer("Health", {"status": serializers.CharField(),
                                                                "database": serializers.CharField()})})
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response({"status": "unavailable", "database": "unreachable"}, status=503)
        return Response({"status": "ok", "database": "ok"})


def _valid(serializer_class, data, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


