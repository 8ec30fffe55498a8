"""The API against its own OpenAPI document, with schemathesis: for every operation, a
bounded number of generated requests (valid and invalid), signed in as the DPO, on a
database with the demo organisation and an incident. No request may answer 5xx, and every
response must match the schema it is documented with."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 8  # per operation: bounded, so CI stays quick; every operation is included


def _summary(error: BaseException) -> str:
    parts = [error, *getattr(error, "exceptions", ())]
    lines = [line for part in parts for line in str(part).splitlines() if line.strip()]
    return " | ".join(lines[:6])[:500]


def test_every_operation_answers_within_its_schema(org: dict[str, Any]) -> None:
    incident = IncidentFactory.create(reporter=org["reporter"])
    token, _ = Token.objects.get_or_create(user=org["dpo"])
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here, failing the test
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def run(case: Any) -> None:
            if "reference" in (case.path_parameters or {}):
                case.path_parameters["reference"] = incident.reference  # a real one, in scope
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # collected (schemathesis raises groups), so one run names them all
            failures.append(f"{operation.method.upper()} {operation.path}: {_summary(error)}")
    assert operations > 40
    assert not failures, "\n\n".join(failures)
