"""The request cycle every API view shares.

1. Authenticate (outside any transaction: a first Supabase request creates its user), and
   throttle (outside too: a refused login rolls back, its count must not).
2. Claim the Idempotency-Key, if any (committed at once with a lease, visible to concurrent
   retries; escrow.api.idempotency).
3. Run the view in one transaction. For an authenticated user, the transaction's role is
   ``authenticated`` and ``request.jwt.claims`` carry their id — one statement, transaction-local,
   as PostgREST does — so every query in the view is filtered by RLS, whatever the queryset.
   The transaction first locks the key row and, after the view, writes the view's answer to it:
   the answer commits with the work or not at all. Views that call the payment gateway set
   ``atomic_request = False`` and open short transactions themselves (``rls_block``, which
   locks the key row too), so no HTTP call runs inside one; the block that commits their work
   records a provisional answer (``record_answer``).
4. Writes go through services, which leave that role for their own duration (``as_owner``):
   they check authority themselves and write what the policies do not allow clients to.
5. On any error the transaction rolls back; the error has one JSON shape (escrow.api.errors).
   Whatever happens, the key is completed: the answer stored, or released after a server error.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from rest_framework.views import APIView

from escrow.api import idempotency
from escrow.db.rls import acting_as, as_owner

__all__ = ["EscrowAPIMixin", "EscrowAPIView", "as_owner"]

SERVER_ERROR = HttpResponse(status=500)


class EscrowAPIMixin:
    """Put first in a view's bases: ``class V(EscrowAPIMixin, generics.GenericAPIView)``."""

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        self.claimed = claimed = idempotency.Claim()
        try:
            try:
                user = request.user  # authenticate now, outside the transaction
                if user.is_authenticated and user.is_staff:
                    user.get_all_permissions()  # cached on the user: permission tables are closed to RLS roles
                # Outside the transaction too: a refused login rolls back, its throttle count must not.
                self.check_throttles(request)
                self.claimed = claimed = idempotency.claim(request)
                if claimed.replay is not None:
                    response = claimed.replay
                elif not self.atomic_request:
                    self.initial(request, *args, **kwargs)
                    response = self._handle(request, *args, **kwargs)
                else:
                    with transaction.atomic():
                        idempotency.hold(claimed)
                        self.initial(request, *args, **kwargs)
                        with self.client_role():
                            response = self._handle(request, *args, **kwargs)
                        idempotency.record(claimed, response)
            except Exception as exc:  # noqa: BLE001 - DRF's own contract: every error becomes a response
                response = self.handle_exception(exc)  # re-raises what is a bug (a 500)
            self.response = self.finalize_response(request, response, *args, **kwargs)
        except BaseException:
            # An unhandled error (or the process being stopped): the work rolled back, free the key.
            idempotency.complete(claimed, SERVER_ERROR)
            raise
        idempotency.complete(claimed, self.response)
        return self.response


    # False for views that call the payment gateway: they open their own short transactions
    # (``rls_block``) so that no HTTP call happens inside one, or inside a row lock.
    atomic_request = True

    @contextmanager
    def client_role(self) -> Iterator[None]:
        """Inside the request's transaction: the ``authenticated`` role with the caller's claims."""
        if settings.API_RLS and self.request.user.is_authenticated:
            with acting_as("authenticated", self.request.user.pk):
                yield
        else:
            yield

    @contextmanager
    def rls_block(self) -> Iterator[None]:
        """One short transaction under RLS, for views that call the payment gateway in between.
        It holds the request's Idempotency-Key while it runs (see ``record_answer``)."""
        with transaction.atomic():
            idempotency.hold(self.claimed)
            with self.client_role():
                yield

    def record_answer(self, response) -> None:
        """In the ``rls_block`` that commits a non-atomic view's work: the answer a retry gets if
        the process dies before the final one."""
        idempotency.record(self.claimed, response, final=False)

    def _handle(self, request, *args, **kwargs):
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        return (handler or self.http_method_not_allowed)(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        """DRF's ``initial`` without throttling, which ``dispatch`` has done already."""
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        request.version, request.versioning_scheme = self.determine_version(request, *args, **kwargs)
        self.perform_authentication(request)
        self.check_permissions(request)


class EscrowAPIView(EscrowAPIMixin, APIView):
    pass
