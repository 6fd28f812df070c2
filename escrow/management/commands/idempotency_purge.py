"""Remove idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS (at least 24). Run daily."""

from django.conf import settings
from django.core.management.base import BaseCommand

from escrow.api import idempotency


class Command(BaseCommand):
    help = "Delete idempotency keys past their retention period."

    def handle(self, *args, **options) -> None:
        deleted = idempotency.purge_expired()
        self.stdout.write(f"{deleted} idempotency key(s) older than {settings.IDEMPOTENCY_KEY_TTL_HOURS} h deleted")
