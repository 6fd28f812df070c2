"""Column shapes shared by the tables, so each is written once."""

import uuid

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Now

# numeric(15,2): every money column. Decimal only; the money module rounds per currency.
MONEY = {"max_digits": 15, "decimal_places": 2}


def uuid_pk() -> models.UUIDField:
    # db_default too, so rows inserted through PostgREST get an id without the app.
    return models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)


def currency_field() -> models.CharField:
    return models.CharField(max_length=3, default="USD", db_default="USD")


class TimestampedModel(models.Model):
    """created_at / updated_at as timestamptz, defaulted by the database as well as by Django."""

    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        abstract = True
