"""Every endpoint says everything an integrator's generated client needs: a readable
operation id (it becomes the method name), a declared JSON answer (it becomes the typed
model), the error answers with their shape, and the bearer scheme where a token is needed.

Adding an endpoint: give its handler a verb_noun name (post_imports -> postImports), a
`response_model=` (or `responses={2xx: {"model": ...}}`) and `responses=error_responses(...)`
for the errors it answers beyond the router's. An endpoint answering HTML or a file goes
into NOT_JSON below, with its media type; a /v1 endpoint that needs no token, into PUBLIC."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.events import incoming_events
from shared.http import STATUS
from tests.support.documents import documents

# (method, path) -> media type of the success answer, for endpoints that do not answer JSON.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_JSON: dict[tuple[str, str], str] = {
    ("get", "/asyncapi"): "text/html",
    ("get", "/v1/reports/summary.csv"): "text/csv",
    ("get", "/v1/reports/summary.xlsx"): XLSX,
    ("get", "/v1/reports/pairings/{pairing_id}.xlsx"): XLSX,
    ("get", "/v1/imports/templates/{sheet}.xlsx"): XLSX,
}
# /v1 endpoints anyone may call, without a token.
PUBLIC = {("get", "/v1/imports/templates/{sheet}.xlsx")}
# Error answers that are not the error shape: intake answers per-event results with 409
# (a lone conflict) and 422 (every event rejected); /readyz answers its checks with 503.
RESULT_ERRORS = {
    ("post", "/v1/events", "409"),
    ("post", "/v1/events", "422"),
    ("get", "/readyz", "503"),
}
READABLE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")


@pytest.fixture
async def openapi(service_env: None) -> dict[str, Any]:
    return await documents("/openapi.json")


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _declared(schema: dict[str, Any]) -> bool:
    """A schema that says something: a $ref, a union, a typed value (not FastAPI's {})."""
    return bool({"$ref", "anyOf", "oneOf", "type", "properties"} & set(schema))


async def test_every_operation_id_is_readable_and_unique(openapi: dict[str, Any]) -> None:
    for service, doc in openapi.items():
        ids = [op.get("operationId", "") for _, _, op in _operations(doc)]
        unreadable = [i for i in ids if not READABLE.match(i)]
        assert not unreadable, f"{service}: operation ids must be camelCase verbs: {unreadable}"
        assert len(ids) == len(set(ids)), f"{service}: duplicate operation ids"
    assert {"postEvents", "getEvent"} <= {
        op["operationId"] for _, _, op in _operations(openapi["intake"])
    }
    assert {"getSummary", "getPairingReport"} <= {
        op["operationId"] for _, _, op in _operations(openapi["reporting"])
    }


async def test_every_json_endpoint_declares_its_answer(openapi: dict[str, Any]) -> None:
    missing = []
    for service, doc in openapi.items():
        for method, path, op in _operations(doc):
            success = {k: v for k, v in op["responses"].items() if k.startswith("2")}
            assert success, f"{service} {method} {path}: no success answer"
            for status, response in success.items():
                content = response.get("content", {})
                if (method, path) in NOT_JSON:
                    assert NOT_JSON[method, path] in content, (service, method, path)
                    continue
                schema = content.get("application/json", {}).get("schema", {})
                if not _declared(schema):
                    missing.append(f"{service} {method.upper()} {path} {status}")
    assert not missing, (
        "declare a response_model (tests/unit/test_openapi_contract.py says how): "
        + ", ".join(missing)
    )


async def test_every_error_answer_has_the_error_shape(openapi: dict[str, Any]) -> None:
    for service, doc in openapi.items():
        for method, path, op in _operations(doc):
            for status, response in op["responses"].items():
                if status[0] not in "45":
                    continue
                assert int(status) in STATUS.values(), (
                    f"{service} {method} {path}: {status} undocumented"
                )
                schema = response["content"]["application/json"]["schema"]
                if (method, path, status) in RESULT_ERRORS:
                    assert _declared(schema)
                else:
                    assert schema == {"$ref": "#/components/schemas/ErrorAnswer"}, (path, status)


async def test_every_endpoint_needing_a_token_says_so(openapi: dict[str, Any]) -> None:
    for service, doc in openapi.items():
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        for method, path, op in _operations(doc):
            if path.startswith("/v1/") and (method, path) not in PUBLIC:
                assert op.get("security") == [{"bearer": []}], f"{service} {method} {path}"
                for status in ("401", "429", "503"):
                    assert status in op["responses"], f"{service} {method} {path}: {status}"
            else:
                assert "security" not in op, f"{service} {method} {path}"


async def test_the_summary_names_every_kpi_of_the_spec(openapi: dict[str, Any]) -> None:
    schemas = openapi["reporting"]["components"]["schemas"]
    kpis = set(schemas["Summary"]["properties"])
    spec_3_5 = {
        "agencies", "pairings_active", "workers_total", "workers_licensed", "licensed_rate",
        "clients_registered", "clients_in_difficulty", "clients_served",
        "clients_served_by_service", "visits_by_service", "visit_minutes",
        "activities_by_kind", "activity_attendance_by_kind", "trainings_by_kind",
        "training_attendances", "training_hours", "staff_days_dispatched",
        "staff_days_target", "milestones", "visits_scheduled", "visits_overdue", "as_of",
    }  # fmt: skip
    assert spec_3_5 <= kpis, spec_3_5 - kpis
    assert set(schemas["Agencies"]["properties"]) == {"assisting", "assisted", "incubated"}


async def test_request_examples_are_valid_events(openapi: dict[str, Any]) -> None:
    body = openapi["intake"]["paths"]["/v1/events"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    assert examples
    for example in examples.values():
        value = example["value"]
        for event in value if isinstance(value, list) else [value]:
            incoming_events.validate_python(event)


async def test_the_summary_example_is_a_summary(openapi: dict[str, Any]) -> None:
    """The reference programme's summary in the document names only declared fields, each
    with a value of its declared type (a KPI added later may be missing from it)."""
    from pydantic import TypeAdapter

    from services.reporting.schemas import Summary

    ok = openapi["reporting"]["paths"]["/v1/reports/summary"]["get"]["responses"]["200"]
    example = ok["content"]["application/json"]["examples"]["jilin"]["value"]
    fields = {field.alias or name: field for name, field in Summary.model_fields.items()}
    assert set(example) <= set(fields), set(example) - set(fields)
    for key, value in example.items():
        TypeAdapter(fields[key].annotation).validate_python(value)
    assert example["clients_served_by_service"]["home-medication"] == 69
