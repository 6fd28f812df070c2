"""The API's renderer (escrow/api/renderers.py) writes exactly the bytes DRF's JSONRenderer would,
for any data a view can answer with."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail

from escrow.api.renderers import JSONRenderer

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\u2028\u2029\"\\")),
    st.decimals(allow_nan=False, places=2, min_value=-10**12, max_value=10**12),
    st.datetimes(timezones=st.just(UTC)), st.dates(), st.times(), st.timedeltas(max_value=timedelta(days=999)),
    st.uuids(), st.builds(ErrorDetail, st.text(max_size=20), st.sampled_from(["invalid", "required"])),
)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=300)
@given(documents)
def test_the_same_bytes_as_drfs_renderer(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_lazy_strings_odd_keys_and_indentation_render_as_drf_renders_them():
    for data in ({"message": gettext_lazy("Not found.")}, {"lines": "a\u2028b", "paragraphs": "c\u2029d"}, {1: "an integer key"}, {"big": 2**80},
                 {"at": datetime(2026, 12, 7, 19, 1, 2, 345678, tzinfo=UTC), "on": date(2026, 1, 2),
                  "time": time(1, 2, 3, 456789), "id": uuid.UUID(int=7), "amount": Decimal("10.50")}):
        assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)
    data = {"a": [1, {"b": "\u2028"}]}
    assert JSONRenderer().render(data, "application/json; indent=4") == renderers.JSONRenderer().render(
        data, "application/json; indent=4")
    assert b"\n    " in JSONRenderer().render(data, "application/json; indent=4")
    assert JSONRenderer().render(None) == b""
