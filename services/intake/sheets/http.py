"""Intake's spreadsheet routes: templates, starting an import, an import's progress."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from services.intake import store
from services.intake.sheets import reader
from services.intake.sheets.columns import SHEET_TYPES, sheet_type
from services.intake.sheets.jobs import Importer
from services.intake.sheets.template import example_row, template_workbook
from shared.errors import Forbidden, NotFound, TooLarge, invalid
from shared.http import bearer_principal, json_response
from shared.openapi import AUTHENTICATED, error_responses
from shared.settings import import_limits

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Limits of one upload (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS): a file size and a row count.
MAX_BYTES, MAX_ROWS = import_limits().max_bytes, import_limits().max_rows

router = APIRouter(prefix="/v1/imports", tags=["spreadsheets"])
# A template is named by its sheet (`visits`) or by its event type (`visit-logged`).
SheetName = Literal[  # type: ignore[valid-type]
    tuple(SHEET_TYPES) + tuple(s.event_type for s in SHEET_TYPES.values())
]


class ImportStarted(BaseModel):
    import_id: str


class ImportRowError(BaseModel):
    row: int = Field(description="the row number as the spreadsheet application shows it")
    column: str = Field(description="the column as the file names it ('' for the whole row)")
    field: str = Field(description="the contract's field path")
    code: str
    message: str = Field(description="Chinese / English")


class ImportStatus(BaseModel):
    import_id: str
    type: str
    agency_id: str
    status: Literal["running", "done", "failed"]
    rows: int = Field(description="data rows in the file")
    processed: int
    accepted: int
    duplicate: int
    rejected: int
    errors: list[ImportRowError]
    errors_omitted: int = Field(description="errors beyond the stored cap, not listed")
    message: str | None
    started_at: datetime
    finished_at: datetime | None


@router.get(
    "/templates/{sheet}.xlsx",
    summary="The XLSX template of one kind of sheet",
    operation_id="getImportTemplate",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the template"}},
)
async def template(sheet: Annotated[SheetName, Path()]) -> Response:  # type: ignore[valid-type]
    found = sheet_type(sheet)
    assert found is not None  # the path parameter admits only known names
    return Response(
        template_workbook(found),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{sheet}.xlsx"'},
    )


@router.post(
    "",
    status_code=202,
    summary="Import a spreadsheet (XLSX, or CSV in UTF-8 or GB18030) in the background",
    operation_id="postImport",
    response_model=ImportStarted,
    responses={
        **error_responses(*AUTHENTICATED),
        401: {"description": "no or bad token"},
        403: {"description": "not the caller's agency"},
        413: {"description": "file or row count over the limit"},
        422: {"description": "unknown type, unreadable file, header missing or unknown"},
    },
    # The form is read by hand, to refuse an oversized upload before reading it.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "type"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "type": {"type": "string", "enum": list(SHEET_TYPES)},
                            "agency": {
                                "type": "string",
                                "description": "the agency the rows are for (default: the "
                                "caller's own)",
                            },
                        },
                    }
                }
            },
        }
    },
)
async def post_import(request: Request) -> Response:
    principal = bearer_principal(request, request.app.state.token_secrets)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES + 64 * 1024:
        raise _too_large()
    form = await request.form(max_files=1, max_fields=5)
    upload, kind = form.get("file"), form.get("type")
    if not isinstance(upload, UploadFile):
        raise _invalid("file", "missing_field", "attach the spreadsheet as the form field 'file'")
    sheet = sheet_type(kind) if isinstance(kind, str) else None
    if sheet is None:
        raise _invalid("type", "invalid_value", f"type is one of {', '.join(SHEET_TYPES)}")
    agency = form.get("agency") or principal.agency_id
    if not isinstance(agency, str):
        raise _invalid("agency", "missing_field", "name the agency the rows are for")
    regions = await store.regions_of(request.app.state.intake.pool, {agency})
    if not principal.may_act_for(agency, regions.get(agency)):
        raise Forbidden(f"not allowed to import for agency {agency!r}")
    content = await upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise _too_large()
    try:
        table = await asyncio.to_thread(_table, sheet.name, content)
    except reader.FileError as exc:
        raise _invalid("file", exc.code, exc.message) from None
    if len(table.rows) > MAX_ROWS:
        raise TooLarge(
            f"文件超过 {MAX_ROWS} 行，请拆分后导入 / over {MAX_ROWS} rows: split the file",
        )
    importer: Importer = request.app.state.importer
    import_id = await importer.start(principal, sheet, agency, table, upload.filename or "")
    return json_response({"import_id": import_id}, 202)


def _table(name: str, content: bytes) -> reader.Table:
    sheet = SHEET_TYPES[name]
    return reader.read_file(sheet, content, example_row(sheet))


@router.get(
    "/{import_id}",
    summary="An import's progress and its rejected rows",
    operation_id="getImport",
    response_model=ImportStatus,
    responses={
        **error_responses(*AUTHENTICATED),
        403: {"description": "not the caller's import"},
        404: {"description": "none"},
    },
)
async def get_import(request: Request, import_id: str) -> Response:
    principal = bearer_principal(request, request.app.state.token_secrets)
    importer: Importer = request.app.state.importer
    record = await importer.status(import_id)
    if record is None:
        raise NotFound(f"no import {import_id!r}")
    if principal.role != "admin" and record["started_by"] != principal.caller:
        raise Forbidden("an import is read by whoever started it")
    return json_response(_status(record))


def _status(record: dict[str, Any]) -> dict[str, Any]:
    errors = record["errors"]
    return {
        "import_id": str(record["import_id"]),
        "type": record["sheet_type"],
        "agency_id": record["agency_id"],
        "status": record["status"],
        "rows": record["rows"],
        "processed": record["processed"],
        "accepted": record["accepted"],
        "duplicate": record["duplicate"],
        "rejected": record["rejected"],
        "errors": errors if isinstance(errors, list) else orjson.loads(errors),
        "errors_omitted": record["errors_omitted"],
        "message": record["message"],
        "started_at": record["started_at"].isoformat(),
        "finished_at": record["finished_at"].isoformat() if record["finished_at"] else None,
    }


def _too_large() -> TooLarge:
    return TooLarge(
        f"文件超过 {MAX_BYTES} 字节，请拆分后导入 / file over {MAX_BYTES} bytes: split it",
    )


def _invalid(path: str, code: str, message: str) -> Exception:
    return invalid(path, message, code)
