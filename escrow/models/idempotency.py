"""The ``idempotency_keys`` table: what a POST with an ``Idempotency-Key`` header answered.

A retried request with the same key and body gets the first response again instead of acting
twice (the old system retried POSTs and paid out twice). Keys are per user.

A row without a response is a request that claimed the key and has not answered: running, or
dead. ``locked_until`` is its lease: until then a retry is told "in progress"; after it, a retry
may take the key over (``attempt`` + 1) and run the request again. That is safe because the
answer is written to this row in the same transaction as the request's work (escrow.api.base):
a request whose work committed has an answer here, one without an answer changed nothing.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Now


class IdempotencyKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The lease of the request that holds the key, and which try that is (a fencing token: a
    # request whose lease was taken over finds another attempt and does nothing).
    locked_until = models.DateTimeField(db_default=Now())  # no lease unless one is given
    attempt = models.PositiveSmallIntegerField(default=1)

    class Meta:
        db_table = "idempotency_keys"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_keys_user_key_unique")]

    def __str__(self) -> str:
        return self.key
