"""Shared fixtures. Every test runs against real PostgreSQL: the embedded server, or DATABASE_URL."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def committed_db(transactional_db):
    """A database whose writes really commit, for tests with threads, a live server or a browser.

    Django flushes (truncates) the tables after each such test, taking with it the rows data
    migrations create: the platform's commission account (0004) and the Operators group (0008, 0014).
    Put them back.
    """
    import importlib

    from django.contrib.auth.models import Group, Permission

    from escrow.models import User
    from escrow.services.ledger import PLATFORM_USER_ID

    User.objects.get_or_create(
        id=PLATFORM_USER_ID,
        defaults={"email": "platform@amani.invalid", "full_name": "Amani platform (commission)", "is_active": False,
                  "password": "!"},
    )
    operators = importlib.import_module("escrow.migrations.0008_operators_group")
    group, _ = Group.objects.get_or_create(name=operators.GROUP)
    wallet = importlib.import_module("escrow.migrations.0014_gateway_fees_wallet_checks")
    group.permissions.set(Permission.objects.filter(content_type__app_label="escrow",
                                                    codename__in=[*operators.PERMISSIONS, wallet.PERMISSION]))


@pytest.fixture
def worker(committed_db):
    """A real job worker running beside the test (see tests/jobs.py)."""
    from tests.jobs import Worker

    running = Worker().start()
    yield running
    running.stop()
