"""Helpers for tests that need a database of their own, migrated by ``manage.py`` as a user would."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


class Server:
    """The PostgreSQL server the suite runs on, reached as its superuser."""

    def __init__(self, config: dict):
        self.host, self.port = config["HOST"], config["PORT"] or 5432
        self.user, self.password = config["USER"], config.get("PASSWORD") or ""

    def connect(self, dbname: str = "postgres", user: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=user or self.user, password=self.password,
            dbname=dbname, autocommit=True,
        )

    def url(self, dbname: str, user: str | None = None) -> str:
        auth = quote(user or self.user) + (f":{quote(self.password)}" if self.password and not user else "")
        return f"postgres://{auth}@{quote(str(self.host), safe='')}:{self.port}/{dbname}"

    def manage(self, database_url: str, *args: str) -> subprocess.CompletedProcess:
        """Run manage.py with production-like settings against ``database_url``."""
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "localhost",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="session")
def server() -> Server:
    return Server(settings.DATABASES["default"])


@pytest.fixture
def fresh_database(server) -> Iterator[str]:
    """An empty database on the same server, dropped afterwards."""
    name = f"amani_fresh_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(f'create database "{name}"')
    yield name
    with server.connect() as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
