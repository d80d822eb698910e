"""Where one summary's time goes: every SQL statement it sends, timed, and the plan of the
slowest (EXPLAIN (ANALYZE, BUFFERS)), against a filled reporting database (a benchmark run
kept with --keep, its PostgreSQL started again on its folder).

    python -m tests.perf.profile_summary --database postgresql://.../bench_reporting \
        [--region 22 | --agency ag004 | --pairing P | --project P] [--from D --to D]
        [--as-of 2026-11-29T19:30:00+00:00] [--jit on|off] [--rounds 3] [--plans 2]

Prints one JSON object: the statements by total time (ms, best of the rounds), the
summary's own time, and the plans of the slowest statements.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from services.reporting.summary import Scope, summary


class Timed:
    """The connection summary() reads through, timing each statement (by its text)."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.calls: list[tuple[str, tuple[Any, ...], float]] = []

    async def _timed(self, how: str, query: str, *args: Any) -> Any:
        started = time.perf_counter()
        out = await getattr(self.conn, how)(query, *args)
        self.calls.append((query, args, (time.perf_counter() - started) * 1000))
        return out

    async def fetch(self, query: str, *args: Any) -> Any:
        return await self._timed("fetch", query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self._timed("fetchrow", query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._timed("fetchval", query, *args)


def _name(query: str) -> str:
    """A statement's first words after the shared parameter prefix: enough to tell it."""
    body = query.split(") ", 1)[1] if query.startswith("WITH params AS") else query
    return " ".join(body.split())[:160]


async def profile(args: argparse.Namespace) -> dict[str, Any]:
    scope = Scope(
        args.region,
        args.agency,
        args.pairing,
        args.project,
        date.fromisoformat(args.start) if args.start else None,
        date.fromisoformat(args.end) if args.end else None,
        as_of=datetime.fromisoformat(args.as_of) if args.as_of else None,
    )
    settings = {"jit": args.jit} if args.jit else {}
    conn = await asyncpg.connect(args.database, server_settings=settings)
    try:
        best: dict[str, float] = {}
        whole: list[float] = []
        last: Timed | None = None
        for _ in range(args.rounds):
            timed = Timed(conn)
            started = time.perf_counter()
            await summary(timed, scope)
            whole.append((time.perf_counter() - started) * 1000)
            totals: dict[str, float] = {}
            for query, _args, ms in timed.calls:
                totals[_name(query)] = totals.get(_name(query), 0.0) + ms
            best = {k: min(v, best.get(k, v)) for k, v in totals.items()}
            last = timed
        assert last is not None
        slowest = sorted(last.calls, key=lambda c: -c[2])[: args.plans]
        plans = []
        for query, qargs, ms in slowest:
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + query, *qargs)
            plans.append(
                {"statement": _name(query), "ms": round(ms, 1), "plan": [r[0] for r in rows]}
            )
    finally:
        await conn.close()
    return {
        "scope": {k: v for k, v in vars(args).items() if k not in ("database",) and v},
        "summary_ms_best": round(min(whole), 1),
        "statements": len(last.calls),
        "statements_ms_best": {
            k: round(v, 1) for k, v in sorted(best.items(), key=lambda i: -i[1])
        },
        "plans": plans,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.profile_summary", description=__doc__
    )
    parser.add_argument("--database", required=True)
    for name in ("region", "agency", "pairing", "project"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    parser.add_argument("--as-of")
    parser.add_argument(
        "--jit", choices=["on", "off"], help="the session's jit (else the database's)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plans", type=int, default=2)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(orjson.dumps(asyncio.run(profile(args)), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
