"""HTTP clients for the API tests: each authenticated with its own bearer token."""

import pytest
from rest_framework.test import APIClient

from escrow.api.tokens import issue_tokens
from tests.factories import UserFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user)['access']}")
    client.user = user
    return client


@pytest.fixture
def as_user(db):
    """``as_user(user)`` → an APIClient with that user's token; ``as_user()`` makes a new user."""
    return lambda user=None: client_for(user or UserFactory())


@pytest.fixture
def anonymous():
    return APIClient()
