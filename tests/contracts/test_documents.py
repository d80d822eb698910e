"""Each service's documents pass the integrators' own validators: the official AsyncAPI
parser (@asyncapi/parser from npm) with zero errors, and openapi-spec-validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from tests.contracts.conftest import node
from tests.support.documents import APPS, served


def test_the_official_asyncapi_parser_accepts_every_document(
    asyncapi_documents: dict[str, Any], tmp_path: Path
) -> None:
    files = []
    for name, document in asyncapi_documents.items():
        files.append(tmp_path / f"{name}.asyncapi.json")
        files[-1].write_text(json.dumps(document))
    run = node("validate.mjs", *map(str, files))
    results = {
        Path(r["file"]).name.split(".")[0]: r for r in map(json.loads, run.stdout.split("\n")[:-1])
    }
    for name, result in results.items():
        print(f"{name}: {result['errors']} errors, {result['warnings']} warnings")
    assert set(results) == set(asyncapi_documents), run.stderr
    assert all(r["parsed"] and r["errors"] == 0 for r in results.values()), [
        d for r in results.values() for d in r["diagnostics"]
    ]
    assert run.returncode == 0, run.stderr


def test_the_parser_would_see_an_invalid_document(
    asyncapi_documents: dict[str, Any], tmp_path: Path
) -> None:
    """The check above can fail: a discriminator object (what pydantic emits, and what the
    documents once carried) is an error to the parser."""
    broken = json.loads(json.dumps(asyncapi_documents["intake"]))
    schema = next(iter(broken["components"]["schemas"].values()))
    schema["discriminator"] = {"propertyName": "type"}
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    run = node("validate.mjs", str(tmp_path / "broken.json"))
    assert run.returncode == 1 and json.loads(run.stdout)["errors"] >= 1


def test_every_channel_a_service_uses_is_in_its_document(
    asyncapi_documents: dict[str, Any],
) -> None:
    addresses = {
        name: {c["address"] for c in doc["channels"].values()}
        for name, doc in asyncapi_documents.items()
    }
    assert "intake.{agency_id}.visit-logged" in addresses["intake"]
    assert "events.{region_code}.{agency_id}.visit-logged" in addresses["intake"]
    assert None in addresses["intake"]  # the reply, into the requester's inbox
    assert "reports.{region}.{period}" in addresses["reporting"]
    assert "deadletter.{service}.visit-logged" in addresses["reporting"]
    assert "events.{region_code}.{agency_id}.visit-overdue" in addresses["scheduling"]
    schemes = asyncapi_documents["intake"]["components"]["securitySchemes"]
    assert schemes["agencyUser"]["type"] == "userPassword"
    submit = asyncapi_documents["intake"]["operations"]["submitVisitLogged"]
    assert submit["action"] == "receive" and submit["reply"]


def test_openapi_spec_validator_accepts_every_document(
    openapi_documents: dict[str, Any],
) -> None:
    for document in openapi_documents.values():
        validate(document)


async def test_each_service_publishes_both_documents_as_pages(
    asyncapi_documents: dict[str, Any],
) -> None:
    for name, make in APPS.items():
        app = make()
        page = await served(app, "/asyncapi")
        assert page.headers["content-type"].startswith("text/html")
        for operation, spec in asyncapi_documents[name]["operations"].items():
            assert operation in page.text and spec["action"] in page.text
        docs = await served(app, "/docs")
        assert docs.headers["content-type"].startswith("text/html")
        assert "/openapi.json" in docs.text and "cdn." not in docs.text  # works offline
        script = await served(app, "/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.text
