"""The OpenAPI schema says what the API does: what it answers, what it accepts, where its docs come
from. (Generated clients and schemathesis check it from the outside: tests/clients.)"""

import re
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests import builders
from tests.api.conftest import client_for
from tests.helpers import db_snapshot

SIGNED_IN_WRITES = ("post", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def money_pattern(schema) -> str:
    return schema["components"]["schemas"]["MilestoneTermsRequest"]["properties"]["amount"]["pattern"]


def test_every_operation_with_a_bearer_token_documents_401_and_every_object_operation_404(schema):
    for path, method, operation in operations(schema):
        if operation.get("security") and {"bearerAuth": []} in operation["security"]:
            assert "401" in operation["responses"], (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)


def test_every_error_answer_in_the_schema_is_the_one_error_shape(schema):
    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")) and path != "/api/v1/health/":
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_signed_in_posts_declare_the_idempotency_key_and_the_replay_header(schema):
    posts = [(path, op) for path, method, op in operations(schema)
             if method == "post" and {"bearerAuth": []} in op.get("security", [])
             and not path.startswith("/api/v1/auth/")]
    assert len(posts) > 15
    for path, operation in posts:
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
        assert {"409", "422"} <= set(operation["responses"]), path
        for code, response in operation["responses"].items():
            assert "Idempotent-Replayed" in response.get("headers", {}), (path, code)


def test_request_bodies_are_json_only_but_the_evidence_upload(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            media = {"multipart/form-data"} if path == "/api/v1/disputes/{id}/evidence/" else {"application/json"}
            assert set(operation["requestBody"]["content"]) == media, (method, path)
            assert "415" in operation["responses"], (method, path)


def test_a_form_encoded_body_is_415_and_creates_nothing(as_user):
    client = as_user()
    before = db_snapshot()
    response = client.post("/api/v1/projects/", "title=x&total_amount=10&seller_email=s%40example.com",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert db_snapshot() == before


def test_the_milestones_list_is_the_plain_array_the_schema_declares(schema, db):
    project = builders.funded()
    operation = schema["paths"]["/api/v1/projects/{id}/milestones/"]["get"]
    declared = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert declared == {"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}}
    answer = client_for(project.buyer).get(f"/api/v1/projects/{project.pk}/milestones/")
    assert answer.status_code == 200
    assert isinstance(answer.json(), list)
    assert [m["id"] for m in answer.json()] == [str(pk) for pk in project.milestones.order_by(
        "order_index").values_list("pk", flat=True)]
    created = schema["paths"]["/api/v1/projects/{id}/milestones/"]["post"]["responses"]
    assert "200" not in created and created["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Milestone"}


def test_a_project_detail_types_its_milestones(schema):
    milestones = schema["components"]["schemas"]["ProjectDetail"]["properties"]["milestones"]
    assert milestones["items"] == {"$ref": "#/components/schemas/Milestone"}


def test_query_enums_are_the_components_and_ordering_values_have_names(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/projects/"]["get"]["parameters"]}
    assert parameters["status"] == {"$ref": "#/components/schemas/ProjectStatusEnum"}
    ordering = parameters["ordering"]
    names = dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True))
    assert names["-created_at"] == "CREATED_AT_DESC" and names["created_at"] == "CREATED_AT"
    assert len(set(names.values())) == len(names)
    assert not [name for name in schema["components"]["schemas"] if name.endswith("RequestRequest")]


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5"])
def test_a_page_that_is_not_a_whole_number_from_1_is_a_400_naming_page(as_user, page, schema):
    response = as_user().get("/api/v1/projects/", {"page": page})
    assert response.status_code == 400
    assert "page" in response.json()["error"]["fields"]
    page_parameter = next(p for p in schema["paths"]["/api/v1/projects/"]["get"]["parameters"] if p["name"] == "page")
    assert page_parameter["schema"]["minimum"] == 1


def test_a_page_past_the_last_is_the_documented_404(as_user, schema):
    response = as_user().get("/api/v1/projects/", {"page": 2})
    assert response.status_code == 404
    assert "404" in schema["paths"]["/api/v1/projects/"]["get"]["responses"]


@pytest.mark.parametrize("amount", ["-1", "-0.01", "1.234", "0", "0.00", "", "12345678901234"])
def test_negative_zero_overlong_or_over_precise_amounts_are_refused_by_pattern_and_api(schema, anonymous, amount, db):
    assert not re.search(money_pattern(schema), amount)
    response = anonymous.get("/api/v1/commission/quote/", {"amount": amount, "currency": "USD"})
    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_amount_the_pattern_allows_is_accepted(schema, anonymous, data, db):
    amount = data.draw(st.from_regex(money_pattern(schema), fullmatch=True))
    response = anonymous.get("/api/v1/commission/quote/", {"amount": amount, "currency": "USD"})
    assert response.status_code == 200, response.json()
    assert Decimal(response.json()["amount"]) == Decimal(amount)


def test_swagger_ui_comes_from_this_server_not_a_cdn(anonymous):
    page = anonymous.get("/api/v1/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


def test_every_operation_has_a_summary_a_description_and_a_declared_tag(schema):
    tags = {tag["name"] for tag in schema["tags"]}
    for path, method, operation in operations(schema):
        assert operation.get("summary") and operation.get("description"), (method, path)
        assert "EscrowAPIMixin" not in operation["description"], (method, path)
        assert set(operation["tags"]) <= tags, (method, path)


def test_the_app_itself_serves_swagger_uis_scripts(settings, tmp_path):
    """After collectstatic (as deployed), from the app's own process: no file server, no CDN."""
    from django.core.management import call_command
    from django.test import Client

    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    response = Client().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert b"SwaggerUI" in b"".join(response.streaming_content)


def test_every_operation_but_health_declares_a_client_error(schema):
    """Redocly's operation-4xx-response, with its one exception (tests/clients/redocly.yaml)."""
    for path, method, operation in operations(schema):
        client_errors = [code for code in operation["responses"] if code.startswith("4")]
        assert bool(client_errors) == (path != "/api/v1/health/"), (method, path)
