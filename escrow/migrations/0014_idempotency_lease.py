"""Idempotency keys get a lease: a request that claimed a key and died blocks it only until
``locked_until``, no longer for the keys' whole retention (48 h).

Rows already without an answer come from the previous release, which wrote the answer after the
request's work, not with it: such a request may have done its work and died before answering, so
a retry must not run it again. They keep the old behaviour, "in progress" until the purge
removes them; every other row gets a lease that has already run out.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

KEEP_UNANSWERED = (
    "UPDATE idempotency_keys SET locked_until = created_at + interval '30 days' WHERE response_status IS NULL"
)


class Migration(migrations.Migration):

    dependencies = [
        ("escrow", "0013_supabase_auth_link"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="locked_until",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="attempt",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RunSQL(sql=KEEP_UNANSWERED, reverse_sql=migrations.RunSQL.noop),
    ]
