"""Remove refresh tokens past their expiry (the job ``escrow.jobs.refresh_tokens_purge`` does it daily)."""

from django.core.management.base import BaseCommand

from escrow import services


class Command(BaseCommand):
    help = "Delete refresh tokens past their expiry."

    def handle(self, *args, **options) -> None:
        deleted = services.sessions_purge_expired()
        self.stdout.write(f"{deleted} expired refresh token(s) deleted")
