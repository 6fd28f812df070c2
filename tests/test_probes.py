"""Liveness (/livez: the process, no database) and readiness (/readyz: database, migrations,
job queue), beside the API's /api/v1/health/."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.test_settings import production_value


def test_livez_answers_without_touching_the_database(client):
    """No ``db`` fixture: pytest-django refuses any database access in this test."""
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_on_a_migrated_database_with_its_job_queue(db, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "job_queue": "ok"}}


def test_readyz_names_a_migration_not_applied(db, client):
    # As if the code were deployed before `migrate`: the last escrow migration is not recorded.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations"
                       " WHERE app = 'escrow') RETURNING name")
        name = cursor.fetchone()[0]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert f"escrow.{name}" in response.json()["checks"]["migrations"]
    assert response.json()["checks"]["job_queue"] == "ok"


def test_readyz_fails_when_the_job_queue_does_not_answer(db, client):
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("ALTER TABLE procrastinate_jobs RENAME TO procrastinate_jobs_away")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["job_queue"].startswith("unavailable")
    assert response.json()["checks"]["database"] == "ok"


PROBE = ("from django.test import Client; c = Client(HTTP_HOST='localhost'); "
         "print(c.get('/livez').status_code, c.get('/readyz').status_code, c.get('/readyz').json()['checks'])")


@pytest.mark.slow
def test_without_a_database_the_process_is_live_but_not_ready():
    env = {**os.environ, "ENV_FILE": "", "DEBUG": "true", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", PROBE], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("200 503 "), result.stdout
    assert "'database': 'unavailable: OperationalError'" in result.stdout


def test_the_probes_are_not_redirected_to_https(db, settings):
    """Probes come over plain HTTP from inside the network, without X-Forwarded-Proto."""
    for name in ("SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT"):
        setattr(settings, name, production_value(name))
    client = Client()
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 301  # everything else is
