"""E-mail notifications (escrow/notify/email.py, docs/notifications.md).

- ``users.notify_optional``: the user's choice to receive the non-essential e-mails. Granted to
  ``authenticated`` for SELECT and UPDATE; the policy ``users_update_own`` keeps a client to its
  own row, as for the other profile columns.
- ``milestones.inspection_reminder_sent_at``: when the buyer was reminded that the delivery's
  inspection period ends soon (the periodic job sends one reminder per delivery). Not granted for
  UPDATE: only the backend writes it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("escrow", "0018_refresh_tokens")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="notify_optional",
            field=models.BooleanField(db_default=True, default=True),
        ),
        migrations.AddField(
            model_name="milestone",
            name="inspection_reminder_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            sql="GRANT SELECT (notify_optional), UPDATE (notify_optional) ON users TO authenticated",
            reverse_sql="REVOKE SELECT (notify_optional), UPDATE (notify_optional) ON users FROM authenticated",
        ),
    ]
