"""Outbound webhooks: endpoints, the messages owed to them and each delivery attempt (issue 12).

Client roles (PostgREST, and the API, which runs as ``authenticated``) may read their own rows and
write none: an endpoint's URL must be checked against private addresses by resolving its host,
which only the backend can do, so creating, editing and replaying go through the API's services.
``webhook_endpoints.secret`` is granted to no client role: after the answer that creates it, it
cannot be read back by anyone but the backend.
"""

import uuid

import django.contrib.postgres.fields
import django.contrib.postgres.functions
import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

U = "(select escrow_private.active_uid())"  # the caller if active (migration 0012)
GROUP = "Operators"
PERMISSIONS = ["view_webhookendpoint", "view_webhookmessage", "view_webhookdelivery"]
ENDPOINT_READABLE = "id, owner_id, url, description, event_types, is_active, failing_since, disabled_reason," \
                    " created_at, updated_at"
OWN_ENDPOINTS = f"(SELECT e.id FROM webhook_endpoints e WHERE e.owner_id = {U})"

CHECKS = [
    ("escrow_events", "subject", "subject IN ('', 'project', 'milestone')"),
    ("webhook_endpoints", "url", "url ~ '^https?://'"),
    ("webhook_endpoints", "secret", "secret ~ '^whsec_[A-Za-z0-9+/]{32,}={0,2}$'"),
    ("webhook_endpoints", "disabled_reason", "is_active OR disabled_reason <> ''"),
    ("webhook_messages", "status", "status IN ('pending', 'delivered', 'failed')"),
    ("webhook_messages", "delivered_at", "(status = 'delivered') = (delivered_at IS NOT NULL)"),
    ("webhook_deliveries", "trigger", "trigger IN ('automatic', 'owner_replay', 'operator_replay')"),
]

POLICIES = [
    ("webhook_endpoints", "webhook_endpoints_select_owner", f"owner_id = {U}"),
    ("webhook_messages", "webhook_messages_select_owner", f"endpoint_id IN {OWN_ENDPOINTS}"),
    ("webhook_deliveries", "webhook_deliveries_select_owner", f"endpoint_id IN {OWN_ENDPOINTS}"),
]


def sql(forward: str, backward: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql=forward, reverse_sql=backward)


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
        ('escrow', '0016_gateway_fees_wallet_checks'),
    ]

    operations = [
        migrations.AddField(
            model_name='escrowevent',
            name='subject',
            field=models.CharField(blank=True, db_default='', default='', max_length=10),
        ),
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('created_at', models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now())),
                ('updated_at', models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now())),
                ('id', models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('url', models.CharField(max_length=2048)),
                ('description', models.CharField(blank=True, db_default='', default='', max_length=255)),
                ('event_types', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=64), blank=True, db_default=[], default=list, size=None)),
                ('secret', models.CharField(max_length=128)),
                ('is_active', models.BooleanField(db_default=True, default=True)),
                ('failing_since', models.DateTimeField(blank=True, null=True)),
                ('disabled_reason', models.CharField(blank=True, db_default='', default='', max_length=255)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'webhook_endpoints',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='WebhookMessage',
            fields=[
                ('id', models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('event_type', models.CharField(max_length=64)),
                ('payload', models.JSONField()),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed')], db_default='pending', default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(db_default=0, default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now())),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='escrow.webhookendpoint')),
                ('event', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='escrow.escrowevent')),
            ],
            options={
                'db_table': 'webhook_messages',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('trigger', models.CharField(choices=[('automatic', 'Automatic'), ('owner_replay', 'Owner Replay'), ('operator_replay', 'Operator Replay')], max_length=20)),
                ('attempted_at', models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now())),
                ('succeeded', models.BooleanField()),
                ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('response_excerpt', models.TextField(blank=True, default='')),
                ('error', models.CharField(blank=True, default='', max_length=255)),
                ('duration_ms', models.PositiveIntegerField(default=0)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='escrow.webhookendpoint')),
                ('message', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='escrow.webhookmessage')),
            ],
            options={
                'db_table': 'webhook_deliveries',
                'ordering': ['-attempted_at', '-id'],
            },
        ),
        migrations.AddIndex(
            model_name='webhookendpoint',
            index=models.Index(fields=['owner', 'is_active'], name='webhook_endpoints_owner_idx'),
        ),
        migrations.AddIndex(
            model_name='webhookmessage',
            index=models.Index(fields=['endpoint', 'created_at'], name='webhook_messages_ep_idx'),
        ),
        migrations.AddConstraint(
            model_name='webhookmessage',
            constraint=models.UniqueConstraint(fields=('endpoint', 'event'), name='webhook_messages_endpoint_event_unique'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['endpoint', '-attempted_at'], name='webhook_deliveries_ep_idx'),
        ),
        *(sql(f"ALTER TABLE {table} ADD CONSTRAINT {table}_chk_{rule} CHECK ({check})",
              f"ALTER TABLE {table} DROP CONSTRAINT {table}_chk_{rule}") for table, rule, check in CHECKS),
        # Supabase's default privileges hand new tables to its client roles: take them back first.
        *(sql(f"REVOKE ALL ON {table} FROM anon, authenticated", migrations.RunSQL.noop)
          for table, _, _ in POLICIES),
        sql(f"GRANT SELECT ({ENDPOINT_READABLE}) ON webhook_endpoints TO authenticated",
            f"REVOKE SELECT ({ENDPOINT_READABLE}) ON webhook_endpoints FROM authenticated"),
        sql("GRANT SELECT ON webhook_messages TO authenticated",
            "REVOKE SELECT ON webhook_messages FROM authenticated"),
        sql("GRANT SELECT ON webhook_deliveries TO authenticated",
            "REVOKE SELECT ON webhook_deliveries FROM authenticated"),
        *(sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY", f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
          for table, _, _ in POLICIES),
        *(sql(f"CREATE POLICY {name} ON {table} FOR SELECT TO authenticated USING ({using})",
              f"DROP POLICY {name} ON {table}") for table, name, using in POLICIES),
        migrations.RunPython(grant_operators, revoke_operators),
    ]
