"""`qianshou reporting rebuild` builds beside the live tables and swaps in one transaction:
killed half-way it changes nothing; an event it cannot apply goes to DEADLETTER with its
reason and the rest is rebuilt; events arriving meanwhile are all counted; a successful
rebuild gives byte-identical summaries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable

import asyncpg
import orjson
import pytest
from nats.aio.client import Client

from deploy.stack import Stack
from shared.settings import with_database
from tests.support.events import agency, envelope, visit
from tests.support.intake import answers
from tests.support.polling import eventually
from tests.support.rebuilds import start_rebuild
from tests.support.reports import report

QUERIES = [
    {"region": "22"},
    {"region": "22", "breakdown": "region"},
    {"region": "22", "from": "2019-01-01", "to": "2019-12-31", "breakdown": "quarter"},
    {"agency": "yanghua"},
]


def _visits(stack: Stack, admin: str) -> int:
    counts = report(stack, admin, region="22").json().get("visits_by_service", {})
    return int(sum(counts.values()))


def _figures(stack: Stack, admin: str) -> list[bytes]:
    return [report(stack, admin, **q).content for q in QUERIES]


def _reconciles(stack: Stack) -> bool:
    """`qianshou reporting reconcile` finds every figure of every scope true."""
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "reconcile"],
        env=stack.service_env("reporting"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return done.returncode == 0


# Small batches: the replay goes through many, each fetched and decoded while the one
# before it is applied (a kill lands with a batch in hand and the next one read ahead).
SMALL_BATCH = "16"


def _rebuild(stack: Stack, fault: str = "") -> subprocess.CompletedProcess[str]:
    env = stack.service_env("reporting")
    env["QIANSHOU_FAULTS"] = fault
    env["REPORTING_REBUILD_BATCH"] = SMALL_BATCH
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _history(stack: Stack, token: Callable[..., str]) -> int:
    """Visits, an activity and a few retractions; returns how many visits count."""
    yanghua, admin = token("agency", "yanghua"), token("admin")
    visits = [
        visit(f"c-{n % 40}", agency_id="yanghua", service=("home-care", "health-check")[n % 2])
        for n in range(120)
    ]
    activity = envelope(
        "activity-held",
        {
            "activity_id": "a-1",
            "kind": "health-lecture",
            "title": "Health lecture",
            "held_on": "2019-11-04",
            "attendees": 12,
        },
        agency_id="yanghua",
    )
    answers(stack, [agency("yanghua", "222405"), *visits, activity], yanghua)
    retractions = [
        envelope(
            "event-retracted",
            {"target_event_id": v["event_id"], "reason": "entered twice"},
            agency_id="yanghua",
        )
        for v in visits[::10]
    ]
    answers(stack, retractions, yanghua)
    expected = len(visits) - len(retractions)
    await eventually(lambda: _visits(stack, admin) == expected, timeout_s=60, what="applied")
    return expected


@pytest.mark.parametrize(
    "fault",
    ["reporting.rebuild.replaying", "reporting.rebuild.built", "reporting.rebuild.swapping"],
)
async def test_a_rebuild_killed_half_way_changes_nothing(
    fault: str, stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    admin = token("admin")
    expected = await _history(stack, token)
    before = _figures(stack, admin)

    killed = _rebuild(stack, fault)
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert _figures(stack, admin) == before
    assert _reconciles(stack)

    # The live consumer was not harmed: new events are still counted.
    answers(stack, [visit("late", agency_id="yanghua")], token("agency", "yanghua"))
    await eventually(lambda: _visits(stack, admin) == expected + 1, timeout_s=60)
    after_late = _figures(stack, admin)
    done = _rebuild(stack)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert _figures(stack, admin) == after_late
    assert _reconciles(stack)


async def test_events_arriving_during_a_rebuild_are_all_counted(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    yanghua, admin = token("agency", "yanghua"), token("admin")
    expected = await _history(stack, token)
    before = _figures(stack, admin)
    same = _rebuild(stack)
    assert same.returncode == 0, same.stdout + same.stderr[-2000:]
    assert _figures(stack, admin) == before  # byte-identical JSON

    env = stack.service_env("reporting")
    env["REPORTING_REBUILD_BATCH"] = SMALL_BATCH
    running = await start_rebuild(env)
    sent = 0
    while running.returncode is None and sent < 400:
        answers(stack, [visit(f"m-{sent + n}", agency_id="yanghua") for n in range(10)], yanghua)
        sent += 10
    out, err = await asyncio.wait_for(running.communicate(), 300)
    assert running.returncode == 0, (out + err[-2000:]).decode()
    assert sent > 0
    await eventually(
        lambda: _visits(stack, admin) == expected + sent,
        timeout_s=60,
        what=f"{expected + sent} visits, each once",
    )


async def test_an_event_that_cannot_be_applied_is_parked_and_the_rest_rebuilt(
    stack: Stack, nc: Client, pg_url: str, db_prefix: str, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    admin = token("admin")
    expected = await _history(stack, token)
    answers(stack, [visit("refused-later", agency_id="yanghua")], token("agency", "yanghua"))
    await eventually(lambda: _visits(stack, admin) == expected + 1, timeout_s=60)
    # A rule the database now enforces and that one applied event breaks: replaying that
    # event fails on a healthy database, which is what DEADLETTER is for.
    conn = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_reporting"))
    try:
        await conn.execute(
            "ALTER TABLE visit_facts ADD CONSTRAINT no_refused"
            " CHECK (client_id <> 'refused-later') NOT VALID"
        )
        done = _rebuild(stack)
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        result = orjson.loads(done.stdout.strip().splitlines()[-1])
        assert result["dead_lettered"] == 1
        assert _visits(stack, admin) == expected
        parked = await nc.jetstream().get_last_msg("DEADLETTER", "deadletter.reporting.>")
        assert "no_refused" in (parked.headers or {})["Qianshou-Reason"]
        assert orjson.loads(parked.data or b"{}")["payload"]["client_id"] == "refused-later"
    finally:
        await conn.close()


async def test_a_failing_rebuild_says_why_and_changes_nothing(
    stack: Stack, pg_url: str, db_prefix: str, token: Callable[..., str]
) -> None:
    stack.up("intake", "reporting")
    admin = token("admin")
    await _history(stack, token)
    before = _figures(stack, admin)
    database = f"{db_prefix}_reporting"
    conn = await asyncpg.connect(with_database(pg_url, "postgres"))
    try:
        # New sessions (the rebuild's) are read-only; the service's open ones are not.
        await conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        failed = _rebuild(stack)
    finally:
        await conn.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        await conn.close()
    assert failed.returncode == 1
    error = orjson.loads(failed.stdout.strip().splitlines()[-1])["error"]
    assert "unchanged" in error and "read-only" in error
    assert _figures(stack, admin) == before
