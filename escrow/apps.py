"""The escrow app: users, projects, milestones and the transactions ledger."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EscrowConfig(AppConfig):
    name = "escrow"
    verbose_name = "Escrow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from escrow.db import hardening

        # Database hardening, not business logic: after every migrate, tables without RLS
        # policies are closed to Supabase's client roles (see escrow/db/hardening.py).
        post_migrate.connect(hardening.close_unprotected_tables, sender=self, dispatch_uid="escrow.hardening")
