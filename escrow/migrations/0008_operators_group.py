"""The "Operators" group: exactly what the operator console needs.

Seeing every escrow table, and the escrow operator permission that the console's actions (resolve,
refund, cancel, approve for a buyer, reconcile, verify or deactivate a user) require. Nothing can
be added, edited or deleted by hand; only superusers manage accounts and the group itself.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Operators"
PERMISSIONS = [
    "view_user", "view_project", "view_milestone", "view_transaction", "view_escrowevent", "view_webhookevent",
    "act_as_operator",
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; this one needs them now. The
    # migration state's app config lacks `models_module`, which create_permissions checks.
    app_config = apps.get_app_config("escrow")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label="escrow", codename__in=PERMISSIONS))


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [("escrow", "0007_webhook_events"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_group, delete_group)]
