"""`qianshou reporting …`: reporting's own commands."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
from typing import Any

import nats
import orjson

from services.reporting.app import MIGRATIONS, SHARED_TABLES
from services.reporting.national import national
from services.reporting.rebuild import RebuildFailed, rebuild
from services.reporting.reconcile import plain
from services.reporting.reconcile.run import read_events, reconcile
from services.reporting.shard import Shard
from services.reporting.sharding import consumer_for, tokens_on_stream
from shared.clock import clock_from_env, today_in_china
from shared.db import open_pool
from shared.settings import ServiceSettings, nats_servers, reporting_shards, token_secrets
from shared.tokens import Principal, issue


async def _rebuild() -> dict[str, object]:
    settings = ServiceSettings.from_env("reporting")
    pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
    nc = await nats.connect(
        servers=nats_servers(settings.nats_url),
        user=settings.nats_user,
        password=settings.nats_password,
    )
    try:
        shard = Shard(settings.reporting.regions, settings.reporting.shards)
        return await rebuild(pool, nc, batch=settings.reporting.rebuild_batch, shard=shard)
    finally:
        await nc.close()
        await pool.close()


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("a moment with its offset, e.g. 2020-07-01T00:00:00+08:00")
    return moment


async def _reconcile(args: argparse.Namespace) -> int:
    rules = plain.SPEC if args.spec else plain.IMPLEMENTED
    settings = ServiceSettings.from_env("reporting")
    pool = await open_pool(settings.database_url, MIGRATIONS, SHARED_TABLES)
    try:
        nc = await nats.connect(
            servers=nats_servers(settings.nats_url),
            user=settings.nats_user,
            password=settings.nats_password,
        )
        try:
            shard = Shard(settings.reporting.regions, settings.reporting.shards)
            subjects = None  # a region shard recomputes from what its own durable takes
            if shard.sharded:
                tokens = await tokens_on_stream(nc.jetstream(), shard)
                subjects = consumer_for(shard, tokens).config().filter_subjects
            events = await read_events(nc, subjects)
        finally:
            await nc.close()
        today = today_in_china(clock_from_env())
        outcome = await reconcile(
            pool, events, today, args.region, args.start, args.end, rules, args.as_of
        )
    finally:
        await pool.close()
    for difference in outcome.differences:
        print(difference.line())
    for kpi in outcome.unchecked:
        print(f"UNCHECKED {kpi}: served, but reconcile does not recompute it (docs/adding.md)")
    summary: dict[str, Any] = {"events": len(events), **outcome.report(rules)}
    print(orjson.dumps(summary).decode())
    return 1 if outcome.differences else 0


def _national(args: argparse.Namespace) -> dict[str, object]:
    """The sum of every shard's summaries for the regions it serves."""
    directory: dict[str, str] = {}
    for entry in args.shard or []:
        regions, _, url = entry.partition("=")
        directory.update({r.strip(): url.strip().rstrip("/") for r in regions.split(",")})
    directory = directory or reporting_shards()
    if not directory:
        raise SystemExit("qianshou reporting national: give --shard 22,11=URL or REPORTING_SHARDS")
    shards: dict[str, list[str]] = {}
    for region, url in sorted(directory.items()):
        shards.setdefault(url, []).append(region)
    token = args.token or issue(token_secrets()[0], Principal(role="admin"), ttl_s=600)
    params = {k: v for k, v in (("from", args.start), ("to", args.end)) if v}
    return national(shards, token, params)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="qianshou reporting")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "rebuild",
        help="replay EVENTS into new projections beside the live ones, then swap them in",
    )
    nat = sub.add_parser(
        "national", help="add up every region shard's summaries (REPORTING_SHARDS or --shard)"
    )
    nat.add_argument(
        "--shard",
        action="append",
        help="REGIONS=URL of one shard, e.g. 22,11=http://127.0.0.1:8083 (repeat per shard)",
    )
    nat.add_argument("--token", help="a bearer token (default: admin, from the local secret)")
    nat.add_argument("--from", dest="start", help="first day (YYYY-MM-DD)")
    nat.add_argument("--to", dest="end", help="last day (YYYY-MM-DD)")
    check = sub.add_parser(
        "reconcile",
        help="recompute every KPI of every scope from EVENTS and compare with reporting's;"
        " exit 0 only when there is no difference",
    )
    check.add_argument("--region", help="only scopes inside this region prefix")
    check.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
    check.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")
    check.add_argument(
        "--as-of",
        dest="as_of",
        type=_moment,
        help="compare the figures as of this moment (ISO timestamp with offset, SPEC 3.7)",
    )
    check.add_argument(
        "--spec",
        action="store_true",
        help="recompute with every SPEC 3.6 rule (business-key dedup of facts, distinct"
        " staff-days, cross-agency visits: docs/kpis.md); reporting implements them all, so"
        " this is the same as without it",
    )
    args = parser.parse_args(argv)
    if args.command == "reconcile":
        return asyncio.run(_reconcile(args))
    if args.command == "national":
        print(orjson.dumps(_national(args), option=orjson.OPT_INDENT_2).decode())
        return 0
    try:
        print(orjson.dumps(asyncio.run(_rebuild())).decode())
    except RebuildFailed as exc:
        print(orjson.dumps({"error": str(exc)}).decode())
        return 1
    except Exception as exc:  # could not even start (database or NATS unreachable…)
        why = f"rebuild did not start, the live figures are unchanged: {type(exc).__name__}: {exc}"
        print(orjson.dumps({"error": why}).decode())
        return 1
    return 0
