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


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1, and the e-mail settings pointing at it."""
    from tests.notify.smtp import Sink

    sink = Sink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_RETRY_BASE_SECONDS = 0.2
    settings.DEFAULT_FROM_EMAIL = "Amani <no-reply@amani.test>"
    yield sink
    sink.stop()
