"""Approve, as the system, delivered milestones whose buyer let the inspection period run out.

Safe from cron every minute and on several machines at once: each milestone is approved under
its project's row lock and re-checked there, so it is released once whoever runs first.
"""

from django.core.management.base import BaseCommand

from escrow.services import milestone_auto_approve_due


class Command(BaseCommand):
    help = "Approve and release delivered milestones past their project's inspection period."

    def handle(self, *args, **options) -> None:
        approved = milestone_auto_approve_due()
        for milestone in approved:
            self.stdout.write(f"approved {milestone.pk} ({milestone.title}) of project {milestone.project_id}")
        self.stdout.write(f"{len(approved)} milestone(s) approved")
