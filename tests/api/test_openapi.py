"""The OpenAPI 3.1 document at /v1/openapi.json matches what /v1/ serves: schemathesis runs
a bounded number of examples per operation against a live server and finds no 5xx and no
status, content type, header or body that disagrees with the schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.plans import account_get_for_user
from api.keys import apikey_create
from tests.api.conftest import StudioServer
from tests.factories import make_generation
from tests.pipeline import make_finished

EXAMPLES = 15  # per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(transactional_db: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("fuzz", password="pw-fuzz-123")
    plan = account_get_for_user(user).plan
    plan.api_requests_per_minute = plan.api_creates_per_minute = 100_000
    plan.save()
    make_finished(user)
    make_generation(user, state="running")
    server = StudioServer()
    schema = schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json")
    schema.fuzz_headers = {"Authorization": f"Bearer {apikey_create(owner=user).secret}"}
    yield schema
    server.close()


def test_the_api_agrees_with_its_openapi_document(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=api_schema.fuzz_headers, checks=CHECKS)

        run()


def test_the_document_is_openapi_3_1_and_names_every_route(client):
    document = client.get("/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert sorted(document["paths"]) == [
        "/videos",
        "/videos/edits",
        "/videos/extensions",
        "/videos/{video_id}",
        "/videos/{video_id}/content",
        "/videos/{video_id}/remix",
    ]
