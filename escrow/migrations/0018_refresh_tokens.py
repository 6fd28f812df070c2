"""The ``refresh_tokens`` table (escrow/models/sessions.py): refresh tokens that can end.

- One live token per session: ``refresh_tokens_family_one_live`` (neither used nor revoked), the
  database's half of the atomic use in escrow/services/sessions.py.
- A revoked token says why (``refresh_tokens_chk_revoked_reason``).
- Changing a user's password or deactivating them revokes all their refresh tokens, whoever makes
  the change: the API's services, the console's password form, ``manage.py changepassword``, or
  migration 0013's Supabase link (which re-keys the account and makes its password unusable; hence
  the old id too). A trigger, not a service call, because most of those paths are not ours.
  Django's own re-hash of a password (a hasher upgrade at login) counts as a change too: the
  user's other sessions end, as Django's admin sessions do.

No policy: the hardening after migrate closes the table to anon and authenticated.
"""

import uuid

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

# Copied from RevokedReason (value, label).
REVOKED_CHOICES = [("logout", "Logout"), ("reuse", "Reuse"), ("deactivated", "Deactivated"),
                   ("password_changed", "Password Changed")]
REVOKED_REASONS = [value for value, _ in REVOKED_CHOICES]

REVOKE_ON_USER_CHANGE = """
CREATE FUNCTION escrow_revoke_refresh_tokens() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refresh_tokens
    SET revoked_at = now(),
        revoked_reason = CASE WHEN OLD.is_active AND NOT NEW.is_active THEN 'deactivated'
                              ELSE 'password_changed' END
    WHERE user_id IN (OLD.id, NEW.id) AND revoked_at IS NULL;
    RETURN NULL;
END
$$
"""

USERS_TRIGGER = (
    "CREATE TRIGGER users_revoke_refresh_tokens AFTER UPDATE OF hashed_password, is_active ON users"
    " FOR EACH ROW WHEN (OLD.hashed_password IS DISTINCT FROM NEW.hashed_password"
    " OR (OLD.is_active AND NOT NEW.is_active))"
    " EXECUTE FUNCTION escrow_revoke_refresh_tokens()"
)


def sql(forward: str, backward: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql=forward, reverse_sql=backward)


class Migration(migrations.Migration):
    # The lead renumbers the dependency to 0017 at merge (0017 is being written in parallel).
    dependencies = [("escrow", "0017_outbound_webhooks")]

    operations = [
        migrations.CreateModel(
            name="RefreshToken",
            fields=[
                ("jti", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("family", models.UUIDField(db_index=True)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_reason", models.CharField(blank=True, choices=REVOKED_CHOICES,
                                                    max_length=16, null=True)),
                ("user", models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                           related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "db_table": "refresh_tokens",
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("revoked_at__isnull", True), ("used_at__isnull", True)),
                                            fields=("family",), name="refresh_tokens_family_one_live"),
                    models.CheckConstraint(
                        condition=models.Q(models.Q(("revoked_at__isnull", True), ("revoked_reason__isnull", True)),
                                           models.Q(("revoked_at__isnull", False), ("revoked_reason__in", REVOKED_REASONS),
                                                    ("revoked_reason__isnull", False)),
                                           _connector="OR"),
                        name="refresh_tokens_chk_revoked_reason"),
                    models.CheckConstraint(condition=models.Q(("expires_at__gt", models.F("created_at"))),
                                           name="refresh_tokens_chk_expires_after_created"),
                ],
            },
        ),
        sql(REVOKE_ON_USER_CHANGE, "DROP FUNCTION escrow_revoke_refresh_tokens()"),
        sql("DO $$ BEGIN EXECUTE format('ALTER FUNCTION escrow_revoke_refresh_tokens() SET search_path = %I, pg_temp',"
            " current_schema()); END $$",
            "ALTER FUNCTION escrow_revoke_refresh_tokens() RESET search_path"),
        sql(USERS_TRIGGER, "DROP TRIGGER users_revoke_refresh_tokens ON users"),
    ]
