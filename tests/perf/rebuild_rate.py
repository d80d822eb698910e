"""The rebuild alone, again and again, on a database a benchmark run filled and kept:

    python -m tests.perf.pipeline --sync default --events 5000 --projection-events 300000 \
        --query-rounds 1 --cell-budget 1 --only '^province/all_time/none$' --keep
    python -m tests.perf.rebuild_rate FOLDER/default [--times 2] [--profile out.svg]

It starts that run's NATS and PostgreSQL on their folders again (no services), runs
`qianshou reporting rebuild` with reporting's environment (as tests/perf/fill.py does) and
prints one JSON line a rebuild: events replayed, seconds, events/s. With --profile the
last one runs under py-spy (a flame graph, or py-spy's raw format if the name ends .txt),
so where the time goes can be compared before and after a change on the same database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson

from deploy.stack import SERVICES, Stack
from tests.perf.harness import PII_KEY, REPO, SECRET, start_servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.rebuild_rate", description=__doc__)
    parser.add_argument("root", type=Path, help="a kept run's folder for one sync setting")
    parser.add_argument("--sync", choices=["always", "default"], default="default")
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="py-spy's output for the last rebuild")
    args = parser.parse_args(argv)
    nats, postgres = start_servers(args.root, args.sync)
    try:
        stack = Stack(
            data_dir=args.root / "data",
            nats_url=nats.url,
            database_url=postgres.url,
            ports=dict.fromkeys(SERVICES, 0),
            db_prefix="bench",
            nats_users=nats.users,
            extra_env={
                "QIANSHOU_TOKEN_SECRETS": SECRET,
                "QIANSHOU_PII_KEY": PII_KEY,
                "PYTHONPATH": str(REPO),
            },
        )
        command = [sys.executable, "-m", "deploy.cli", "reporting", "rebuild"]
        for i in range(args.times):
            run = command
            if args.profile and i == args.times - 1:
                form = "raw" if args.profile.suffix == ".txt" else "flamegraph"
                spy = Path(sys.executable).with_name("py-spy")
                run = [str(spy), "record", "-r", "200", "-f", form, "-o", str(args.profile)]
                run += ["--", *command]
            started = time.perf_counter()
            done = subprocess.run(
                run, env=stack.service_env("reporting"), cwd=REPO, capture_output=True, check=False
            )
            seconds = time.perf_counter() - started
            if not done.stdout.strip():  # (py-spy may exit non-zero after writing its profile)
                print(done.stderr.decode()[-3000:], file=sys.stderr)
                return 1
            lines = done.stdout.decode().splitlines()  # py-spy prints a line of its own
            out = orjson.loads(next(line for line in reversed(lines) if line.startswith("{")))
            replayed = out["replayed"]
            print(
                orjson.dumps(
                    {
                        **out,
                        "wall_seconds": round(seconds, 1),
                        "events_per_s": round(replayed / out["seconds"]),
                        "profiled": bool(args.profile and i == args.times - 1),
                    }
                ).decode(),
                flush=True,
            )
    finally:
        nats.stop()
        postgres.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
