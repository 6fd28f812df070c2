"""Money in and out of the API: strings with the currency's decimals, never floats."""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from escrow.money import decimals


class MoneyField(serializers.DecimalField):
    """A read-only amount rendered as a string in its row's currency ("1500.00", "150000" for UGX)."""

    def __init__(self, currency_attr: str = "currency", **kwargs):
        self.currency_attr = currency_attr
        kwargs.setdefault("read_only", True)
        super().__init__(max_digits=15, decimal_places=2, **kwargs)

    def get_attribute(self, instance):
        self._currency = getattr(instance, self.currency_attr, "USD")
        return super().get_attribute(instance)

    def to_representation(self, value) -> str:
        return f"{Decimal(value):.{decimals(self._currency)}f}"


class MoneyInputField(serializers.DecimalField):
    """An amount sent by a client: a string or a JSON number (parsed as Decimal, never float)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=15, decimal_places=2, min_value=Decimal("0.01"), coerce_to_string=True, **kwargs)


# No request of this API nests more than a few levels; a client that sends more wants a crash
# (json's decoder raises RecursionError near a thousand levels, which would be a 500).
MAX_JSON_DEPTH = 32


class DecimalJSONParser(JSONParser):
    """JSON numbers become Decimal, so a float can never reach a money function; bodies nested
    deeper than MAX_JSON_DEPTH are a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        import json

        from rest_framework.exceptions import ParseError

        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            data = json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        return data


def _depth_exceeds(data, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit``; iterative, so it cannot recurse."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


_PLANS: dict = {}
ISO_DATETIME = object()  # in a plan: a DateTimeField rendered as ``_iso_in`` renders it


def _plain_iso_datetime(field) -> bool:
    """A DateTimeField DRF renders in ISO 8601 in the current time zone (USE_TZ)."""
    return (isinstance(field, serializers.DateTimeField) and settings.USE_TZ and not hasattr(field, "timezone")
            and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601)


def _iso_in(zone):
    """What DRF's DateTimeField.to_representation gives for an aware datetime, for ``zone`` looked
    up once rather than per value (a naive one, which the database never returns, goes to DRF)."""
    def as_iso(value):
        if value.tzinfo is None:
            return serializers.DateTimeField().to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return as_iso


def _plan(serializer_class) -> list[tuple]:
    """How ``list_data`` renders each field of ``serializer_class``, worked out once per process:
    (name, attribute, converter), where the attribute is None for a SerializerMethodField (the
    converter is then its method's name) and the converter is the currency's attribute name for
    money. A ModelSerializer builds its fields from the model on every instance; that took as long
    as rendering a page."""
    plan = _PLANS.get(serializer_class)
    if plan is None:
        plan = []
        for name, field in serializer_class().fields.items():
            if field.write_only:
                continue
            if isinstance(field, serializers.SerializerMethodField):
                plan.append((name, None, field.method_name))
            elif isinstance(field, MoneyField):
                plan.append((name, field.source, field.currency_attr))
            elif _plain_iso_datetime(field):
                plan.append((name, field.source, ISO_DATETIME))
            elif "." in field.source or field.source == "*":
                raise TypeError(f"list_data reads plain attributes only: {serializer_class.__name__}.{name}")
            else:
                plan.append((name, field.source, field.to_representation))
        _PLANS[serializer_class] = plan
    return plan


def list_data(serializer_class, instances, context: dict | None = None) -> list[dict]:
    """``serializer_class(instances, many=True, context=context).data`` for a page of a list, the
    same output for a fraction of the time: the fields are resolved once per process (``_plan``),
    not built, looked up and wrapped per row. For read-only serializers whose fields read plain
    attributes of the instance (``source`` without dots) or are SerializerMethodFields, whose
    fields keep no state between rows; a test compares the two outputs field by field."""
    serializer = serializer_class(context=context or {})  # its methods, with the context
    as_iso = _iso_in(timezone.get_current_timezone())  # the DateTimeFields', once per page
    plan = [(name, source, getattr(serializer, convert) if source is None else as_iso if convert is ISO_DATETIME
             else convert) for name, source, convert in _plan(serializer_class)]
    rows = []
    for instance in instances:
        row = {}
        for name, source, convert in plan:
            if source is None:
                row[name] = convert(instance)
                continue
            value = getattr(instance, source)
            if value is None:
                row[name] = None
            elif isinstance(convert, str):  # money in its row's currency, as MoneyField renders it
                row[name] = f"{Decimal(value):.{decimals(getattr(instance, convert, 'USD'))}f}"
            else:
                row[name] = convert(value)
        rows.append(row)
    return rows
