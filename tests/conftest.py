"""Shared fixtures. Every test runs against real PostgreSQL: the embedded server, or DATABASE_URL."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()
