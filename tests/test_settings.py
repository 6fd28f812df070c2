"""Production-safe defaults: without DEBUG, no start without a secret key and allowed hosts."""

import os
import subprocess
import sys

import pytest
from django.conf import settings


def manage_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS") and not k.startswith("FINCRA_")}
    clean["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"  # never reached: settings fail first
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
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
