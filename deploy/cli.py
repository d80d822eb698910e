"""The `qianshou` command: run the local stack, load the demo, issue tokens, and reach each
service's own commands (`qianshou reporting rebuild`, `qianshou dlq list`…)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from shared.settings import SERVICE_PORTS, data_dir, local_secret, token_secrets
from shared.tokens import Principal, issue, verify


def cmd_token(args: argparse.Namespace) -> int:
    principal = Principal(role=args.role, agency_id=args.agency, region=args.region)
    try:
        print(issue(token_secrets()[0], principal, ttl_s=args.ttl))
    except ValueError as exc:
        print(f"qianshou token issue: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from deploy.demo import reference_programme, sender

    counts = publish(args.intake_url, reference_programme(), sender=sender)
    print("demo published:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0 if not counts.get("rejected") and not counts.get("conflict") else 1


def local_token(principal: Principal) -> str:
    """A token for `principal` signed with the local stack's secret."""
    return issue(token_secrets()[0], principal)


def agency_token(agency_id: str) -> str:
    """A token for `agency_id` signed with the local stack's secret."""
    return local_token(Principal(role="agency", agency_id=agency_id))


def own_agency(event: dict[str, Any]) -> Principal:
    """The default sender of an event: the agency it is reported for."""
    return Principal(role="agency", agency_id=event["agency_id"])


def publish(
    intake_url: str,
    events: list[dict[str, Any]],
    token_for: Callable[[Principal], str] = local_token,
    sender: Callable[[dict[str, Any]], Principal] = own_agency,
    batch: int = 500,
) -> dict[str, int]:
    """Post events to intake in batches, each sender (`sender(event)`) with its own token;
    senders go in the order of their first event, each sender's events in order."""
    counts: dict[str, int] = {}
    with httpx.Client(base_url=intake_url, timeout=60) as client:
        by_sender: dict[Principal, list[dict[str, Any]]] = {}
        for event in events:
            by_sender.setdefault(sender(event), []).append(event)
        for principal, items in by_sender.items():
            token = token_for(principal)
            for start in range(0, len(items), batch):
                resp = client.post(
                    "/v1/events",
                    json=items[start : start + batch],
                    headers={"Authorization": f"Bearer {token}"},
                )
                body = resp.json()
                if not isinstance(body, list):
                    raise RuntimeError(f"intake answered {resp.status_code}: {body}")
                for result in body:
                    counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


def cmd_up(args: argparse.Namespace) -> int:
    from deploy.stack import SERVICES, Stack
    from shared.settings import external_servers, local_ports, service_port

    nats_port, pg_port = local_ports()
    nats_url, database_url = external_servers()
    for name in ("token-secret", "pii-key"):
        local_secret(name)  # made once here, before three services race to make it
    stack = Stack(
        data_dir=data_dir(),
        nats_url=nats_url,
        database_url=database_url,
        nats_nodes=args.nats_nodes,
        nats_port=nats_port,
        pg_port=pg_port,
        ports={name: service_port(name) for name in SERVICES},
    )

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a process started in the background inherits SIGINT ignored.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        stack.start_infrastructure()
        stack.start_services()
        stack.wait_ready(timeout_s=120)
        print("\nQianshou is up:")
        for name, proc in stack.services.items():
            print(f"  {name:<11} {proc.url}   (docs {proc.url}/docs, AsyncAPI {proc.url}/asyncapi)")
        print(f"  NATS        {stack.nats_url}")
        if args.nats_nodes > 1:
            print(f"  for the CLI export NATS_URL={stack.nats_url}")
        print(f"  data        {stack.data_dir}")
        metrics_url = _serve_nats_metrics(stack)
        if metrics_url:
            print(
                f"  NATS metrics {metrics_url}  (the NATS exporter's names: deploy/natsmetrics.py)"
            )
        if args.demo:
            from deploy.demo import sender

            counts = publish(stack.services["intake"].url, _demo_events(), sender=sender)
            print(
                "demo programme published:",
                ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            )
        print(
            "\nToken for a province report reader: qianshou token issue --role province --region 22"
        )
        if "reporting" in stack.services:
            print(f"\nDashboard: {stack.services['reporting'].url}/dashboard/login")
            province = issue(
                token_secrets()[0], Principal(role="province", region="22"), ttl_s=7 * 24 * 3600
            )
            print(f"  province token (Jilin, 22, a week): {province}")
        print("Ctrl-C stops everything.")
        watch_unassigned(stack.services["reporting"].url)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping…", flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan anything
        stack.stop()
        print("stopped; data kept in", stack.data_dir)
    return 0


def _serve_nats_metrics(stack: Any) -> str | None:
    """JetStream metrics under the official exporter's names for the NATS the stack runs
    (or QIANSHOU_NATS_MONITOR_URLS'), on QIANSHOU_NATS_METRICS_PORT (7777; 0: off)."""
    from deploy.natsmetrics import serve
    from shared.settings import nats_metrics

    port, others = nats_metrics()
    nodes = getattr(stack.nats, "nodes", None) or ([stack.nats] if stack.nats else [])
    urls = [f"http://127.0.0.1:{node.monitor_port}" for node in nodes]
    urls += others
    if port == 0 or not urls:
        return None
    try:
        serve(urls, port)
    except OSError as exc:  # the port is taken: the stack runs on without these metrics
        print(f"  NATS metrics not served on port {port}: {exc}")
        return None
    return f"http://127.0.0.1:{port}/metrics"


def unassigned_line(reporting_url: str) -> str | None:
    """A line saying which agency ids have events but no registration, or None."""
    try:
        resp = httpx.get(
            f"{reporting_url}/v1/reports/unassigned",
            headers={"Authorization": f"Bearer {local_token(Principal(role='admin'))}"},
            timeout=5,
        )
        agencies = resp.json()["agencies"] if resp.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError):
        return None  # reporting busy or restarting: say nothing rather than guess
    if not agencies:
        return None
    ids = ", ".join(a["agency_id"] for a in agencies[:5]) + (" …" if len(agencies) > 5 else "")
    events = sum(a["events"] for a in agencies)
    return (
        f"unassigned: {len(agencies)} agency id(s) with {events} event(s) but no registration"
        f" ({ids}); they count once registered: GET {reporting_url}/v1/reports/unassigned"
    )


def watch_unassigned(reporting_url: str, every_s: float = 30.0) -> None:
    """Until interrupted: print the unassigned line whenever it changes."""
    shown: str | None = None
    while True:
        line = unassigned_line(reporting_url)
        if line != shown and line is not None:
            print(line, flush=True)
        shown = line if line is not None else shown
        time.sleep(every_s)


def _demo_events() -> list[dict[str, Any]]:
    from deploy.demo import reference_programme

    return reference_programme()


def cmd_revoke(args: argparse.Namespace) -> int:
    """Put a token's id on the revocation list every service follows."""
    import asyncio

    import jwt
    import nats

    from shared.revocations import revoke
    from shared.settings import nats_credentials, nats_servers

    token_id = args.token
    if token_id.count(".") == 2:  # a whole token: take its id (signature checked first)
        verify(token_id, token_secrets(), allow_expired=True)
        token_id = jwt.decode(token_id, options={"verify_signature": False})["jti"]

    async def run() -> None:
        user, password = nats_credentials("admin")
        nc = await nats.connect(servers=nats_servers(), user=user, password=password)
        try:
            await revoke(nc.jetstream(), token_id, args.reason)
        finally:
            await nc.close()

    asyncio.run(run())
    print(f"revoked token {token_id}")
    return 0


def cmd_agency(args: argparse.Namespace) -> int:
    """Credentials for a new agency: an HTTP token and a NATS user limited to its subjects."""
    import re

    from deploy.natsauth import add_agency_locally, agency_user
    from shared.events import AGENCY_ID_PATTERN
    from shared.subjects import inbox_prefix

    if not re.fullmatch(AGENCY_ID_PATTERN, args.agency_id):
        print(
            "qianshou agency add: an agency id is lowercase letters, digits, - and _",
            file=sys.stderr,
        )
        return 2
    password = add_agency_locally(data_dir(), args.agency_id)
    token = issue(
        token_secrets()[0], Principal(role="agency", agency_id=args.agency_id), ttl_s=args.ttl
    )
    print(f"agency          {args.agency_id}")
    print(f"HTTP token      {token}")
    print(f"NATS user       {agency_user(args.agency_id)}")
    print(f"NATS password   {password}")
    print(f"NATS inbox      {inbox_prefix(args.agency_id)}  (nats.connect(..., inbox_prefix=...))")
    print(f"may publish     intake.{args.agency_id}.<type>  (request/reply)")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    import asyncio

    import nats
    import orjson

    from shared import deadletters
    from shared.settings import nats_credentials, nats_servers

    async def run() -> Any:
        user, password = nats_credentials("admin")
        nc = await nats.connect(servers=nats_servers(), user=user, password=password)
        js = nc.jetstream()
        try:
            if args.dlq_command == "list":
                return [d.summary() for d in await deadletters.letters(js, args.service)]
            if args.dlq_command == "show":
                parked = await deadletters.letter(js, args.seq)
                return {**parked.summary(), "event": parked.data.decode(errors="replace")}
            return {"replayed": (await deadletters.replay(js, args.seq)).summary()}
        finally:
            await nc.close()

    print(orjson.dumps(asyncio.run(run()), option=orjson.OPT_INDENT_2).decode())
    return 0


def _service_command(service: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        module = __import__(f"services.{service}.cli", fromlist=["main"])
        return int(module.main(argv))

    return run


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "reporting":
        return _service_command(argv[0])(argv[1:])

    parser = argparse.ArgumentParser(prog="qianshou", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run NATS, PostgreSQL and the three services until Ctrl-C")
    up.add_argument("--demo", action="store_true", help="publish the reference programme once up")
    up.add_argument(
        "--nats-nodes",
        type=int,
        choices=[1, 3],
        default=1,
        help="3: a JetStream cluster of three nodes (ports 4223-4225) with R3 streams",
    )
    up.set_defaults(func=cmd_up)

    demo = sub.add_parser("demo", help="publish the reference programme to a running intake")
    demo.add_argument("--intake-url", default=f"http://127.0.0.1:{SERVICE_PORTS['intake']}")
    demo.set_defaults(func=cmd_demo)

    token = sub.add_parser("token", help="issue a bearer token for the local stack")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    tissue = token_sub.add_parser("issue", help="print a signed token")
    tissue.add_argument("--role", choices=["agency", "province", "admin"], required=True)
    tissue.add_argument("--agency", help="agency id (role agency)")
    tissue.add_argument("--region", help="region code prefix (role province), e.g. 22 or 2224")
    tissue.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds of validity")
    tissue.set_defaults(func=cmd_token)
    trevoke = token_sub.add_parser("revoke", help="refuse a token from now on, in every service")
    trevoke.add_argument("token", help="the token, or its id (jti)")
    trevoke.add_argument("--reason", default="revoked by an administrator")
    trevoke.set_defaults(func=cmd_revoke)

    sub.add_parser("reporting", help="reporting's own commands (qianshou reporting --help)")

    agency = sub.add_parser("agency", help="agencies' credentials")
    agency_sub = agency.add_subparsers(dest="agency_command", required=True)
    agency_add = agency_sub.add_parser("add", help="an HTTP token and a NATS user for an agency")
    agency_add.add_argument("agency_id")
    agency_add.add_argument(
        "--ttl", type=int, default=365 * 24 * 3600, help="token validity, seconds"
    )
    agency_add.set_defaults(func=cmd_agency)

    dlq = sub.add_parser("dlq", help="events consumers gave up on (the DEADLETTER stream)")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq_sub.add_parser("list", help="parked events, oldest first")
    dlq_list.add_argument("--service", choices=["scheduling", "reporting"])
    for name, text in (
        ("show", "one parked event with its reason"),
        ("replay", "publish it again on EVENTS and remove it from DEADLETTER"),
    ):
        cmd = dlq_sub.add_parser(name, help=text)
        cmd.add_argument("seq", type=int, help="its sequence number on DEADLETTER")
    dlq.set_defaults(func=cmd_dlq)

    from deploy import sheets_cli

    sheets_cli.add_parser(sub, f"http://127.0.0.1:{SERVICE_PORTS['intake']}")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
