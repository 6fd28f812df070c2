import pytest

from tests.notify.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A receiver on 127.0.0.1, which the settings allow (production allows no private address)."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.2
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    running = Receiver().start()
    yield running
    running.stop()
