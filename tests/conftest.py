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
    migrations create: the platform's commission account (0004) and the Operators group (0008, 0016, 0017).
    Put them back.
    """
    import importlib

    from django.contrib.auth.models import Group, Permission
    from django.db import connection

    from escrow.models import User
    from escrow.services.ledger import PLATFORM_USER_ID

    # procrastinate's tables are not Django-managed, so the flush between tests leaves them.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers CASCADE")

    User.objects.get_or_create(
        id=PLATFORM_USER_ID,
        defaults={"email": "platform@amani.invalid", "full_name": "Amani platform (commission)", "is_active": False,
                  "password": "!"},
    )
    operators = importlib.import_module("escrow.migrations.0008_operators_group")
    group, _ = Group.objects.get_or_create(name=operators.GROUP)
    wallet = importlib.import_module("escrow.migrations.0016_gateway_fees_wallet_checks")
    outbound = importlib.import_module("escrow.migrations.0017_outbound_webhooks")
    cases = importlib.import_module("escrow.migrations.0024_dispute_assignments")
    group.permissions.set(Permission.objects.filter(
        content_type__app_label="escrow",
        codename__in=[*operators.PERMISSIONS, wallet.PERMISSION, *outbound.PERMISSIONS, *cases.PERMISSIONS]))


@pytest.fixture
def worker(committed_db):
    """A real job worker running beside the test (see tests/jobs.py)."""
    from tests.jobs import Worker

    running = Worker().start()
    yield running
    running.stop()


@pytest.fixture
def fincra(live_server, settings, committed_db):
    """FinCra's stand-in on 127.0.0.1 (escrow/payments/simulator.py, built to FinCra's published
    contract), with the app's settings pointing at it and its webhooks going to a live server."""
    import os

    from escrow.payments.simulator import Simulator

    keys = {name: os.urandom(8).hex() for name in ("secret_key", "public_key", "business_id", "webhook_secret")}
    keys["business_id"] = os.urandom(12).hex()  # FinCra's business ids are 24 characters
    simulator = Simulator(**keys, webhook_url=f"{live_server.url}/api/v1/webhooks/fincra/").start()
    settings.FINCRA_BASE_URL = simulator.url
    settings.FINCRA_SECRET_KEY, settings.FINCRA_PUBLIC_KEY = keys["secret_key"], keys["public_key"]
    settings.FINCRA_BUSINESS_ID, settings.FINCRA_WEBHOOK_SECRET = keys["business_id"], keys["webhook_secret"]
    settings.FINCRA_TIMEOUT_SECONDS = 1
    settings.FINCRA_REDIRECT_URL = ""
    simulator.webhook_endpoint = f"{live_server.url}/api/v1/webhooks/fincra/"
    yield simulator
    simulator.stop()
