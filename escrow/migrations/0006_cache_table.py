"""The database cache table (CACHE_URL defaults to it): throttling and the Supabase JWKS are
shared by every app process. Equivalent to ``manage.py createcachetable``."""

from django.db import migrations

CREATE = """
CREATE TABLE IF NOT EXISTS amani_cache (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamptz NOT NULL
)
"""


class Migration(migrations.Migration):
    dependencies = [("escrow", "0005_idempotency_keys")]

    operations = [
        migrations.RunSQL(sql=CREATE, reverse_sql="DROP TABLE IF EXISTS amani_cache"),
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS amani_cache_expires ON amani_cache (expires)",
            reverse_sql="DROP INDEX IF EXISTS amani_cache_expires",
        ),
    ]
