"""Amounts are exact in their currency's minor unit: whole numbers for currencies without one.

The services refuse a finer amount first (escrow/money.py); this holds the database to the same
rule. The list of zero-decimal currencies is copied from escrow.money on purpose (migrations do
not import app code); a test checks the two agree.
"""

from django.db import migrations

ZERO_DECIMAL = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF")
CURRENCIES = "(" + ", ".join(f"'{c}'" for c in ZERO_DECIMAL) + ")"

RULES = [
    ("projects", "total_amount = trunc(total_amount)"),
    ("milestones", "amount = trunc(amount)"),
    ("transactions", "amount = trunc(amount) AND fee = trunc(fee)"),
]


class Migration(migrations.Migration):
    dependencies = [("escrow", "0008_operators_group")]

    operations = [
        migrations.RunSQL(
            sql=f"ALTER TABLE {table} ADD CONSTRAINT {table}_chk_minor_unit"
                f" CHECK (currency NOT IN {CURRENCIES} OR ({whole}))",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {table}_chk_minor_unit",
        )
        for table, whole in RULES
    ]
