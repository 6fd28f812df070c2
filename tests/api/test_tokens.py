"""Tokens: ours, and Supabase's (ES256 through a JWKS served on 127.0.0.1, and legacy HS256).
Every malformed, expired, misaddressed or forged token is refused with a 401."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from rest_framework.test import APIClient

from escrow.api.tokens import issue_tokens
from escrow.models import User
from tests.factories import UserFactory

SUPABASE_SECRET = "legacy-supabase-jwt-secret-for-tests-only-0123456789"


class JWKSServer:
    """A Supabase project's /auth/v1/.well-known/jwks.json, on 127.0.0.1, counting its requests."""

    def __init__(self):
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests += 1
                if self.path != "/auth/v1/.well-known/jwks.json":
                    self.send_error(404)
                    return
                body = json.dumps({"keys": [server.public_jwk(kid) for kid in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())

    def public_jwk(self, kid: str) -> dict:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**jwk, "kid": kid, "alg": "ES256", "use": "sig"}

    def token(self, kid: str, **claims) -> str:
        return jwt.encode(supabase_claims(self.url, **claims), self.keys[kid], algorithm="ES256", headers={"kid": kid})


def supabase_claims(base_url: str, **overrides) -> dict:
    now = int(time.time())
    sub = overrides.pop("sub", str(uuid.uuid4()))
    return {"sub": sub, "aud": "authenticated", "role": "authenticated", "iss": f"{base_url}/auth/v1",
            "iat": now, "exp": now + 3600, "email": f"{sub[:8]}@example.com", **overrides}


@pytest.fixture
def supabase(settings, db):
    server = JWKSServer()
    server.add_key("key-1")
    settings.SUPABASE_URL = server.url
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET
    cache.clear()
    yield server
    server.httpd.shutdown()


def me(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/users/me/")


def test_our_access_token_works(db):
    user = UserFactory()
    response = me(issue_tokens(user)["access"])
    assert response.status_code == 200 and response.json()["id"] == str(user.pk)


def test_our_token_has_supabase_shaped_claims(db, settings):
    user = UserFactory()
    claims = jwt.decode(issue_tokens(user)["access"], settings.JWT_SIGNING_KEY, algorithms=["HS256"],
                        audience="authenticated")
    assert {k: claims[k] for k in ("sub", "role", "aud", "iss", "email")} == {
        "sub": str(user.pk), "role": "authenticated", "aud": "authenticated", "iss": "amani", "email": user.email}
    assert claims["exp"] - claims["iat"] == settings.JWT_ACCESS_TTL_SECONDS


def _own(settings, user, **overrides) -> str:
    now = int(time.time())
    claims = {"sub": str(user.pk), "aud": "authenticated", "iss": settings.JWT_ISSUER, "iat": now, "exp": now + 60,
              "role": "authenticated", **overrides}
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256")


@pytest.mark.parametrize(("case", "message"), [
    ("expired", "Token expired."),
    ("wrong_audience", "Wrong token audience."),
    ("wrong_issuer", "Unknown token issuer."),
    ("wrong_signature", "Invalid token."),
    ("alg_none", "Unsupported token algorithm"),
    ("refresh_as_access", "Wrong token audience."),
    ("garbage", "Malformed token."),
    ("unknown_user", "No active user"),
])
def test_bad_tokens_are_refused(db, settings, case, message):
    user = UserFactory()
    token = {
        "expired": lambda: _own(settings, user, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "wrong_audience": lambda: _own(settings, user, aud="anon"),
        "wrong_issuer": lambda: _own(settings, user, iss="https://evil.example.com/auth/v1"),
        "wrong_signature": lambda: jwt.encode(jwt.decode(_own(settings, user), options={"verify_signature": False}),
                                              "another-key-entirely-0123456789abcdef", algorithm="HS256"),
        "alg_none": lambda: jwt.encode(jwt.decode(_own(settings, user), options={"verify_signature": False}),
                                       None, algorithm="none"),
        "refresh_as_access": lambda: issue_tokens(user)["refresh"],
        "garbage": lambda: "not.a.jwt",
        "unknown_user": lambda: _own(settings, user, sub=str(uuid.uuid4())),
    }[case]()
    response = me(token)
    assert response.status_code == 401
    assert message in response.json()["error"]["message"]


def test_refresh_gives_new_tokens_and_refuses_an_access_token(db):
    user = UserFactory()
    tokens = issue_tokens(user)
    client = APIClient()
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and me(refreshed.json()["access"]).status_code == 200
    refused = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["access"]}, format="json")
    assert refused.status_code == 401


def test_a_supabase_es256_token_through_the_jwks(supabase):
    sub = str(uuid.uuid4())
    response = me(supabase.token("key-1", sub=sub, email="New.User@Example.com",
                                 user_metadata={"full_name": "New User"}))
    assert response.status_code == 200, response.content
    created = User.objects.get(pk=sub)  # first sight: the users row has Supabase's id
    assert (created.email, created.full_name, created.has_usable_password()) == ("new.user@example.com", "New User", False)
    assert not (created.is_staff or created.is_superuser or created.is_verified)
    # Second request: same user, JWKS served from the cache.
    assert me(supabase.token("key-1", sub=sub, email="new.user@example.com")).json()["id"] == sub
    assert User.objects.filter(email="new.user@example.com").count() == 1
    assert supabase.requests == 1


def test_a_new_supabase_key_is_fetched_and_an_unknown_one_refused(supabase):
    assert me(supabase.token("key-1")).status_code == 200
    supabase.add_key("key-2")  # Supabase rotated its keys
    assert me(supabase.token("key-2")).status_code == 200
    assert supabase.requests == 2
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(supabase_claims(supabase.url), stranger_key, algorithm="ES256", headers={"kid": "key-9"})
    response = me(forged)
    assert response.status_code == 401 and "Unknown token key id" in response.json()["error"]["message"]


def test_a_supabase_token_signed_by_another_key_is_refused(supabase):
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(supabase_claims(supabase.url), other, algorithm="ES256", headers={"kid": "key-1"})
    before = User.objects.count()
    assert me(forged).status_code == 401
    assert User.objects.count() == before


@pytest.mark.parametrize("override", [{"aud": "anon"}, {"exp": int(time.time()) - 120}])
def test_supabase_audience_and_expiry_are_checked(supabase, override):
    before = User.objects.count()
    assert me(supabase.token("key-1", **override)).status_code == 401
    assert User.objects.count() == before


def test_a_legacy_hs256_supabase_token(supabase):
    sub = str(uuid.uuid4())
    token = jwt.encode(supabase_claims(supabase.url, sub=sub, email="legacy@example.com"), SUPABASE_SECRET,
                       algorithm="HS256")
    assert me(token).status_code == 200
    assert User.objects.filter(pk=sub, email="legacy@example.com").exists()
    forged = jwt.encode(supabase_claims(supabase.url), "not-the-secret-0123456789abcdefghij", algorithm="HS256")
    assert me(forged).status_code == 401


def test_a_new_supabase_user_gets_its_name_as_supabase_auth_s_trigger_does(supabase):
    """OAuth providers put the name in user_metadata.name; migration 0012's trigger reads both."""
    sub = str(uuid.uuid4())
    token = supabase.token("key-1", sub=sub, user_metadata={"name": "Ada Obi"})
    assert me(token).status_code == 200
    assert User.objects.get(pk=sub).full_name == "Ada Obi"


def test_login_and_registration_are_throttled(db, settings):
    settings.AUTH_THROTTLE_RATE = "3/min"
    cache.clear()
    client = APIClient()
    codes = [client.post("/api/v1/auth/token/", {"email": "x@example.com", "password": "wrong"}, format="json").status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    blocked = client.post("/api/v1/auth/register/", {"email": "y@example.com", "password": "a long passphrase here",
                                                     "full_name": "Y"}, format="json")
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert not User.objects.filter(email="y@example.com").exists()


def test_registration_cannot_grant_privileges(db):
    response = APIClient().post("/api/v1/auth/register/", {
        "email": "sneaky@example.com", "password": "a long and unusual passphrase", "full_name": "S",
        "is_staff": True, "is_superuser": True, "is_verified": True,
    }, format="json")
    assert response.status_code == 201
    user = User.objects.get(email="sneaky@example.com")
    assert not (user.is_staff or user.is_superuser or user.is_verified)


def test_profile_edits_cannot_grant_privileges(db):
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    response = client.patch("/api/v1/users/me/", {"full_name": "New", "is_staff": True, "is_verified": True,
                                                  "email": "other@example.com"}, format="json")
    assert response.status_code == 200 and response.json()["full_name"] == "New"
    user.refresh_from_db()
    assert (user.full_name, user.is_staff, user.is_verified, user.email.startswith("user")) == ("New", False, False, True)


# --- the role claim: only signed-in users (issue 10) ----------------------------------------------

@pytest.mark.parametrize("role", ["anon", "service_role", "supabase_admin", None])
def test_a_token_whose_role_is_not_authenticated_is_refused(supabase, settings, role):
    """Supabase's anon and service_role keys (and anything not a signed-in user) are not API users,
    whichever way the token is signed: our key, Supabase's JWKS, Supabase's legacy secret."""
    user = UserFactory()
    claims = {} if role is None else {"role": role}
    signed = [
        _own(settings, user, **claims),
        supabase.token("key-1", sub=str(user.pk), email=user.email, **claims),
        jwt.encode(supabase_claims(supabase.url, sub=str(user.pk), email=user.email, **claims), SUPABASE_SECRET,
                   algorithm="HS256"),
    ]
    if role is None:  # no role claim at all
        signed = [jwt.encode({k: v for k, v in jwt.decode(token, options={"verify_signature": False}).items()
                              if k != "role"}, key, algorithm="HS256")
                  for token, key in ((signed[0], settings.JWT_SIGNING_KEY), (signed[2], SUPABASE_SECRET))]
    before = User.objects.count()
    for token in signed:
        response = me(token)
        assert response.status_code == 401, response.content
        assert response.json()["error"]["code"] == "authentication_failed"
        assert "role" in response.json()["error"]["message"]
    assert User.objects.count() == before


def test_an_anonymous_supabase_user_is_refused_unless_allowed(supabase, settings):
    """Supabase's anonymous sign-ins carry role=authenticated and is_anonymous=true."""
    existing = UserFactory()
    for token in (supabase.token("key-1", sub=str(existing.pk), email="", is_anonymous=True),
                  supabase.token("key-1", sub=str(uuid.uuid4()), email="anon@example.com", is_anonymous=True)):
        response = me(token)
        assert response.status_code == 401, response.content
        assert "anonymous" in response.json()["error"]["message"].lower()
    assert not User.objects.filter(email="anon@example.com").exists()
    # A signed-in (not anonymous) Supabase user is unaffected.
    assert me(supabase.token("key-1", is_anonymous=False)).status_code == 200

    settings.SUPABASE_ALLOW_ANONYMOUS = True
    assert me(supabase.token("key-1", sub=str(existing.pk), email="", is_anonymous=True)).status_code == 200


# --- forged tokens never reach a 500 (issue 10) ---------------------------------------------------

def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("signature", ["unsigned", "garbage", "stranger_rsa_key"])
def test_an_rs256_token_naming_the_ec_key_is_a_401(supabase, signature):
    """The kid names Supabase's EC key, the header says RS256: a key of the wrong kind, not a crash."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = supabase_claims(supabase.url)
    if signature == "stranger_rsa_key":
        token = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                           headers={"kid": "key-1"})
    else:
        head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "key-1"}).encode())
        body = _b64(json.dumps(claims).encode())
        token = f"{head}.{body}." + ("" if signature == "unsigned" else _b64(b"\x00" * 256))
    before = User.objects.count()
    response = me(token)
    assert response.status_code == 401, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert User.objects.count() == before


def test_a_malformed_key_in_the_jwks_is_a_401(supabase):
    broken = {"kid": "key-1", "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "alg": "ES256"}
    cache.set("supabase-jwks", {"key-1": broken}, 60)
    response = me(supabase.token("key-1"))
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize("token", ["valid", "garbage"])
def test_registering_while_sending_a_token_creates_the_account_and_ignores_the_token(db, token):
    signed_in = UserFactory()
    bearer = issue_tokens(signed_in)["access"] if token == "valid" else "not.a.token"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer}")
    answer = client.post("/api/v1/auth/register/", {"email": "second@example.com", "password": "a long passphrase 42",
                                                    "full_name": "Sam Second"}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["email"] == "second@example.com"
    assert User.objects.filter(email="second@example.com").count() == 1
    assert User.objects.get(pk=signed_in.pk).email != "second@example.com"
