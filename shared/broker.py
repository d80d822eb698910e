"""The NATS side every service shares: a FastStream broker that reconnects for ever, the
streams (each declared by its one owner), and the AsyncAPI document.

Intake owns EVENTS (it is its writer); reporting owns REPORTS; each service writes its
dead letters to DEADLETTER, which every service may declare (same config everywhere)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from faststream.nats import NatsBroker, NatsUserPassword
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError

from shared.settings import ServiceSettings, nats_replicas, nats_servers
from shared.subjects import DEAD_LETTER_STREAM, EVENTS_STREAM, REPORTS_STREAM

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 120.0


def make_broker(settings: ServiceSettings) -> NatsBroker:
    """A broker whose connection survives NATS restarts (it reconnects without limit) and,
    given several servers (NATS_URL comma-separated), fails over between them."""
    security = (
        NatsUserPassword(settings.nats_user, settings.nats_password or "")
        if settings.nats_user
        else None
    )
    return NatsBroker(
        nats_servers(settings.nats_url),
        security=security,
        name=f"qianshou-{settings.name}",
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        graceful_timeout=10.0,
        js_options={"publish_async_max_pending": 4000},
        logger=log,
        log_level=logging.DEBUG,
    )


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """The broker's nats-py JetStream context (FastStream has no public accessor)."""
    js: JetStreamContext = broker.config.connection_state.stream
    return js


def connected(broker: NatsBroker) -> bool:
    try:
        return bool(broker.connection and broker.connection.is_connected)
    except Exception:  # the broker has not connected yet
        return False


def _stream(name: str, subjects: list[str], replicas: int) -> StreamConfig:
    """Limits retention with no age limit: EVENTS is the history reporting rebuilds from."""
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
        max_age=0,
    )


def events_stream(replicas: int = 1) -> StreamConfig:
    return _stream(EVENTS_STREAM, ["events.>"], replicas)


def reports_stream(replicas: int = 1) -> StreamConfig:
    return _stream(REPORTS_STREAM, ["reports.>"], replicas)


def dead_letter_stream(replicas: int = 1) -> StreamConfig:
    return _stream(DEAD_LETTER_STREAM, ["deadletter.>"], replicas)


def replicas(js: JetStreamContext) -> int:
    """Replicas for the streams and buckets a service creates: NATS_REPLICAS when set, else
    three when the server we are connected to is in a cluster (its INFO names one), else
    one. (Not the count of nodes now up: a service started while a node is down must not
    create R1 streams.)"""
    return replicas_for(nats_replicas(), bool(_server_info(js).get("cluster")))


def replicas_for(configured: int | None, clustered: bool) -> int:
    if configured is not None:
        return configured
    return 3 if clustered else 1


def _server_info(js: JetStreamContext) -> dict[str, Any]:
    return dict(getattr(js._nc, "_server_info", None) or {})


async def declare_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if it is missing. An existing one keeps its limits (they are the
    operator's), but one with fewer replicas than asked for is brought up to them (say an
    R1 stream from a single-node start, now on a cluster): never left at R1 silently. One
    with more replicas is left alone (an operator's R5 is not brought down to R3)."""
    try:
        info = await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s with %s replica(s)", config.name, config.num_replicas)
        return
    await raise_replicas(js, config.name or "", config.num_replicas or 1, info)


async def raise_replicas(
    js: JetStreamContext, name: str, want: int, info: StreamInfo | None = None
) -> None:
    """Bring an existing stream (or a bucket's) up to `want` replicas; never down."""
    info = info or await js.stream_info(name)
    have = info.config.num_replicas or 1
    if have < want:
        await js.update_stream(replace(info.config, num_replicas=want))
        log.warning("stream %s had %d replica(s): updated to %d", name, have, want)
    elif have > want:
        log.info("stream %s keeps its %d replicas (%d asked for)", name, have, want)


async def stream_exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
    except NotFoundError:
        return False
    return True
