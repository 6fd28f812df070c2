"""``Authorization: Bearer <token>``: our tokens or a Supabase session's access token."""

from uuid import UUID, uuid4

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower, Now
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from escrow.api.tokens import TokenError, verify_access
from escrow.db.prepared import Prepared
from escrow.models import Invitation, User


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            claims, from_supabase = verify_access(parts[1].decode("latin-1"))
        except TokenError as error:
            raise AuthenticationFailed(str(error)) from error
        user = _user_for(claims, create=from_supabase)
        if user is None or not user.is_active:
            raise AuthenticationFailed("No active user for this token.")
        # An open invitation to the caller's e-mail is joined at their next request (the probe is
        # part of the query that loads the user): Supabase users never sign in at our token
        # endpoint, and a user already signed in becomes the party without signing in again.
        # Outside the request's transaction (escrow/api/base.py authenticates first), each join in
        # its own.
        if getattr(user, "has_open_invitation", True):
            from escrow.services.invitations import invitations_join_for

            invitations_join_for(user)
        return user, claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


# The caller's row and whether an invitation waits for their e-mail, in one query per request
# (escrow/services/invitations.py joins it, with the same conditions). The password hash is not
# needed to serve a request; the few views that check a password load it when they read it.
OPEN_INVITATION = Invitation.objects.filter(email=Lower(OuterRef("email")), accepted_at__isnull=True,
                                            withdrawn_at__isnull=True, expires_at__gt=Now())


# The caller's row (every column but the password hash) and whether an invitation is open for
# them, compiled once: this runs on every request.
USER_FIELDS = [field.attname for field in User._meta.concrete_fields if field.attname != "password"]
USER_FOR_TOKEN = Prepared(
    lambda user_id: User.objects.filter(pk=user_id).annotate(has_open_invitation=Exists(OPEN_INVITATION))
    .values_list(*USER_FIELDS, "has_open_invitation"),
    uuid4())


def _user_for(claims: dict, *, create: bool) -> User | None:
    user_id = UUID(claims["sub"])
    user = next(iter(USER_FOR_TOKEN.run(user_id)), None)
    if user is not None or not create:
        return user
    # First request of a Supabase user whose row Supabase Auth's trigger (migration 0012) did not
    # make: a database without auth.users, or an e-mail another account has (not linked, see
    # docs/rls.md). Their users row, with Supabase's id and the trigger's rules. Never privileged.
    email = str(claims.get("email") or "").strip().lower()
    if "@" not in email:
        raise AuthenticationFailed("A Supabase token without an e-mail cannot create a user.")
    try:
        with transaction.atomic():
            metadata = claims.get("user_metadata")
            full_name = str(metadata.get("full_name") or metadata.get("name") or "") if isinstance(metadata, dict) else ""
            user = User(id=user_id, email=email, full_name=full_name[:255])
            user.set_unusable_password()
            user.save(force_insert=True)
    except IntegrityError:  # a concurrent first request created it, or the e-mail is taken
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise AuthenticationFailed("This e-mail already belongs to another account.") from None
    return user


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema (and Swagger UI's Authorize button) about bearer tokens."""

    target_class = "escrow.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
