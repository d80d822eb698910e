"""Building events for tests, and reading what reached the EVENTS stream."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout

CST = timezone(timedelta(hours=8))


def envelope(
    event_type: str,
    payload: dict[str, Any],
    agency_id: str = "lanxing",
    event_id: str | None = None,
    occurred_at: str = "2019-11-04T09:30:00+08:00",
) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "type": event_type,
        "schema_version": 1,
        "agency_id": agency_id,
        "occurred_at": occurred_at,
        "payload": payload,
    }


def agency(agency_id: str, region: str, role: str = "assisted", **extra: Any) -> dict[str, Any]:
    return envelope(
        "agency-registered",
        {
            "agency_id": agency_id,
            "name": f"Agency {agency_id}",
            "region_code": region,
            "role": role,
            "registered_on": "2019-05-01",
            **extra,
        },
        agency_id=agency_id,
    )


def pairing(sender: str = "lanxing", pairing_id: str = "p1") -> dict[str, Any]:
    """Lanxing (assisting) paired with Wenhua (assisted), as `sender` states it."""
    return envelope(
        "pairing-established",
        {
            "pairing_id": pairing_id,
            "assisting_agency_id": "lanxing",
            "assisted_agency_id": "wenhua",
            "starts_on": "2019-05-06",
            "targets": {
                "staff_days_per_year": 40,
                "agencies_to_incubate": 1,
                "projects_to_undertake": 1,
            },
        },
        agency_id=sender,
    )


def client(client_id: str, agency_id: str = "lanxing", **extra: Any) -> dict[str, Any]:
    payload = {
        "client_id": client_id,
        "name": "金顺姬",
        "id_number": "22240519400101123X",
        "phone": "13904331234",
        "birth_year": 1940,
        "sex": "female",
        "ethnicity": "korean",
        "circumstances": ["left-behind"],
        "in_difficulty": True,
    }
    payload.update(extra)
    return envelope("client-registered", payload, agency_id=agency_id)


def visit(
    client_id: str,
    service: str = "home-medication",
    agency_id: str = "lanxing",
    worker_id: str = "w1",
    started_at: str = "2019-11-04T09:30:00+08:00",
    minutes: int = 30,
    **extra: Any,
) -> dict[str, Any]:
    return envelope(
        "visit-logged",
        {
            "visit_id": uuid.uuid4().hex,
            "client_id": client_id,
            "worker_id": worker_id,
            "service": service,
            "started_at": started_at,
            "duration_min": minutes,
            **extra,
        },
        agency_id=agency_id,
    )


async def read_stream(
    nc: Client, subject: str = "events.>", stream: str = "EVENTS"
) -> list[dict[str, Any]]:
    """Every message currently on the stream under `subject`, decoded, in stream order."""
    js = nc.jetstream()
    info = await js.stream_info(stream)
    total = info.state.messages
    if total == 0:
        return []
    sub = await js.pull_subscribe(subject, stream=stream)
    out: list[dict[str, Any]] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=0.5)
            except (NatsTimeout, TimeoutError):
                break
            for m in msgs:
                out.append({"subject": m.subject, "headers": m.headers, **orjson.loads(m.data)})
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out


def now_cst() -> datetime:
    return datetime.now(CST)
