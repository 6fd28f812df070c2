"""Demo data for a local run: an operator, a buyer, a seller and a draft project.

Development only (refuses unless DEBUG). Safe to run at every start: existing demo rows are kept.
The demo users' password is DEMO_PASSWORD, or else one made at random on the first run and kept
in the git-ignored data folder (``.data/demo-password``, readable by its owner only), so it stays
the same from one start to the next and no password lives in the repository.
"""

import os
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from escrow.models import Milestone, Project, User

OPERATOR, BUYER, SELLER = "operator@example.com", "buyer@example.com", "seller@example.com"


class Command(BaseCommand):
    help = "Create demo users and a draft project for local development (DEBUG only)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG=true: it sets known passwords.")
        password = os.environ.get("DEMO_PASSWORD") or self._kept_password(Path(settings.DATA_DIR) / "demo-password")
        operator = self._user(OPERATOR, "Demo Operator", password, is_staff=True)
        operator.groups.add(Group.objects.get(name="Operators"))
        buyer = self._user(BUYER, "Demo Buyer", password)
        seller = self._user(SELLER, "Demo Seller", password)
        project, created = Project.objects.get_or_create(
            title="Demo: website redesign",
            creator=buyer,
            defaults={
                "buyer": buyer,
                "seller": seller,
                "total_amount": Decimal("1500.00"),
                "currency": "USD",
                "description": "A demo escrow in draft: two milestones.",
            },
        )
        if created:
            Milestone.objects.create(project=project, order_index=0, title="Design", amount=Decimal("500.00"))
            Milestone.objects.create(project=project, order_index=1, title="Build", amount=Decimal("1000.00"))
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  operator (admin, Operators group): {operator.email}")
        self.stdout.write(f"  buyer:            {buyer.email}")
        self.stdout.write(f"  seller:           {seller.email}")
        source = "DEMO_PASSWORD" if os.environ.get("DEMO_PASSWORD") else ".data/demo-password"
        self.stdout.write(f"  password (all three, from {source}): {password}")

    @staticmethod
    def _kept_password(path: Path) -> str:
        if path.exists() and (kept := path.read_text().strip()):
            return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        # Created readable by its owner only, before the password is written into it.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(password + "\n")
        return password

    def _user(self, email: str, full_name: str, password: str, **flags) -> User:
        user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name, "is_verified": True, **flags})
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
