"""Logs: one JSON line per request with its id, user, method, path, status and duration; the id
round-trips in X-Request-ID; every line printed once; jobs' lines name the job."""

import io
import json
import logging
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.test import Client

from amani.logs import JsonFormatter, log_context
from escrow.worker import job_context
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.test_settings import clean_environment


@pytest.fixture
def log_lines():
    """What the root's one handler (the configured one, with its filter) writes, as parsed JSON."""
    (handler,) = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)
    handler.setFormatter(formatter)


def request_lines(lines):
    return [line for line in lines if line["logger"] == "amani.request"]


def test_a_request_writes_one_json_line_with_its_id_user_status_and_duration(db, log_lines):
    client = client_for(UserFactory())
    response = client.get("/api/v1/projects/?page=1&token=secret-in-query")
    assert response.status_code == 200
    (line,) = request_lines(log_lines())
    assert line["request_id"] == response["X-Request-ID"]
    assert uuid.UUID(line["request_id"])  # generated: none came in
    assert line["user_id"] == str(client.user.pk)
    assert line["method"] == "GET" and line["status"] == 200
    assert line["path"] == "/api/v1/projects/" and "secret" not in json.dumps(line)  # no query string
    assert line["route"] == "api/v1/projects/"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")


def test_an_anonymous_request_is_logged_without_a_user(db, log_lines):
    response = Client().get("/api/v1/projects/")
    assert response.status_code == 401
    lines = request_lines(log_lines())
    assert [(line["status"], line["user_id"]) for line in lines] == [(401, None)]


def test_a_well_formed_request_id_round_trips(db, log_lines):
    incoming = "7f0c6a5e-proxy-id.42"
    response = Client().get("/livez", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming
    assert request_lines(log_lines())[0]["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["short", "has space inside it", "x" * 129, "line\\nbreak-forged", "<script>alert</script>"])
def test_a_malformed_request_id_is_replaced(db, log_lines, incoming):
    response = Client().get("/livez", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and uuid.UUID(response["X-Request-ID"])
    assert request_lines(log_lines())[0]["request_id"] == response["X-Request-ID"]


def test_the_id_from_the_header_is_ignored_when_not_trusted(db, settings, log_lines):
    settings.REQUEST_ID_FROM_HEADER = False
    response = Client().get("/livez", HTTP_X_REQUEST_ID="7f0c6a5e-proxy-id.42")
    assert response["X-Request-ID"] != "7f0c6a5e-proxy-id.42"


def test_lines_written_during_a_request_carry_its_id(db, log_lines):
    """Any logger, inside the request: a 404 makes Django's own `django.request` warning."""
    response = Client().get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="abcdef12-3456")
    assert response.status_code == 404
    lines = log_lines()
    django_line = next(line for line in lines if line["logger"] == "django.request")
    assert django_line["request_id"] == "abcdef12-3456"
    assert len(request_lines(lines)) == 1


def test_a_job_line_names_the_job_and_its_task(log_lines):
    class Job:
        id, task_name = 42, "escrow.jobs.auto_approve"

    class Context:
        job = Job()

    job_context(lambda: logging.getLogger("escrow.jobs").info("approved 3"), Context(), worker=None)
    logging.getLogger("escrow.jobs").info("after the job")
    inside, after = log_lines()
    assert (inside["job_id"], inside["task"], inside["message"]) == (42, "escrow.jobs.auto_approve", "approved 3")
    assert "job_id" not in after and log_context.get() == {}


EMIT = """
import django, logging
django.setup()
for name in ("django", "django.request", "django.db.backends", "procrastinate.worker", "escrow.jobs", "amani.request"):
    logging.getLogger(name).warning("line from %s", name)
"""


@pytest.mark.parametrize("debug", ["true", "false"])
def test_every_line_is_printed_once(debug):
    """Django's own configuration gave `django` a console handler under DEBUG, beside ours on the
    root: each of its lines came out twice. A fresh process, as `make run` and gunicorn start."""
    env = {**clean_environment(), "DJANGO_SETTINGS_MODULE": "amani.settings", "DEBUG": debug, "LOG_FORMAT": "json",
           "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.com", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", EMIT], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line)["message"] for line in result.stderr.splitlines()]
    assert sorted(messages) == sorted(f"line from {name}" for name in (
        "django", "django.request", "django.db.backends", "procrastinate.worker", "escrow.jobs", "amani.request"))


def test_text_format_is_one_line_with_the_ids(db, settings):
    from amani.logs import ContextFilter, TextFormatter

    record = logging.LogRecord("escrow", logging.INFO, __file__, 1, "held %s", ("10.00",), None)
    token = log_context.set({"request_id": "abcdef12"})
    try:
        ContextFilter().filter(record)
    finally:
        log_context.reset(token)
    assert TextFormatter().format(record).endswith("INFO escrow [request_id=abcdef12] held 10.00")


GUNICORN = """
import importlib, logging
from gunicorn.config import Config
from gunicorn.glogging import Logger
conf = importlib.import_module("amani.gunicorn_conf")
cfg = Config()
cfg.set("logconfig_dict", conf.logconfig_dict)
Logger(cfg).info("Booting worker with pid: %s", 42)
"""


def test_gunicorn_lines_are_json_and_printed_once():
    env = {**clean_environment(), "LOG_FORMAT": "json"}
    result = subprocess.run([sys.executable, "-c", GUNICORN], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert (line["logger"], line["message"]) == ("gunicorn.error", "Booting worker with pid: 42")
