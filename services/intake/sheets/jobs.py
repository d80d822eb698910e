"""Running an import in the background: rows to events in batches, each batch through
the same use case as POST /v1/events (Intake.submit: validation, authorisation, storage),
progress and rejected rows kept in the `imports` table.

Restarts: the file is not kept. An import whose runner stops (intake shut down or
killed) is failed with code `interrupted`: on shutdown at once, after a crash once its
heartbeat is older than `stale_s` (whichever intake process answers the GET). Uploading
the file again finishes it: the rows already stored answer `duplicate`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from services.intake.sheets.columns import SheetType
from services.intake.sheets.reader import Table
from services.intake.sheets.rows import Converted, Converter, RowError
from services.intake.usecases import Intake
from shared.db import unavailable
from shared.errors import Refusal, Unavailable, field_error
from shared.tokens import Principal

log = logging.getLogger(__name__)
MAX_STORED_ERRORS = 10_000
Batch = tuple[list[Converted], "asyncio.Task[list[dict[str, Any]]]"]
INTERRUPTED = "interrupted"


@dataclass
class Progress:
    processed: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: int = 0  # errors stored so far


@dataclass
class Importer:
    pool: asyncpg.Pool
    intake: Intake
    batch_size: int = 1000  # events per Intake.submit, as POST /v1/events takes them
    parallel: int = 2  # batches with intake at once
    stale_s: float = 120.0
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def start(
        self,
        principal: Principal,
        sheet: SheetType,
        agency_id: str,
        table: Table,
        file_name: str,
    ) -> str:
        import_id = str(uuid.uuid4())
        await self.pool.execute(
            "INSERT INTO imports (import_id, agency_id, sheet_type, started_by, file_name,"
            " status, rows) VALUES ($1, $2, $3, $4, $5, 'running', $6)",
            uuid.UUID(import_id),
            agency_id,
            sheet.name,
            principal.caller,
            file_name[:200],
            len(table.rows),
        )
        task = asyncio.create_task(
            self._run(import_id, principal, sheet, agency_id, table), name=f"import-{import_id}"
        )
        self.tasks[import_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(import_id, None))
        return import_id

    async def stop(self) -> None:
        """On shutdown: stop the running imports and say so in their records."""
        running = list(self.tasks.items())
        for _, task in running:
            task.cancel()
        for import_id, task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):
                await self._fail(import_id, INTERRUPTED, "intake stopped during the import")

    async def _run(
        self, import_id: str, principal: Principal, sheet: SheetType, agency: str, table: Table
    ) -> None:
        """Convert rows while up to `parallel` batches are with intake; settle the batches
        in order, so the progress and the errors are written in row order."""
        progress = Progress()
        in_flight: deque[Batch] = deque()
        try:
            converter = Converter(sheet, table, agency, self.intake.vault.content_key())
            pending: list[Converted] = []
            for row, cells in table.rows:
                pending.append(converter.convert(row, cells))
                if len(pending) % 100 == 0:
                    await asyncio.sleep(0)  # let the batches in flight move on meanwhile
                if len(pending) >= self.batch_size:
                    in_flight.append(self._send(import_id, principal, pending))
                    pending = []
                    if len(in_flight) >= self.parallel:
                        await self._settle(import_id, converter, in_flight.popleft(), progress)
            if pending:
                in_flight.append(self._send(import_id, principal, pending))
            while in_flight:
                await self._settle(import_id, converter, in_flight.popleft(), progress)
            await self.pool.execute(
                "UPDATE imports SET status = 'done', finished_at = now(), heartbeat_at = now()"
                " WHERE import_id = $1",
                uuid.UUID(import_id),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("import %s failed", import_id)
            await self._fail(import_id, "internal", f"the import stopped: {exc}")
        finally:
            for _, task in in_flight:
                task.cancel()

    def _send(self, import_id: str, principal: Principal, pending: list[Converted]) -> Batch:
        events = [c.event for c in pending if c.event is not None]
        return pending, asyncio.create_task(self._submit(import_id, principal, events))

    async def _settle(
        self, import_id: str, converter: Converter, batch: Batch, progress: Progress
    ) -> None:
        pending, task = batch
        results = await task
        events = [c for c in pending if c.event is not None]
        new_errors: list[RowError] = []
        for converted in pending:
            new_errors += converted.errors
        for converted, result in zip(events, results, strict=True):
            status = result.get("status")
            if status == "duplicate":
                progress.duplicate += 1
            elif status in ("rejected", "conflict"):
                converted.errors = converter.contract_errors(converted.row, result["errors"])
                new_errors += converted.errors
            else:  # accepted (or a future status that stores the event, e.g. a correction)
                progress.accepted += 1
        progress.rejected += len({e.row for e in new_errors})
        progress.processed += len(pending)
        new_errors.sort(key=lambda e: e.row)
        room = max(0, MAX_STORED_ERRORS - progress.errors)
        kept, omitted = new_errors[:room], max(0, len(new_errors) - room)
        progress.errors += len(kept)
        await self.pool.execute(
            "UPDATE imports SET processed = $2, accepted = $3, duplicate = $4, rejected = $5,"
            " errors = errors || $6::jsonb, errors_omitted = errors_omitted + $7,"
            " heartbeat_at = now() WHERE import_id = $1",
            uuid.UUID(import_id),
            progress.processed,
            progress.accepted,
            progress.duplicate,
            progress.rejected,
            orjson.dumps([e.as_json() for e in kept]).decode(),
            omitted,
        )

    async def _submit(
        self, import_id: str, principal: Principal, events: list[Any]
    ) -> list[dict[str, Any]]:
        """Intake's per-event results for one batch, waiting out back-pressure."""
        if not events:
            return []
        while True:
            try:
                request = await self.intake.submit(orjson.dumps(events), principal)
            except Unavailable as exc:  # back-pressure: EVENTS is behind; wait, then again
                await self._wait(import_id, float((exc.headers or {}).get("Retry-After", "1")))
                continue
            except Refusal as exc:  # the batch as a whole (e.g. not the caller's agency)
                error = field_error("", exc.message, exc.code)
                return [{"status": "rejected", "errors": [error]} for _ in events]
            except Exception as exc:
                if not unavailable(exc):
                    raise
                await self._wait(import_id, 2.0)  # the database is away: wait it out
                continue
            return [sub.result() for sub in request.submissions]

    async def _wait(self, import_id: str, seconds: float) -> None:
        with contextlib.suppress(Exception):
            await self._heartbeat(import_id)
        await asyncio.sleep(seconds)

    async def _heartbeat(self, import_id: str) -> None:
        await self.pool.execute(
            "UPDATE imports SET heartbeat_at = now() WHERE import_id = $1", uuid.UUID(import_id)
        )

    async def _fail(self, import_id: str, code: str, message: str) -> None:
        await self.pool.execute(
            "UPDATE imports SET status = 'failed', message = $2, finished_at = now()"
            " WHERE import_id = $1 AND status = 'running'",
            uuid.UUID(import_id),
            f"{code}: {message}",
        )

    async def status(self, import_id: str) -> dict[str, Any] | None:
        """An import's record; a running one whose runner went silent is failed first."""
        try:
            key = uuid.UUID(import_id)
        except ValueError:
            return None
        row = await self.pool.fetchrow("SELECT * FROM imports WHERE import_id = $1", key)
        if row is None:
            return None
        stale = datetime.now(UTC) - timedelta(seconds=self.stale_s)
        if (
            row["status"] == "running"
            and import_id not in self.tasks
            and row["heartbeat_at"] < stale
        ):
            await self._fail(
                import_id,
                INTERRUPTED,
                "intake restarted during the import; upload the file again"
                " (rows already stored answer duplicate)",
            )
            row = await self.pool.fetchrow("SELECT * FROM imports WHERE import_id = $1", key)
        return dict(row)
