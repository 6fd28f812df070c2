"""Remove idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS (at least 24). Run daily."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from escrow.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete idempotency keys past their retention period."

    def handle(self, *args, **options) -> None:
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"{deleted} idempotency key(s) older than {settings.IDEMPOTENCY_KEY_TTL_HOURS} h deleted")
