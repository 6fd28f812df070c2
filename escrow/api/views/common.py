"""What every view module shares: the error shape in the schema, money as text, query choices,
and validating a body with a serializer."""

from rest_framework.exceptions import ValidationError

from escrow.api import serializers as s
from escrow.money import decimals

ERROR = s.error_shape()


def money_text(value, currency: str) -> str:
    return f"{value:.{decimals(currency)}f}"


def query_choice(request, name: str, choices) -> str | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise ValidationError({name: [f"Must be one of: {', '.join(choices)}."]})
    return value


def valid(serializer_class, data, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
