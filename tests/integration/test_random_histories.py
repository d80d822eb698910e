"""Random histories through the real stack (issue #13, SPEC 3.6 and 3.7): registrations and
re-registrations with region moves and role changes, pairings, workers and certifications,
clients, facts with corrections and retractions, in any order with repeats, posted to
intake in random requests. `reconcile` finds no difference once reporting has applied
them, after a rebuild, after a rebuild SIGKILLed half-way (the live figures unchanged),
and after the rebuild is then run to the end.

The stack (NATS, intake, reporting) starts once for the module. Each example has its own
ids and its own prefecture (tests/support/histories.py); reconcile checks that prefecture.
The examples are derandomized, so every run tries the same histories;
QIANSHOU_HISTORIES=N tries N random ones instead (to explore, not in CI)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import event as statistic
from hypothesis import strategies as st

from deploy.natsauth import NatsUsers
from deploy.natsserver import LocalNats, free_port
from deploy.stack import SERVICES, Stack
from services.reporting.handlers import CONSUMER
from services.reporting.rebuild import WORK_SCHEMA
from services.reporting.reconcile.run import Outcome, read_events, reconcile
from shared.clock import SystemClock, today_in_china
from shared.settings import with_database
from shared.tokens import Principal, issue
from tests.conftest import TEST_PII_KEY, TEST_SECRET
from tests.support.histories import History, Names, fresh_names, histories
from tests.support.polling import eventually

EXPLORE = int(os.environ.get("QIANSHOU_HISTORIES", "0"))


@dataclass
class Live:
    stack: Stack
    database: str  # reporting's
    admin: str  # a bearer token
    nats_password: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("histories")
    users = NatsUsers.load(folder / "nats-users.json")
    server = LocalNats(folder / "nats", free_port(), users=users)
    server.start()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    stack = Stack(
        data_dir=folder / "data",
        nats_url=server.url,
        database_url=pg_url,
        ports={name: free_port() for name in SERVICES},
        db_prefix=prefix,
        nats_users=users,
        log_dir=folder / "logs",
        extra_env={"QIANSHOU_TOKEN_SECRETS": TEST_SECRET, "QIANSHOU_PII_KEY": TEST_PII_KEY},
    )
    try:
        stack.up("intake", "reporting")
        yield Live(
            stack,
            with_database(pg_url, f"{prefix}_reporting"),
            issue(TEST_SECRET, Principal(role="admin"), 3600),
            users.services["admin"],
        )
    finally:
        stack.stop()
        server.stop()
        _print_tracebacks(folder / "logs")


def _print_tracebacks(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            print(f"--- {log.name} (last 3000 chars)\n{text[-3000:]}")


@settings(
    max_examples=EXPLORE or 5,
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_random_histories_reconcile_applied_rebuilt_and_after_a_killed_rebuild(
    live: Live, data: st.DataObject
) -> None:
    names = fresh_names()
    history = data.draw(histories(names), label="history")
    phase = data.draw(st.sampled_from(["replaying", "swapping"]), label="rebuild killed while")
    statistic(f"rebuild killed while {phase}")
    note(f"events by type: {history.kinds()}; {history.sent} sent in {len(history.requests)}")
    asyncio.run(_check(live, names, history, phase))


async def _check(live: Live, names: Names, history: History, phase: str) -> None:
    await _send(live, history)
    _no_difference(await _reconcile(live, names), "applied")
    figures = _figures(live, names)

    _rebuild(live)
    _no_difference(await _reconcile(live, names), "after a rebuild")
    assert _figures(live, names) == figures, "a rebuild changed the figures"

    await _kill_rebuild(live, phase)
    assert _figures(live, names) == figures, f"a rebuild killed while {phase} changed figures"
    _no_difference(await _reconcile(live, names), f"after a rebuild killed while {phase}")

    _rebuild(live)
    _no_difference(await _reconcile(live, names), "after the killed rebuild was run again")
    assert _figures(live, names) == figures


async def _send(live: Live, history: History) -> None:
    """Post each request as admin; wait until reporting has applied every accepted event."""
    accepted: set[tuple[str, str]] = set()
    for request in history.requests:
        resp = httpx.post(
            f"{live.stack.services['intake'].url}/v1/events",
            content=orjson.dumps(request),
            headers={"Authorization": f"Bearer {live.admin}"},
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        for event, answer in zip(request, resp.json(), strict=True):
            # Valid events of the contract, each id with one content: refused only when
            # they come before the pairing they need (tests/support/histories.py).
            assert answer["status"] in ("accepted", "duplicate") or _before_its_pairing(
                event, answer
            ), (event, answer)
            if answer["status"] == "accepted":
                accepted.add((event["agency_id"], event["event_id"]))
    conn = await asyncpg.connect(live.database)
    try:

        async def applied() -> bool:
            count = await conn.fetchval(
                "SELECT count(*) FROM processed_events p"
                " JOIN unnest($2::text[], $3::text[]) AS k(a, e)"
                " ON p.agency_id = k.a AND p.event_id = k.e WHERE p.consumer = $1",
                CONSUMER.durable,
                [a for a, _ in accepted],
                [e for _, e in accepted],
            )
            return bool(count == len(accepted))

        await eventually(applied, timeout_s=60, what=f"{len(accepted)} events applied")
    finally:
        await conn.close()


def _before_its_pairing(event: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Intake refuses a visit to a partner's client, and the registration of an agency
    incubated by a pairing, until it knows the pairing (services/intake/authority.py)."""
    needs = {
        "visit-logged": ("forbidden_reference", "client_agency_id"),
        "agency-registered": ("unknown_reference", "incubated_by_pairing_id"),
    }
    code, field = needs.get(event["type"], ("", ""))
    return bool(
        field
        and event["payload"].get(field)
        and answer["status"] == "rejected"
        and [(e["code"], e["path"]) for e in answer["errors"]] == [(code, f"payload.{field}")]
    )


async def _reconcile(live: Live, names: Names) -> Outcome:
    """What `qianshou reporting reconcile --region <the history's prefecture>` does."""
    nc = await nats.connect(
        servers=[live.stack.nats_url or ""], user="admin", password=live.nats_password
    )
    try:
        events = await read_events(nc)
    finally:
        await nc.close()
    pool = await asyncpg.create_pool(live.database, min_size=1, max_size=2)
    assert pool is not None
    try:
        return await reconcile(pool, events, today_in_china(SystemClock()), names.prefix)
    finally:
        await pool.close()


def _no_difference(outcome: Outcome, when: str) -> None:
    shown = "\n".join(d.line() for d in outcome.differences[:30])
    assert outcome.differences == [], f"{len(outcome.differences)} differences {when}:\n{shown}"


def _figures(live: Live, names: Names) -> list[bytes]:
    """Summaries a province would read: byte-identical while nothing new arrives."""
    queries: list[dict[str, str]] = [
        {"region": names.prefix},
        {"region": names.prefix, "breakdown": "region"},
        {"region": names.prefix, "from": "2019-01-01", "to": "2020-12-31"},
        {"agency": names.agency(0)},
        {"pairing": names.pairing(0)},
        {"project": names.project(0)},
    ]
    out = []
    for query in queries:
        resp = httpx.get(
            f"{live.stack.services['reporting'].url}/v1/reports/summary",
            params=query,
            headers={"Authorization": f"Bearer {live.admin}"},
            timeout=30,
        )
        assert resp.status_code in (200, 404), resp.text
        out.append(resp.content)
    return out


def _rebuild_command(live: Live) -> tuple[list[str], dict[str, str]]:
    env = live.stack.service_env("reporting")
    env.pop("QIANSHOU_FAULTS", None)
    env["REPORTING_REBUILD_BATCH"] = "8"  # many batches, each read while the last applies
    return [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"], env


def _rebuild(live: Live) -> None:
    command, env = _rebuild_command(live)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert orjson.loads(done.stdout.strip().splitlines()[-1])["dead_lettered"] == 0


def test_a_second_rebuild_while_one_runs_is_refused(live: Live) -> None:
    """Two rebuilds would drop and fill the same work tables under each other (and park
    every event the other's DROP made fail): the second says so and changes nothing."""
    asyncio.run(_second_rebuild(live))


async def _second_rebuild(live: Live) -> None:
    monitor = await asyncpg.connect(live.database)
    holder = await asyncpg.connect(live.database)  # holds the first rebuild before its swap
    try:
        await holder.execute("BEGIN; LOCK TABLE public.processed_events IN ACCESS SHARE MODE")
        command, env = _rebuild_command(live)
        first = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, start_new_session=True
        )
        await _until(lambda: _waiting_on(monitor, ["public.processed_events"]), monitor, "built")
        second = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, start_new_session=True
        )
        out, _ = await asyncio.wait_for(second.communicate(), 300)
        assert second.returncode == 1, out
        assert "another rebuild is running" in orjson.loads(out.splitlines()[-1])["error"]
        await holder.execute("COMMIT")
        out, _ = await asyncio.wait_for(first.communicate(), 300)
        assert first.returncode == 0, out
        assert orjson.loads(out.splitlines()[-1])["dead_lettered"] == 0
    finally:
        await holder.close()
        await monitor.close()


async def _kill_rebuild(live: Live, phase: str) -> None:
    """Start `qianshou reporting rebuild` and SIGKILL it half-way, at a point made certain
    by holding locks it needs: "replaying" while it fills the tables beside the live ones
    (or, if it filled them already, as its swap begins); "swapping" inside the swap's
    transaction, after it has emptied the live tables and before it commits."""
    live_table = "public.processed_events"  # the swap locks this one first
    work_table = f"{WORK_SCHEMA}.processed_events"  # every replayed batch writes it
    # Polls from outside any transaction: one sees new tables only when it starts.
    monitor = await asyncpg.connect(live.database)
    holder = await asyncpg.connect(live.database)  # holds back the start of the swap
    blocker = await asyncpg.connect(live.database)  # holds back writing the work table

    async def exists() -> bool:
        return bool(await monitor.fetchval("SELECT to_regclass($1) IS NOT NULL", work_table))

    try:
        assert not await exists(), "the last rebuild left its tables behind"
        await holder.execute(f"BEGIN; LOCK TABLE {live_table} IN ACCESS SHARE MODE")
        command, env = _rebuild_command(live)
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, start_new_session=True
        )
        try:
            if phase == "replaying":
                await _until(exists, monitor, "the rebuild made its tables")
                await blocker.execute(f"BEGIN; LOCK TABLE {work_table} IN ACCESS EXCLUSIVE MODE")
                waiting = await _until(
                    lambda: _waiting_on(monitor, [work_table, live_table]),
                    monitor,
                    "the rebuild waits for the work table (or to swap)",
                )
            else:
                await _until(lambda: _waiting_on(monitor, [live_table]), monitor, "rebuilt")
                await blocker.execute(f"BEGIN; LOCK TABLE {work_table} IN ACCESS EXCLUSIVE MODE")
                await holder.execute("COMMIT")  # the swap takes and empties the live tables
                waiting = await _until(
                    lambda: _waiting_on(monitor, [work_table]), monitor, "the swap waits"
                )
            assert proc.returncode is None, "the rebuild ended before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 60) == -signal.SIGKILL
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await holder.close()  # rolls back, if still held
        await blocker.close()
        # Its session ends (rolling back) as soon as it gets the lock and finds no client.
        await _until(lambda: _gone(monitor, waiting), monitor, "the killed session ended")
    finally:
        for conn in (holder, blocker, monitor):
            if not conn.is_closed():
                await conn.close()


async def _until(
    condition: Callable[[], Awaitable[Any]], conn: asyncpg.Connection, what: str
) -> Any:
    """`eventually`, saying what every other session of the database was doing if not."""
    try:
        return await eventually(condition, timeout_s=90, what=what)
    except AssertionError as exc:
        sessions = await conn.fetch(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) AS query"
            " FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        raise AssertionError(f"{exc}; sessions: {[dict(r) for r in sessions]}") from exc


async def _waiting_on(conn: asyncpg.Connection, tables: list[str]) -> int | None:
    """The session waiting for a lock on one of `tables`, if any."""
    pid = await conn.fetchval(
        "SELECT pid FROM pg_locks WHERE NOT granted AND relation = ANY("
        " SELECT to_regclass(t) FROM unnest($1::text[]) AS t) LIMIT 1",
        tables,
    )
    return int(pid) if pid is not None else None


async def _gone(conn: asyncpg.Connection, pid: int) -> bool:
    return not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
