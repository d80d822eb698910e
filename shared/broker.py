"""The NATS side every service shares: a FastStream broker that reconnects for ever, the
streams (each declared by its one owner), and the AsyncAPI document.

Intake owns EVENTS (it is its writer); reporting owns REPORTS; each service writes its
dead letters to DEADLETTER, which every service may declare (same config everywhere)."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.settings import ServiceSettings
from shared.subjects import DEAD_LETTER_STREAM, EVENTS_STREAM, REPORTS_STREAM

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 120.0


def make_broker(settings: ServiceSettings) -> NatsBroker:
    """A broker whose connection survives NATS restarts (it reconnects without limit)."""
    url = settings.nats_url
    if settings.nats_user:
        scheme, _, rest = url.partition("://")
        url = f"{scheme}://{settings.nats_user}:{settings.nats_password or ''}@{rest}"
    return NatsBroker(
        url,
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
    return broker.config.connection_state.stream


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


async def declare_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if it is missing. An existing one is left as it is: in production
    its replicas and limits are the operator's (an update here would, say, bring an R3
    stream down to one replica on every start)."""
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", config.name)


async def stream_exists(js: JetStreamContext, name: str) -> bool:
    try:
        await js.stream_info(name)
    except NotFoundError:
        return False
    return True
