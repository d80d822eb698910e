"""The verdict of a chaos run: wait until everything is drained, settle the unknowns with
intake, then measure every store, the report, the dead letters and the lag."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx
from nats.js import JetStreamContext

from deploy.stack import Stack
from tests.faults import checks
from tests.faults.ledger import Key, Ledger
from tests.faults.truth import differences, expected_summary
from tests.faults.workload import REPORT_SCOPES
from tests.support.polling import eventually


async def wait_until_drained(js: JetStreamContext, urls: dict[str, str], timeout_s: float) -> bool:
    """Outboxes empty and both consumers with nothing pending, twice in a row a second
    apart (a redelivery after a kill comes only when ack_wait has passed)."""
    calm: list[bool] = []

    async def drained() -> bool:
        quiet = await checks.outbox_backlog(urls) == 0 and not any((await checks.lags(js)).values())
        calm.append(quiet)
        return len(calm) >= 2 and calm[-1] and calm[-2]

    try:
        await eventually(drained, timeout_s=timeout_s, interval_s=1.0, what="drained")
    except AssertionError:
        return False
    return True


async def resolve_unknowns(http: httpx.AsyncClient, admin: str, keys: list[Key]) -> set[Key]:
    """Ask intake (GET /v1/events/{id}?agency=) which unknown events it recorded."""
    gate = asyncio.Semaphore(16)
    recorded: set[Key] = set()

    async def ask(key: Key) -> None:
        async with gate:
            for _ in range(10):
                try:
                    resp = await http.get(
                        f"/v1/events/{key[1]}",
                        params={"agency": key[0]},
                        headers={"Authorization": f"Bearer {admin}"},
                    )
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                if resp.status_code == 200:
                    recorded.add(key)
                if resp.status_code in (200, 404):
                    return
                await asyncio.sleep(0.5)
            raise RuntimeError(f"intake never answered for {key}")

    await asyncio.gather(*(ask(k) for k in keys))
    return recorded


async def resolver_agrees(http: httpx.AsyncClient, admin: str, ledger: Ledger) -> bool:
    """The look-up itself, checked: acknowledged events are found, rejected ones not."""
    acknowledged, rejected = ledger.keys("acknowledged")[:20], ledger.keys("rejected")[:20]
    found = await resolve_unknowns(http, admin, acknowledged + rejected)
    return found == set(acknowledged)


async def report_mismatches(
    reporting_url: str, admin: str, events: list[dict[str, Any]]
) -> list[str]:
    """Reporting's summary against the ground truth, for every compared scope."""
    out = []
    async with httpx.AsyncClient(base_url=reporting_url, timeout=60) as http:
        for region in REPORT_SCOPES:
            params = {"region": region} if region else {}
            resp = await http.get(
                "/v1/reports/summary", params=params, headers={"Authorization": f"Bearer {admin}"}
            )
            if resp.status_code != 200:
                out.append(f"region={region}: HTTP {resp.status_code}")
                continue
            diffs = differences(expected_summary(events, region), resp.json())
            out += [f"region={region or 'all'}: {d}" for d in diffs]
    return out


async def summarise(
    ledger: Ledger,
    recorded_unknowns: set[Key],
    js: JetStreamContext,
    urls: dict[str, str],
    reporting_url: str,
    admin: str,
) -> dict[str, Any]:
    """Every number of the run's summary, measured."""
    in_log = set(ledger.keys("acknowledged")) | recorded_unknowns
    expected = {k: ledger.entries[k].event["type"] for k in in_log}
    stores = await checks.database_counts(urls)
    stores["nats.EVENTS"] = await checks.stream_counts(js)
    per_store = checks.compare(stores, expected)
    dead = await checks.dead_letters(js)
    poison_seqs = {p.stream_seq for p in ledger.poison}
    wanted = {(c, p.stream_seq) for p in ledger.poison for c in p.consumers}
    events = [ledger.entries[k].event for k in in_log]
    return {
        **ledger.counts(),
        "unknown_recorded": len(recorded_unknowns),
        "lost": sum(s["lost"] for s in per_store.values()),
        "duplicated": sum(s["duplicated"] for s in per_store.values()),
        "phantom": sum(s["phantom"] for s in per_store.values()),
        "dead_lettered": len(dead),
        "poison": len(ledger.poison),
        "poison_dead_lettered": len(wanted & dead),
        "poison_missing": sorted(wanted - dead),
        "healthy_dead_lettered": sorted(d for d in dead if d[1] not in poison_seqs),
        "stream_repeats": len(ledger.stream_repeats),
        # Copies on EVENTS beyond the ones the run itself re-published after the window:
        # what retries without (or beyond) the dedup window would leave there.
        "stream_duplicates": per_store["nats.EVENTS"]["repeats"] - len(ledger.stream_repeats),
        "answers_503_backlogged": ledger.attempts["unknown:503-backlogged-retry-after"],
        "conflict_probes": dict(ledger.conflict_probes),
        "report_mismatches": await report_mismatches(reporting_url, admin, events),
        "lag": await checks.lags(js),
        "outbox_backlog": await checks.outbox_backlog(urls),
        "answers": dict(ledger.attempts),
        "per_store": per_store,
    }


async def reconcile(stack: Stack) -> dict[str, Any]:
    """`qianshou reporting reconcile` over the whole run: every KPI of every scope
    recomputed from EVENTS must equal what reporting serves."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.cli",
        "reporting",
        "reconcile",
        env=stack.service_env("reporting"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 900)
    lines = out.decode(errors="replace").strip().splitlines()
    return {
        "reconcile_exit": proc.returncode,
        "reconcile": [line for line in lines if line.startswith("DIFF")][:10]
        or lines[-1:]
        or err.decode(errors="replace").splitlines()[-3:],
    }


def passed(result: dict[str, Any]) -> bool:
    """The issue's acceptance, all at once."""
    probes_ok = all(k == "conflict" or k.startswith("unknown") for k in result["conflict_probes"])
    return (
        result["lost"] == 0
        and result["duplicated"] == 0
        and result["phantom"] == 0
        and not result["report_mismatches"]
        and result.get("reconcile_exit") == 0
        and not result["poison_missing"]
        and not result["healthy_dead_lettered"]
        and not any(result["lag"].values())
        and result["outbox_backlog"] == 0
        and not result["unexpected_exits"]
        and not result["not_ready"]
        and result["drained"]
        and result["resolver_agrees"]
        and probes_ok
        # On a cluster, elections must not leave copies on the stream (same Nats-Msg-Id).
        and (result.get("nats_nodes", 1) == 1 or _cluster_passed(result))
    )


def _cluster_passed(result: dict[str, Any]) -> bool:
    """No copies on EVENTS (relays' nor the election probe's), nothing the probe had
    acknowledged missing."""
    return (
        result["stream_duplicates"] == 0
        and result["probe_copies"] == 0
        and result["probe_distinct"] >= result["probe_published"]
    )
