"""The first hour of a new developer: ``make run``, ``make migrate``, a copied ``.env.example``,
the demo password, the landing page and the docs' walkthrough, each as a newcomer meets it."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from escrow.models import User

BASE_DIR = Path(settings.BASE_DIR)
# What a developer's shell would not set; ENV_FILE="" keeps a developer's own .env out of these runs.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DEMO_PASSWORD", "PORT", "HOST")
             and not k.startswith("FINCRA_")} | {"ENV_FILE": ""}


def make(target: str, *args: str, timeout: int = 120, **env) -> subprocess.CompletedProcess:
    """``make <target>`` in the checkout, as a developer types it; killed (with its children) on timeout."""
    process = subprocess.Popen(["make", "--no-print-directory", target, *args], cwd=BASE_DIR,
                               env={**CLEAN_ENV, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate()
        pytest.fail(f"make {target} was still running after {timeout} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def listening():
    """A socket listening on a free port of 127.0.0.1 (a `make run` already running, say)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- make run with a port taken ---

@pytest.mark.slow
@pytest.mark.parametrize("taken", ["PORT", "FINCRA_SIMULATOR_PORT"])
def test_make_run_with_a_port_taken_says_which_before_migrating_or_seeding(server, fresh_database, listening, taken):
    ports = {"PORT": str(free_port()), "FINCRA_SIMULATOR_PORT": str(free_port())} | {taken: str(listening)}
    result = make("run", f"PORT={ports['PORT']}", DATABASE_URL=server.url(fresh_database),
                  FINCRA_SIMULATOR_PORT=ports["FINCRA_SIMULATOR_PORT"])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{listening}" in result.stderr and f"{taken}=" in result.stderr, output
    assert "Traceback" not in output and "OSError" not in output, output
    assert "Operations to perform" not in output and "Demo data ready" not in output, "migrated or seeded first"
    with server.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)


# --- make migrate on the default setup ---

@pytest.mark.slow
def test_make_migrate_works_on_the_default_setup(server, fresh_database):
    result = make("migrate", timeout=300, DATABASE_URL=server.url(fresh_database))
    assert result.returncode == 0, result.stdout + result.stderr
    with server.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from django_migrations where app = 'escrow'").fetchone()[0] > 0


# --- a copied .env.example ---

@pytest.fixture
def checkout_with_env_example(tmp_path):
    """A copy of the code with ``.env.example`` copied to ``.env``, as the README suggests."""
    for name in ("amani", "escrow"):
        shutil.copytree(BASE_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE_DIR / "manage.py", tmp_path)
    shutil.copy(BASE_DIR / ".env.example", tmp_path / ".env")
    return tmp_path


SHOW = ("from django.conf import settings; from django.http.request import validate_host; "
        "print([validate_host(h, settings.ALLOWED_HOSTS) for h in ('127.0.0.1', 'localhost', 'evil.example')])")


@pytest.mark.slow
def test_a_copied_env_example_serves_localhost_under_make_run(server, checkout_with_env_example):
    env = {k: v for k, v in CLEAN_ENV.items() if k != "ENV_FILE"}
    # What `make run` sets; the database is the suite's (nothing is written).
    env |= {"DEBUG": "true", "DATABASE_URL": server.url(settings.DATABASES["default"]["NAME"])}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", SHOW], cwd=checkout_with_env_example,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[True, True, False]", result.stdout


def test_env_example_lists_every_variable_the_settings_read():
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', (BASE_DIR / "amani/settings.py").read_text()))
    read |= {"DEMO_PASSWORD"}
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
    assert read <= listed, read - listed


# --- the demo password ---

def test_the_demo_password_is_set_once_and_kept(db, settings, tmp_path, monkeypatch, capsys):
    settings.DEBUG, settings.DATA_DIR = True, tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    passwords = []
    for _ in range(2):
        call_command("seed_demo")
        passwords.append(re.search(r"password.*: (\S+)", capsys.readouterr().out).group(1))
    assert passwords[0] == passwords[1]
    assert (tmp_path / "demo-password").read_text().strip() == passwords[0]
    assert (tmp_path / "demo-password").stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert User.objects.get(email="buyer@example.com").check_password(passwords[0])


def test_demo_password_from_the_environment_wins_and_is_not_stored(db, settings, tmp_path, monkeypatch, capsys):
    settings.DEBUG, settings.DATA_DIR = True, tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "a chosen demo passphrase")
    call_command("seed_demo")
    assert "a chosen demo passphrase" in capsys.readouterr().out
    assert not (tmp_path / "demo-password").exists()
    assert User.objects.get(email="seller@example.com").check_password("a chosen demo passphrase")


# --- the landing page ---

def test_the_root_is_a_landing_page_linking_the_docs_the_schema_and_the_console(client):
    response = client.get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for url in (reverse("docs"), reverse("schema"), reverse("admin:index")):
        assert f'href="{url}"' in page, url


# --- the docs' walkthrough ---

def test_the_api_walkthrough_needs_no_uuidgen():
    walkthrough = (BASE_DIR / "docs/api.md").read_text()
    assert "uuidgen" not in walkthrough
