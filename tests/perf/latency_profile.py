"""Where publish-to-report latency goes: the latency probe of tests/perf/pipeline.py (10
events every 20 ms through intake's HTTP API) on a fresh stack, with py-spy sampling each
service meanwhile.

    python -m tests.perf.latency_profile [--sync always|default] [--seconds 20] [--events 5000]

`--events` of the synthetic province go in first, as the pipeline's end-to-end phase sends
them (the registry the probe's visits refer to). Prints one JSON object: the latency
percentiles and, per service, how many samples py-spy took while a thread was busy (idle
threads are not sampled, at 100 a second) and the functions those samples were in, by
their own time, and the project's own functions with what they called.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from tests.perf import drive, province
from tests.perf.harness import load_average, remove_postgres_data, start_servers, start_stack

SERVICES = ("intake", "scheduling", "reporting")
OURS = re.compile(r"\((services|shared)/")  # the project's own frames


def summarise(raw: str, top: int = 12) -> dict[str, Any]:
    """py-spy's raw (collapsed) stacks: busy samples, and the heaviest functions by their
    own samples (the innermost frame) and by samples they were anywhere on the stack."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]  # by function
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    ours = Counter({f: n for f, n in anywhere.items() if OURS.search(f)})
    return {
        "busy_samples": total,
        "own": {f: n for f, n in own.most_common(top)},
        "ours_anywhere": {f: n for f, n in ours.most_common(top * 2)},
    }


def start_spies(pids: dict[str, int], root: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    """py-spy on each service for `seconds`, into root/NAME.txt (raw format)."""
    spy = str(Path(sys.executable).with_name("py-spy"))
    return [
        subprocess.Popen(
            [spy, "record", "-r", "100", "-d", str(int(seconds)), "-f", "raw",
             "-o", str(root / f"{name}.txt"), "--pid", str(pids[name])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in SERVICES
    ]  # fmt: skip


def wait_for(spies: list[subprocess.Popen[bytes]]) -> None:
    for process in spies:
        process.wait(timeout=60)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    the = province.scaled(args.events)
    root = Path(tempfile.mkdtemp(prefix="qianshou-perf-latency-"))
    nats_server, postgres = start_servers(root, args.sync)
    bench = start_stack(root, args.sync, nats_server, postgres)
    try:
        first = list(province.events(the, args.events, seed=args.seed))
        await drive.sustained(bench, first, clients=8)
        spies = start_spies(bench.pids(), root, args.seconds)
        later = province.Generator(the, seed=args.seed + 1, tag="lat").activity()
        latency = await drive.latency(bench, later, seconds=args.seconds)
        await asyncio.to_thread(wait_for, spies)
        profiles = {
            name: summarise((root / f"{name}.txt").read_text())
            for name in SERVICES
            if (root / f"{name}.txt").exists()
        }
    finally:
        bench.stop()
        remove_postgres_data(root)
        shutil.rmtree(root, ignore_errors=True)
    return {
        "command": "python -m tests.perf.latency_profile " + " ".join(args.argv),
        "load_average_at_end": load_average(),
        "nats_sync_interval": args.sync,
        "publish_to_report": latency,
        "py_spy": profiles,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.latency_profile", description=__doc__
    )
    parser.add_argument("--sync", choices=["always", "default"], default="always")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    print(orjson.dumps(asyncio.run(run(args)), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
