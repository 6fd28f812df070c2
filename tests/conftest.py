"""Shared fixtures. Every test runs against real PostgreSQL: the embedded server, or DATABASE_URL."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def committed_db(transactional_db):
    """A database whose writes really commit, for tests with threads on their own connections.

    Django flushes (truncates) the tables after each such test, taking with it the platform's
    account that migration 0004 creates; put it back.
    """
    from escrow.models import User
    from escrow.services.ledger import PLATFORM_USER_ID

    User.objects.get_or_create(
        id=PLATFORM_USER_ID,
        defaults={"email": "platform@amani.invalid", "full_name": "Amani platform (commission)", "is_active": False,
                  "password": "!"},
    )
