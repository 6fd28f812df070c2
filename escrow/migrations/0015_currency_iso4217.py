"""Only real currencies: ``<table>_chk_currency_iso4217`` on every table with a currency.

Clients reach ``projects`` and ``milestones`` directly (PostgREST, under RLS) and may write their
currency, so the services' check (``escrow.money.require_currency``) is not enough: this holds
the database to the same list. A CHECK with a constant list rather than a ``currencies`` table
with foreign keys: it costs one comparison against a constant array per written row, needs no
table for clients to be kept out of, and matches ``0009_minor_units``. The price is a migration
when ISO adds a currency (drop and add the three constraints), a few times a decade.

The list is copied from escrow.money on purpose (migrations do not import app code); a test
checks the two agree. Adding the constraints checks the rows already there: a database holding a
made-up currency refuses this migration, naming the constraint, for a person to look at.
"""

from django.db import migrations

CURRENCIES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split()
LIST = ", ".join(f"'{code}'" for code in CURRENCIES)
TABLES = ("projects", "milestones", "transactions")


class Migration(migrations.Migration):
    dependencies = [("escrow", "0014_idempotency_lease")]

    operations = [
        migrations.RunSQL(
            sql=f"ALTER TABLE {table} ADD CONSTRAINT {table}_chk_currency_iso4217 CHECK (currency IN ({LIST}))",
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {table}_chk_currency_iso4217",
        )
        for table in TABLES
    ]
