"""FinCra's fees on the ledger rows (``gateway_fee``) and the ``wallet_checks`` table.

FinCra keeps a fee on each collection (amount received − ``amountToSettle``) and debits one on each
payout; recording them lets the ledger be reconciled with FinCra's wallet. The Operators group may
see the wallet checks (the console's dashboard shows the latest).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUP = "Operators"
PERMISSION = "view_walletcheck"


def grant_operators(apps, schema_editor):
    app_config = apps.get_app_config("escrow")
    app_config.models_module = True  # see 0008: permissions are needed before migrate ends
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="escrow", codename=PERMISSION))


def revoke_operators(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name=GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="escrow", codename=PERMISSION))


class Migration(migrations.Migration):
    dependencies = [("escrow", "0015_currency_iso4217")]

    operations = [
        migrations.CreateModel(
            name="WalletCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("currency", models.CharField(db_default="USD", default="USD", max_length=3)),
                ("wallet_balance", models.DecimalField(decimal_places=2, max_digits=15)),
                ("ledger_owed", models.DecimalField(decimal_places=2, max_digits=15)),
                ("gateway_fees", models.DecimalField(decimal_places=2, max_digits=15)),
                ("checked_at", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={"db_table": "wallet_checks", "ordering": ["-checked_at", "currency"]},
        ),
        migrations.AddField(
            model_name="transaction",
            name="gateway_fee",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=15, null=True),
        ),
        migrations.RunSQL(
            sql="ALTER TABLE transactions ADD CONSTRAINT transactions_chk_gateway_fee"
                " CHECK (gateway_fee IS NULL OR gateway_fee >= 0)",
            reverse_sql="ALTER TABLE transactions DROP CONSTRAINT transactions_chk_gateway_fee",
        ),
        migrations.RunPython(grant_operators, revoke_operators),
    ]
