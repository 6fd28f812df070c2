"""The escrow app: users, projects, milestones and the transactions ledger."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class EscrowAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the operator console's site (its dashboard)."""

    default = False
    default_site = "escrow.admin_site.EscrowAdminSite"


class EscrowConfig(AppConfig):
    default = True  # this module also holds the admin's config
    name = "escrow"
    verbose_name = "Escrow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from escrow.db import hardening

        # Database hardening, not business logic: after every migrate, tables without RLS
        # policies are closed to Supabase's client roles (see escrow/db/hardening.py).
        post_migrate.connect(hardening.close_unprotected_tables, sender=self, dispatch_uid="escrow.hardening")
