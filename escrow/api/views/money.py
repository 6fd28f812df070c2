"""Money: the ledger, balances, withdrawals and their payout documents, the commission quote, and
FinCra's webhooks."""

import uuid

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from escrow import services
from escrow.api import serializers as s
from escrow.api.base import EscrowAPIMixin, EscrowAPIView, as_owner
from escrow.api.errors import error_response
from escrow.api.fields import list_data
from escrow.api.pagination import KeysetPagination
from escrow.api.views.common import ERROR, money_text, query_choice, valid
from escrow.commission import commission_quote
from escrow.errors import InvalidInput
from escrow.models import Transaction, TransactionStatus, TransactionType
from escrow.payments import compliance, contract, gateway
from escrow.payments.fincra import FincraError, NotConfigured, Rejected, Unauthorized
from escrow.selectors import available_balances, transactions_for, transactions_page


class TransactionViewSet(EscrowAPIMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.TransactionSerializer
    pagination_class = KeysetPagination  # the ledger grows without bound: no COUNT, no OFFSET

    def get_queryset(self):
        return transactions_for(self.request.user).order_by("-created_at", "id")

    @extend_schema(parameters=[
        OpenApiParameter("project", str),
        OpenApiParameter("transaction_type", enum=TransactionType.values),
        OpenApiParameter("status", enum=TransactionStatus.values),
    ])
    def list(self, request):
        self.paginator.prepare(request)
        filters = {}
        if project := request.query_params.get("project"):
            try:
                filters["project_id"] = uuid.UUID(project)
            except ValueError:
                raise ValidationError({"project": ["Must be a project id (UUID)."]}) from None
        if value := query_choice(request, "transaction_type", TransactionType.values):
            filters["transaction_type"] = value
        if value := query_choice(request, "status", TransactionStatus.values):
            filters["status"] = value
        paginator = self.paginator
        page = paginator.page(transactions_page(request.user, filters=filters, position=paginator.position,
                                                backwards=paginator.backwards, size=paginator.fetch))
        return self.get_paginated_response(list_data(s.TransactionSerializer, page))


class BalanceView(EscrowAPIView):
    @extend_schema(responses={200: s.BalanceSerializer(many=True)})
    def get(self, request):
        return Response([
            {"currency": currency, "available": money_text(amount, currency)}
            for currency, amount in available_balances(request.user.pk).items()
        ])


class WithdrawalView(EscrowAPIView):
    atomic_request = False  # FinCra resolves the account name before anything is written

    @extend_schema(request=s.WithdrawalSerializer, responses={201: s.TransactionSerializer, 400: ERROR, 409: ERROR,
                                                              503: ERROR})
    def post(self, request):
        data = valid(s.WithdrawalSerializer, request.data)
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

    @extend_schema(request=None, responses={200: inline_serializer(
        "WebhookAck", {"detail": serializers.ChoiceField(choices=["queued", "duplicate"])}),
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
        data = valid(s.QuoteQuerySerializer, request.query_params)
        quote = commission_quote(**data)
        return Response({
            "amount": money_text(quote.amount, quote.currency),
            "currency": quote.currency,
            "fee_bearer": quote.fee_bearer,
            "commission": money_text(quote.commission, quote.currency),
            "buyer_pays": money_text(quote.buyer_pays, quote.currency),
            "seller_receives": money_text(quote.seller_receives, quote.currency),
        })
