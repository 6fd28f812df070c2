"""Which operator works on a dispute case (the operators' queue, issue 14).

A table of its own rather than a column of ``disputes``: parties read their ``disputes`` rows
directly (PostgREST, and the API's own queries as ``authenticated``), and who handles a case is
the operators' business — a party who knew it could lobby that person. So no client role gets any
privilege on ``dispute_assignments``, and RLS is on with no policy (nothing readable even if a
grant appeared by Supabase's default privileges). The Operators group gets ``view_dispute`` for
the case queue and the case page.

Nothing here imports app code (the names are copied).
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUP = "Operators"
PERMISSIONS = ["view_dispute"]


def grant_operators(apps, schema_editor):
    app_config = apps.get_app_config("escrow")
    app_config.models_module = True  # see 0008: permissions are needed before migrate ends
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="escrow", codename__in=PERMISSIONS))


def revoke_operators(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name=GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="escrow",
                                                             codename__in=PERMISSIONS))


class Migration(migrations.Migration):

    dependencies = [
        ('escrow', '0023_transactions_page_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='DisputeAssignment',
            fields=[
                ('dispute', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='assignment', serialize=False, to='escrow.dispute')),
                ('assigned_at', models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now())),
                ('assigned_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('operator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'dispute_assignments',
                'indexes': [models.Index(fields=['operator'], name='dispute_assignments_op_idx')],
            },
        ),
        migrations.RunSQL(sql="REVOKE ALL ON dispute_assignments FROM PUBLIC, anon, authenticated",
                          reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql="ALTER TABLE dispute_assignments ENABLE ROW LEVEL SECURITY",
                          reverse_sql="ALTER TABLE dispute_assignments DISABLE ROW LEVEL SECURITY"),
        migrations.RunPython(grant_operators, revoke_operators),
    ]
