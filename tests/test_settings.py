"""Production-safe defaults: without DEBUG, no start without a secret key and allowed hosts."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

SETTINGS_ENV = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "BEHIND_TLS_PROXY", "SECURE_HSTS_SECONDS",
                "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "TRUSTED_PROXY_COUNT", "PUBLIC_BASE_URL",
                "PAYOUT_DOCUMENT_MAX_AGE_DAYS")


def clean_environment() -> dict[str, str]:
    """The environment without the settings under test, nor a developer's .env (ENV_FILE="")."""
    return {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV and not k.startswith("FINCRA_")} | {
        "ENV_FILE": ""}


def manage_check(fail_level: str = "ERROR", **env) -> subprocess.CompletedProcess:
    clean = clean_environment()
    clean["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"  # never reached: settings fail first
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", fail_level],
        cwd=settings.BASE_DIR, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS must be set"),
        # FinCra refuses an empty or invalid redirectUrl: a live setup without one cannot take payments.
        ({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "amani.example.com", "FINCRA_SECRET_KEY": "sk_live"},
         "FINCRA_REDIRECT_URL must be set"),
        # FinCra fetches USD payouts' supporting documents from it: never over plain HTTP.
        ({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "amani.example.com", "PUBLIC_BASE_URL": "http://amani.example.com"},
         "PUBLIC_BASE_URL must be an https:// URL"),
        ({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "amani.example.com", "FINCRA_SENDER_TYPE": "company"},
         "FINCRA_SENDER_TYPE must be corporate or individual"),
    ],
)
def test_refuses_to_start_unconfigured(env, message):
    result = manage_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_starts_when_configured():
    result = manage_check(SECRET_KEY="k" * 60, ALLOWED_HOSTS="amani.example.com")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_by_default():
    assert settings.DEBUG is False


PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "amani.example.com", "BEHIND_TLS_PROXY": "true"}


def test_production_settings_pass_the_deploy_check():
    """Behind the TLS proxy: HSTS and the HTTPS redirect are on, so `check --deploy` finds nothing.
    The one silenced check (HSTS preload, W021) is a decision for the domain's owner; see settings."""
    result = manage_check(fail_level="WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout, result.stdout


def test_hsts_preload_when_the_operator_opts_in_is_not_silenced():
    result = manage_check(fail_level="WARNING", SECURE_HSTS_PRELOAD="true", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout


def test_the_health_check_is_not_redirected_to_https(db, settings):
    """A load balancer probes over plain HTTP without X-Forwarded-Proto: it must not get a 301."""
    from django.test import Client

    for name in ("SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS"):
        setattr(settings, name, production_value(name))
    assert settings.SECURE_SSL_REDIRECT is True and settings.SECURE_HSTS_SECONDS >= 31536000
    client = Client()  # a new client loads the middleware with these settings
    assert client.get("/api/v1/health/").status_code == 200
    redirected = client.get("/api/v1/projects/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    assert client.get("/api/v1/health/", secure=True)["Strict-Transport-Security"]


def production_value(name: str):
    """A setting's value as production settings compute it (a fresh process with PRODUCTION)."""
    code = ("import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps(getattr(settings, {name!r})))")
    clean = clean_environment()
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True,
                            env={**clean, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "amani.settings",
                                 "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
