"""`qianshou reporting reconcile` on the running demo: every figure of every scope agrees
with the plain recomputation from EVENTS (exit 0); a corrupted fact row makes it exit 1
and print that difference."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import asyncpg
import httpx
import orjson

from deploy.demo import reference_programme
from deploy.stack import Stack
from shared.settings import with_database
from tests.support.reports import caught_up


def _reconcile(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", "reporting", "reconcile", *args],
        env=stack.service_env("reporting"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


async def test_reconcile_finds_the_demo_true_and_a_corrupted_row_false(
    demo_stack: Stack, pg_url: str, token: Callable[..., str]
) -> None:
    await caught_up(demo_stack, token)
    clean = _reconcile(demo_stack)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    result = orjson.loads(clean.stdout.strip().splitlines()[-1])
    assert result["events"] == len(reference_programme()) and result["differences"] == 0
    assert result["scopes"] > 50

    narrowed = _reconcile(
        demo_stack, "--region", "2224", "--from", "2019-01-01", "--to", "2019-12-31"
    )
    assert narrowed.returncode == 0, narrowed.stdout[-3000:]

    # as of a moment half-way through the demo (SPEC 3.7): equal too
    middle = reference_programme()[len(reference_programme()) // 2]
    moment = httpx.get(
        f"{demo_stack.services['intake'].url}/v1/events/{middle['event_id']}",
        params={"agency": middle["agency_id"]},
        headers={"Authorization": f"Bearer {token('admin')}"},
    ).json()["recorded_at"]
    then = _reconcile(demo_stack, "--as-of", moment)
    assert then.returncode == 0, then.stdout[-3000:] + then.stderr[-3000:]

    url = with_database(pg_url, f"{demo_stack.db_prefix}_reporting")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE activity_facts SET attendees = attendees + 1"
            " WHERE event_id = (SELECT min(event_id) FROM activity_facts)"
        )
    finally:
        await conn.close()
    corrupted = _reconcile(demo_stack, "--from", "2019-01-01", "--to", "2023-12-31")
    assert corrupted.returncode == 1
    assert "activity_attendance_by_kind." in corrupted.stdout, corrupted.stdout[-3000:]
