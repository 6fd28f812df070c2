"""Schema-driven fuzzing: every operation of the OpenAPI schema, with generated inputs, as a
signed-in user. No input may cause a 5xx, and every response must match the schema."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from amani.wsgi import application
from escrow.api.tokens import issue_tokens
from tests import builders

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture
def wsgi_in_test_transaction():
    """Like Django's test client: a request's end must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db, wsgi_in_test_transaction):
    """A user with a funded project, so object endpoints have something to find."""
    project = builders.delivered()
    return {"Authorization": f"Bearer {issue_tokens(project.buyer)['access']}"}


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_api(case, bearer):
    case.call_and_validate(
        headers=bearer, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
