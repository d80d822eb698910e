"""Intake's accept path on batches of 1,000 visits (issue #19): how many events a second
`POST /v1/events` takes, and where intake's CPU goes.

Two measurements, printed as one JSON object:
- `in_process`: the plain part of the accept path (decode, validate, fingerprint, decide,
  build what goes on EVENTS) for fresh batches, no I/O: events/s on one core. With
  `--profile N`, the N functions with the most cumulative time (cProfile).
- `http`: NATS, PostgreSQL and intake alone (no consumers), `--batches` requests of 1,000
  fresh visits of one agency posted one after another over HTTP: events/s from the first
  send to the last answer, and intake's CPU seconds per 1,000 events. With
  `--service-profile N`, intake runs under cProfile and its N functions with the most
  cumulative time are printed after it stops (the profiler slows it: its events/s are not
  comparable then).

    python -m tests.perf.intake_batch [--batches 30] [--rounds 20] [--profile 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from deploy.natsserver import free_port
from deploy.stack import ServiceProcess, Stack
from services.intake import decision, domain
from services.intake.decision import Facts
from shared.tokens import Principal
from shared.validation import decode_json
from tests.perf.harness import PII_KEY, REPO, SECRET, Bench, proc_status, start_servers

BATCH = 1000
AGENCY = "ag000"
ADMIN = Principal(role="admin")


def visits(n: int = BATCH, agency_id: str = AGENCY) -> list[dict[str, Any]]:
    """`n` fresh visits of one agency (new event and visit ids each call)."""
    return [
        {
            "event_id": uuid.uuid4().hex,
            "type": "visit-logged",
            "schema_version": 1,
            "agency_id": agency_id,
            "occurred_at": "2024-03-04T09:30:00+08:00",
            "payload": {
                "visit_id": uuid.uuid4().hex,
                "client_id": f"c-{i % 300:04d}",
                "worker_id": f"w-{i % 20:03d}",
                "service": "home-medication",
                "started_at": "2024-03-04T09:30:00+08:00",
                "duration_min": 30,
            },
        }
        for i in range(n)
    ]


def accept(body: bytes) -> decision.Decided:
    """Intake's accept path without its store: what a request costs in Python alone."""
    request = domain.parse_request(decode_json(body))
    decision.prepare(request, b"k" * 32)
    decided = decision.decide(ADMIN, request, Facts(), datetime.now(UTC))
    assert len(decided) == len(request.submissions)
    return decided


def in_process(rounds: int, profile: int) -> dict[str, Any]:
    bodies = [orjson.dumps(visits()) for _ in range(rounds)]
    accept(bodies[0])  # warm up (pydantic, imports)
    started = time.process_time()
    for body in bodies:
        accept(body)
    cpu = time.process_time() - started
    out: dict[str, Any] = {
        "events": rounds * BATCH,
        "cpu_s": round(cpu, 3),
        "events_per_s": round(rounds * BATCH / cpu),
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies:
            accept(body)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(profile)
        out["profile"] = text.getvalue()
    return out


# Runs `python -m services.intake` under cProfile. uvicorn re-raises the SIGTERM it caught
# once it has shut down, under the handler it found: a handler that does nothing lets the
# run return, and cProfile write the profile.
_PROFILED = (
    "import cProfile, runpy, signal, sys; "
    "signal.signal(signal.SIGTERM, lambda *_: None); "
    'cProfile.run(\'runpy.run_module("services.intake", run_name="__main__")\', sys.argv[1])'
)


class ProfiledService(ServiceProcess):
    profile_path: Path | None = None

    def start(self) -> None:
        assert self.profile_path is not None and self.log_path is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _PROFILED, str(self.profile_path)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _intake_only(root: Path, profile_path: Path | None = None) -> Bench:
    nats, postgres = start_servers(root, "always")
    stack = Stack(
        data_dir=root / "data",
        nats_url=nats.url,
        database_url=postgres.url,
        ports={"intake": free_port()},
        db_prefix="bench",
        nats_users=nats.users,
        log_dir=root / "logs",
        extra_env={
            "QIANSHOU_TOKEN_SECRETS": SECRET,
            "QIANSHOU_PII_KEY": PII_KEY,
            "PYTHONPATH": str(REPO),
        },
    )
    bench = Bench(root, "always", nats, postgres, stack)
    try:
        if profile_path is None:
            stack.up("intake", timeout_s=120)
        else:
            service = ProfiledService(
                "intake", stack.ports["intake"], stack.service_env("intake"), root / "intake.log"
            )
            service.profile_path = profile_path
            service.start()
            stack.services["intake"] = service
            stack.wait_ready(("intake",), timeout_s=120)
    except Exception:
        bench.stop()
        raise
    return bench


def over_http(batches: int, service_profile: int = 0) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="qianshou-intake-bench-"))
    profile_path = root / "intake.prof" if service_profile else None
    bench = _intake_only(root, profile_path)
    try:
        token = bench.token("agency", agency_id=AGENCY)
        bodies = [orjson.dumps(visits()) for _ in range(batches + 1)]
        pid = bench.pids()["intake"]
        with httpx.Client(
            base_url=bench.url("intake"), headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client:
            _post(client, bodies[0])  # warm up: connections, caches
            cpu_before = proc_status(pid)["cpu_s"]
            started = time.perf_counter()
            for body in bodies[1:]:
                _post(client, body)
            wall = time.perf_counter() - started
            cpu = proc_status(pid)["cpu_s"] - cpu_before
        out: dict[str, Any] = {
            "events": batches * BATCH,
            "wall_s": round(wall, 2),
            "events_per_s": round(batches * BATCH / wall),
            "intake_cpu_s_per_1000": round(cpu / batches, 3),
        }
        bench.stop()
        if profile_path is not None:
            text = io.StringIO()
            stats = pstats.Stats(str(profile_path), stream=text)
            stats.sort_stats("tottime").print_stats(service_profile)
            stats.sort_stats("cumulative").print_stats("services/intake|shared", service_profile)
            out["profile"] = text.getvalue()
        return out
    finally:
        bench.stop()
        shutil.rmtree(root, ignore_errors=True)


def _post(client: httpx.Client, body: bytes) -> None:
    resp = client.post("/v1/events", content=body)
    statuses = {r["status"] for r in resp.json()}
    if resp.status_code != 200 or statuses != {"accepted"}:
        raise RuntimeError(f"{resp.status_code}: {resp.text[:500]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.intake_batch", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="in-process batches")
    parser.add_argument("--batches", type=int, default=30, help="HTTP batches (0: skip)")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument(
        "--service-profile", type=int, default=0, help="profile intake: print its top N"
    )
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"in_process": in_process(args.rounds, args.profile)}
    profiles = [result["in_process"].pop("profile", None)]
    if args.batches:
        result["http"] = over_http(args.batches, args.service_profile)
        profiles.append(result["http"].pop("profile", None))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    for profile in filter(None, profiles):
        print(profile, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
