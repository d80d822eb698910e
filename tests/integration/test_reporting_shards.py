"""Region-sharded reporting (issue 16): two shards (REPORTING_REGIONS=22 and =44,52), each
with its own database and durable consumer, next to one unsharded instance, all fed by
the same intake. Each shard answers exactly what the unsharded instance answers for its
regions, the shards' sum is the national figure, and a question outside a shard's regions
is refused with the instance to ask."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from nats.aio.client import Client

from deploy.natsserver import free_port
from deploy.stack import ServiceProcess, Stack
from services.reporting.national import add_up
from shared.settings import with_database
from tests.faults.workload import build
from tests.support.events import agency, client, visit
from tests.support.polling import eventually

SHARDS = {"22": "22", "44-52": "44,52"}


@pytest.fixture
def shards(stack: Stack, pg_url: str, db_prefix: str) -> Iterator[dict[str, ServiceProcess]]:
    """Two reporting shards beside the stack's own (unsharded) reporting."""
    ports = {name: free_port() for name in SHARDS}
    directory = ";".join(
        f"{regions}=http://127.0.0.1:{ports[name]}" for name, regions in SHARDS.items()
    )
    procs = {}
    for name, regions in SHARDS.items():
        env = stack.service_env("reporting")
        env.update(
            {
                "REPORTING_REGIONS": regions,
                "REPORTING_SHARDS": directory,
                "REPORTING_PORT": str(ports[name]),
                "REPORTING_DATABASE_URL": with_database(
                    pg_url, f"{db_prefix}_reporting_{name.replace('-', '_')}"
                ),
            }
        )
        log = stack.log_dir / f"reporting-{name}.log" if stack.log_dir else None
        procs[name] = ServiceProcess("reporting", ports[name], env, log)
    try:
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def _summary(url: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{url}/v1/reports/summary",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    """The KPIs without what names the instance's own state (scope, freshness)."""
    return {k: v for k, v in body.items() if k not in ("scope", "as_of")}


def _post(stack: Stack, events: list[dict[str, Any]], token: str) -> None:
    resp = httpx.post(
        f"{stack.services['intake'].url}/v1/events",
        content=orjson.dumps(events),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


async def test_shards_give_exactly_the_unsharded_figures_and_add_up_to_the_nation(
    stack: Stack, shards: dict[str, ServiceProcess], token: Callable[..., str], nc: Client
) -> None:
    stack.up("intake", "reporting")
    for proc in shards.values():
        proc.start()
    for proc in shards.values():
        await eventually(proc.ready, timeout_s=60, what="shard ready")
    admin = token("admin")
    work = build(600, seed=5)
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for event in work.setup + [e for b in work.batches for e in b.events]:
        by_agency.setdefault(event["agency_id"], []).append(event)
    for agency_id, events in by_agency.items():
        for i in range(0, len(events), 300):
            _post(stack, events[i : i + 300], token("agency", agency_id=agency_id))
    # An agency's events before its registration go out under region `unassigned`; it
    # then registers in a county no agency had before (the shard must start consuming it).
    late = token("agency", agency_id="sz-late")
    _post(stack, [client("sz-c1", agency_id="sz-late")], late)
    _post(stack, [visit("sz-c1", agency_id="sz-late")], late)
    _post(stack, [agency("sz-late", "440305", role="assisted")], late)
    # Published under 440305 before the shard can have added that county to its filters:
    # its durable passes them by, and the catch-up must apply them.
    _post(stack, [visit("sz-c1", agency_id="sz-late") for _ in range(3)], late)

    whole = stack.services["reporting"].url
    url = {name: proc.url for name, proc in shards.items()}

    def agree(shard: str, region: str) -> bool:
        mine = _summary(url[shard], admin, region=region).json()
        return _figures(mine) == _figures(_summary(whole, admin, region=region).json())

    def national_agrees() -> bool:
        parts = [
            _summary(url[name], admin, region=region).json()
            for name, regions in SHARDS.items()
            for region in regions.split(",")
        ]
        return _figures(add_up(parts)) == _figures(_summary(whole, admin).json())

    def everything_in() -> bool:
        body = _summary(whole, admin).json()
        return (
            body["clients_registered"] > 0
            and body["agencies"]["assisted"]
            == len([e for e in work.setup if e["payload"]["role"] == "assisted"]) + 1
        )

    await eventually(everything_in, timeout_s=60, what="the unsharded instance has it all")
    for shard, region in (
        ("22", "22"),
        ("22", "2224"),
        ("44-52", "44"),
        ("44-52", "440305"),
        ("44-52", "52"),
    ):
        await eventually(
            lambda s=shard, r=region: agree(s, r), timeout_s=60, what=f"{shard} {region}"
        )
    await eventually(national_agrees, timeout_s=30, what="the shards add up to the nation")
    jilin = _summary(url["22"], admin, region="22").json()
    assert jilin["clients_served"] > 0 and jilin["visits_by_service"], jilin  # not all zeros
    # One durable per shard, filtering on its own regions' subjects only; the county that
    # appeared after the shard started was added (and caught up: its figures agree above).
    js = nc.jetstream()
    filters = {
        name: set(
            (await js.consumer_info("EVENTS", f"reporting-{name}")).config.filter_subjects or []
        )
        for name in SHARDS
    }
    assert "events.220102.*.visit-logged" in filters["22"]
    assert not any(f.startswith("events.44") for f in filters["22"])
    assert "events.440305.*.visit-logged" in filters["44-52"]
    assert "events.unassigned.*.visit-logged" in filters["44-52"]
    # The late agency's unassigned visit counts in 44 (its shard), not in 22.
    sz = _summary(url["44-52"], admin, region="440305").json()
    assert sz["clients_served"] == 1 and sum(sz["visits_by_service"].values()) == 4, sz

    # Outside its regions a shard refuses, naming the instance to ask.
    wrong = _summary(url["22"], admin, region="44")
    assert wrong.status_code == 421, wrong.text
    assert wrong.json()["code"] == "wrong_shard" and url["44-52"] in wrong.json()["message"]
    national = _summary(url["22"], admin)
    assert national.status_code == 421 and "qianshou reporting national" in national.text
    other_agency = _summary(url["22"], admin, agency="gz-tianhe")
    assert other_agency.status_code == 421 and url["44-52"] in other_agency.text
    own_agency = _summary(url["22"], token("agency", agency_id="cc-lanxing"))
    assert own_agency.status_code == 200, own_agency.text
