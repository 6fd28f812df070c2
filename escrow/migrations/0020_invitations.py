"""The ``invitations`` table (escrow/models/invitations.py): a draft's counterparty named by e-mail.

- At most one open invitation per project (``invitations_one_open``), its e-mail lower-cased, its
  role buyer or seller, accepted or withdrawn but not both, ``accepted_by`` set exactly when
  accepted, ``expires_at`` after the last send.
- Only the token's SHA-256 is stored (``token_hash``, unique).
- No policy: the hardening after migrate closes the table to anon and authenticated (docs/rls.md).
  Invitees see the project through ``projects_select_involved`` once they are its party.
"""

import uuid

import django.contrib.postgres.functions
import django.db.models.deletion
import django.db.models.functions.datetime
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('escrow', '0019_notifications'),
    ]

    operations = [
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('id', models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(), default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('email', models.CharField(max_length=254)),
                ('role', models.CharField(choices=[('buyer', 'Buyer'), ('seller', 'Seller')], max_length=6)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now())),
                ('sent_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('accepted_at', models.DateTimeField(blank=True, null=True)),
                ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                ('accepted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='escrow.project')),
            ],
            options={
                'db_table': 'invitations',
                'indexes': [models.Index(fields=['email'], name='invitations_email_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('accepted_at__isnull', True), ('withdrawn_at__isnull', True)), fields=('project',), name='invitations_one_open'), models.CheckConstraint(condition=models.Q(('role__in', ['buyer', 'seller'])), name='invitations_chk_role'), models.CheckConstraint(condition=models.Q(('email', django.db.models.functions.text.Lower('email')), ('email__contains', '@')), name='invitations_chk_email_lower'), models.CheckConstraint(condition=models.Q(('accepted_at__isnull', True), ('withdrawn_at__isnull', True), _connector='OR'), name='invitations_chk_one_outcome'), models.CheckConstraint(condition=models.Q(models.Q(('accepted_at__isnull', True), ('accepted_by__isnull', True)), models.Q(('accepted_at__isnull', False), ('accepted_by__isnull', False)), _connector='OR'), name='invitations_chk_accepted_by'), models.CheckConstraint(condition=models.Q(('expires_at__gt', models.F('sent_at'))), name='invitations_chk_expires')],
            },
        ),
    ]
