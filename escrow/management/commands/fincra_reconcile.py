"""Settle stuck payments from FinCra's own records: pending or unknown deposits and withdrawals.

Run from cron (every few minutes) or by hand; safe beside webhooks and another run.
"""

from django.core.management.base import BaseCommand

from escrow.payments.gateway import reconcile


class Command(BaseCommand):
    help = "Look up every pending deposit and withdrawal at FinCra and settle it."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=10, metavar="MINUTES",
                            help="only rows at least this old (default 10; 0 for all)")

    def handle(self, *args, older_than: int, **options) -> None:
        result = reconcile(older_than_minutes=older_than)
        for line in result.changed:
            self.stdout.write(line)
        for line in result.errors:
            self.stderr.write(f"error: {line}")
        self.stdout.write(f"{len(result.changed)} changed, {result.unchanged} unchanged, {len(result.errors)} errors")
