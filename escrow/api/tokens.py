"""Access and refresh tokens: ours, and Supabase's.

Ours are HS256 JWTs with Supabase-shaped claims (sub, role, aud, iss, iat, exp, email,
session_id), so one client can hold either kind. A refresh token has its own audience and is never
accepted as an access token; its ``jti`` is its row in ``refresh_tokens``, which decides whether it
may still be exchanged (escrow/services/sessions.py). Access tokens are not looked up: they end on
their own after JWT_ACCESS_TTL_SECONDS. Supabase's access tokens are checked against the project's JWKS (ES256, RS256;
cached at most ten minutes, fetched again when an unknown ``kid`` appears) or, for projects on
the legacy secret, HS256 with SUPABASE_JWT_SECRET. ``exp``, ``aud`` and ``iss`` are always
checked; ``alg: none`` and unknown algorithms are refused, and so is a JWKS key of another kind
than the token's algorithm says (an RS256 header naming an EC key).

An access token is a signed-in user's: ``role`` must be ``authenticated``. Supabase's ``anon`` and
``service_role`` keys are JWTs of the same project and would otherwise pass every other check.
Supabase's anonymous sign-ins (``is_anonymous: true``) are refused unless SUPABASE_ALLOW_ANONYMOUS.
"""

from uuid import UUID

import jwt
import requests
from django.conf import settings
from django.core.cache import cache

from escrow.models import RefreshToken
from escrow.services.sessions import session_start

ACCESS_AUDIENCE = "authenticated"  # what Supabase puts in its access tokens
ACCESS_ROLE = "authenticated"  # a signed-in user; Supabase's keys say anon or service_role
REFRESH_AUDIENCE = "amani:refresh"
REQUIRED = ["exp", "iat", "sub", "aud", "iss"]
JWKS_CACHE_KEY = "supabase-jwks"
JWKS_REFETCH_KEY = "supabase-jwks-refetched"
JWKS_REFETCH_MIN_SECONDS = 30  # an unknown kid refetches, but not faster than this


class TokenError(Exception):
    """The token is not one we accept; the message says why (never echoing the token)."""


def issue_tokens(user, session: RefreshToken | None = None) -> dict:
    """An access token and the refresh token ``session`` (a new login's when None)."""
    if session is None:
        session = session_start(user=user)
    now = int(session.created_at.timestamp())
    base = {"sub": str(user.pk), "email": user.email, "iss": settings.JWT_ISSUER, "iat": now,
            "session_id": str(session.family)}
    access = {**base, "aud": ACCESS_AUDIENCE, "role": "authenticated", "exp": now + settings.JWT_ACCESS_TTL_SECONDS}
    refresh = {**base, "aud": REFRESH_AUDIENCE, "jti": str(session.jti), "exp": int(session.expires_at.timestamp())}
    key = settings.JWT_SIGNING_KEY
    return {
        "access": jwt.encode(access, key, algorithm="HS256"),
        "refresh": jwt.encode(refresh, key, algorithm="HS256"),
        "token_type": "bearer",
        "expires_in": settings.JWT_ACCESS_TTL_SECONDS,
    }


def verify_refresh(token: str) -> dict:
    """The refresh token's claims, its signature and dates checked (not yet whether it was used)."""
    claims = _decode(token, settings.JWT_SIGNING_KEY, "HS256", REFRESH_AUDIENCE, settings.JWT_ISSUER)
    try:
        claims["jti"] = UUID(str(claims.get("jti")))
    except ValueError as error:  # issued before refresh tokens could end
        raise TokenError("Refresh token without an id; log in again.") from error
    return claims


def verify_access(token: str) -> tuple[dict, bool]:
    """The token's claims, and whether Supabase issued it."""
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})  # which key to check it with
        header, issuer = unverified["header"], unverified["payload"].get("iss")
    except jwt.PyJWTError as error:
        raise TokenError("Malformed token.") from error
    algorithm = header.get("alg")
    if issuer == settings.JWT_ISSUER:
        claims = _decode(token, settings.JWT_SIGNING_KEY, "HS256", ACCESS_AUDIENCE, issuer, algorithm)
        return _signed_in(claims), False
    if settings.SUPABASE_URL and issuer == supabase_issuer():
        if algorithm == "HS256" and settings.SUPABASE_JWT_SECRET:
            key = settings.SUPABASE_JWT_SECRET
        elif algorithm in ("ES256", "RS256"):
            key = _jwks_key(header.get("kid"), algorithm)
        else:
            raise TokenError(f"Unsupported token algorithm {algorithm!r}.")
        return _signed_in(_decode(token, key, algorithm, ACCESS_AUDIENCE, issuer, algorithm)), True
    raise TokenError("Unknown token issuer.")


def _signed_in(claims: dict) -> dict:
    """Only a signed-in user's token is an API credential (see the module's docstring)."""
    if claims.get("role") != ACCESS_ROLE:
        raise TokenError(f"Token role must be {ACCESS_ROLE!r}.")
    if claims.get("is_anonymous") is True and not settings.SUPABASE_ALLOW_ANONYMOUS:
        raise TokenError("Anonymous Supabase users cannot use the API.")
    return claims


def supabase_issuer() -> str:
    return f"{settings.SUPABASE_URL}/auth/v1"


def _decode(token, key, expected_algorithm, audience, issuer, algorithm=None) -> dict:
    if algorithm is not None and algorithm != expected_algorithm:
        raise TokenError(f"Unsupported token algorithm {algorithm!r}.")
    try:
        claims = jwt.decode(token, key, algorithms=[expected_algorithm], audience=audience, issuer=issuer,
                            options={"require": REQUIRED}, leeway=30)
        UUID(claims["sub"])
    except jwt.ExpiredSignatureError as error:
        raise TokenError("Token expired.") from error
    except jwt.InvalidAudienceError as error:
        raise TokenError("Wrong token audience.") from error
    except jwt.InvalidIssuerError as error:
        raise TokenError("Wrong token issuer.") from error
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        # TypeError: a key the algorithm cannot use. _jwks_key refuses those first; this is the
        # second lock, so that no token can turn into a 500.
        raise TokenError("Invalid token.") from error
    return claims


def _jwks_key(kid: str | None, algorithm: str):
    if not kid:
        raise TokenError("Token has no key id.")
    keys = cache.get(JWKS_CACHE_KEY)
    if keys is None:
        keys = _fetch_jwks()
    elif kid not in keys and not cache.get(JWKS_REFETCH_KEY):
        # Supabase rotated its keys, or the kid is made up: look again, at most every 30 s.
        cache.set(JWKS_REFETCH_KEY, True, JWKS_REFETCH_MIN_SECONDS)
        keys = _fetch_jwks()
    if kid not in keys:
        raise TokenError("Unknown token key id.")
    try:
        jwk = jwt.PyJWK(keys[kid])
    except jwt.PyJWTError as error:
        raise TokenError("Unusable token key.") from error
    # The key decides the algorithm, not the token's header: an RS256 header naming an EC key
    # (or the reverse) is refused here rather than handed to a verifier that cannot use the key.
    if jwk.algorithm_name != algorithm:
        raise TokenError(f"Token algorithm {algorithm!r} does not match its key.")
    return jwk.key


def _fetch_jwks() -> dict:
    url = f"{settings.SUPABASE_URL}/auth/v1/.well-known/jwks.json"
    try:
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        keys = {key["kid"]: key for key in response.json().get("keys", []) if key.get("kid")}
    except (requests.RequestException, ValueError, KeyError, AttributeError) as error:
        raise TokenError("Could not fetch the Supabase signing keys.") from error
    cache.set(JWKS_CACHE_KEY, keys, settings.SUPABASE_JWKS_CACHE_SECONDS)
    return keys
