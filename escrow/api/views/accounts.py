"""Accounts: registration, tokens (login, refresh, logout) and the caller's profile."""


from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from escrow import logins, services
from escrow.api import serializers as s
from escrow.api.base import EscrowAPIView
from escrow.api.tokens import TokenError, issue_tokens, verify_refresh
from escrow.api.views.common import ERROR, valid
from escrow.errors import SessionRefused
from escrow.models import User


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
    authentication_classes = []  # a new account, whoever asks: a token sent along is not read
    throttle_classes = [AuthThrottle]

    @extend_schema(request=s.RegisterSerializer, responses={201: s.UserSerializer, 400: ERROR})
    def post(self, request):
        data = valid(s.RegisterSerializer, request.data)
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

    @extend_schema(request=s.LoginSerializer,
                   responses={200: s.TokenResponseSerializer, 401: ERROR, 429: ERROR})
    def post(self, request):
        data = valid(s.LoginSerializer, request.data)
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
        services.user_logged_in(user=user)
        services.invitations_join_for(user)
        return Response(issue_tokens(user))


class RefreshView(CredentialsView):
    """Exchanges a refresh token, once, for a new pair (escrow/services/sessions.py)."""

    # A replayed token revokes its session and is then refused: the revocation must commit.
    atomic_request = False

    @extend_schema(request=s.RefreshSerializer, responses={200: s.TokenResponseSerializer, 401: ERROR})
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

    @extend_schema(request=s.RefreshSerializer, responses={204: None, 401: ERROR})
    def post(self, request):
        claims = _refresh_claims(request)
        try:
            services.session_end(jti=claims["jti"], user_id=claims["sub"])
        except SessionRefused as error:
            raise AuthenticationFailed(error.message) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


def _refresh_claims(request) -> dict:
    data = valid(s.RefreshSerializer, request.data)
    try:
        return verify_refresh(data["refresh"])
    except TokenError as error:
        raise AuthenticationFailed(str(error)) from error



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
