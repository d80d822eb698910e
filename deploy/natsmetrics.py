"""JetStream metrics on a laptop: reads nats-server's monitoring endpoints (`/varz`,
`/jsz?consumers=true&config=true&raft=true`) and serves them under the names and labels of
the official prometheus-nats-exporter as the NATS Helm chart runs it (`-prefix=nats
-use_internal_server_id -varz -jsz=all`), so the alert rules and the dashboard in
deploy/monitoring work unchanged locally and in a cluster.

`qianshou up` serves them on 127.0.0.1:7777 (QIANSHOU_NATS_METRICS_PORT; 0 turns it off), the
exporter's own port. Only the series the rules, the dashboard and an operator need are
reproduced: the exporter's whole `jsz` collector, and every number of `/varz`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.settings import nats_metrics

log = logging.getLogger(__name__)

DEFAULT_PORT = 7777  # the exporter's port in the Helm chart
PREFIX = "nats"

SERVER_LABELS = ["server_id", "server_name", "cluster", "domain", "meta_leader", "is_meta_leader"]
ACCOUNT_LABELS = [*SERVER_LABELS, "account", "account_name", "account_id"]
STREAM_LABELS = [*ACCOUNT_LABELS, "stream_name", "stream_leader", "is_stream_leader"]
STREAM_LABELS.append("stream_raft_group")
CONSUMER_LABELS = [*STREAM_LABELS, "consumer_name", "consumer_leader", "is_consumer_leader"]
CONSUMER_LABELS.append("consumer_desc")

# name: (help, labels); the exporter's jsz series (collector/jsz.go).
JSZ_SERIES: dict[str, tuple[str, list[str]]] = {
    "server_jetstream_disabled": ("JetStream disabled or not", SERVER_LABELS),
    "server_total_streams": ("Total number of streams in JetStream", SERVER_LABELS),
    "server_total_consumers": ("Total number of consumers in JetStream", SERVER_LABELS),
    "server_total_messages": ("Total number of stored messages in JetStream", SERVER_LABELS),
    "server_total_message_bytes": ("Total number of bytes stored in JetStream", SERVER_LABELS),
    "server_max_memory": ("JetStream Max Memory", SERVER_LABELS),
    "server_max_storage": ("JetStream Max Storage", SERVER_LABELS),
    "account_max_memory": ("JetStream max memory reserved for the account", ACCOUNT_LABELS),
    "account_max_storage": ("JetStream max storage reserved for the account", ACCOUNT_LABELS),
    "account_storage_used": ("Total storage used by the account", ACCOUNT_LABELS),
    "account_memory_used": ("Total memory used by the account", ACCOUNT_LABELS),
    "stream_total_messages": ("Total number of messages from a stream", STREAM_LABELS),
    "stream_total_bytes": ("Total stored bytes from a stream", STREAM_LABELS),
    "stream_first_seq": ("First sequence from a stream", STREAM_LABELS),
    "stream_last_seq": ("Last sequence from a stream", STREAM_LABELS),
    "stream_consumer_count": ("Total number of consumers from a stream", STREAM_LABELS),
    "stream_subject_count": ("Total number of subjects in a stream", STREAM_LABELS),
    "stream_limit_bytes": ("The stream's configured byte limit (-1: none)", STREAM_LABELS),
    "stream_limit_messages": ("The stream's configured message limit (-1: none)", STREAM_LABELS),
    "consumer_delivered_consumer_seq": (
        "Latest sequence number of a stream consumer",
        CONSUMER_LABELS,
    ),
    "consumer_delivered_stream_seq": ("Latest sequence number of a stream", CONSUMER_LABELS),
    "consumer_last_delivery_seconds": ("Seconds since the last delivery", CONSUMER_LABELS),
    "consumer_last_ack_seconds": ("Seconds since the ack floor last moved", CONSUMER_LABELS),
    "consumer_num_ack_pending": ("Number of pending acks from a consumer", CONSUMER_LABELS),
    "consumer_num_redelivered": ("Number of redelivered messages from a consumer", CONSUMER_LABELS),
    "consumer_num_waiting": (
        "Number of inflight fetch requests from a pull consumer",
        CONSUMER_LABELS,
    ),
    "consumer_num_pending": ("Number of pending messages from a consumer", CONSUMER_LABELS),
    "consumer_ack_floor_stream_seq": ("Ack floor stream seq from a consumer", CONSUMER_LABELS),
    "consumer_ack_floor_consumer_seq": ("Ack floor consumer seq from a consumer", CONSUMER_LABELS),
}

# /varz objects the exporter does not flatten into series.
_VARZ_SKIPPED = {"cluster", "gateway", "leaf", "trusted_operators_claim"}


def _timestamp(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-"):
        return None
    # Go prints nanoseconds; Python's fromisoformat takes at most microseconds.
    head, _, rest = value.partition(".")
    if rest:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def varz_series(varz: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """Every number of /varz as `varz_<field>` (nested objects joined by `_`), as the
    exporter's generic collector does; strings, booleans and lists have no series."""

    def walk(prefix: str, obj: dict[str, Any]) -> Iterator[tuple[str, float]]:
        for key, value in obj.items():
            name = f"{prefix}_{key}"
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                yield name, float(value)
            elif isinstance(value, dict) and key not in _VARZ_SKIPPED:
                yield from walk(name, value)

    yield from walk("varz", varz)


def jsz_samples(
    jsz: dict[str, Any], varz: dict[str, Any]
) -> Iterator[tuple[str, list[str], float]]:
    """(series, label values, value) for one server, as the exporter's jsz collector."""
    server_id = str(varz.get("server_id", ""))
    server_name = str(varz.get("server_name", ""))
    meta = jsz.get("meta_cluster")
    cluster = str(meta.get("name", "")) if meta else ""
    leader = str(meta.get("leader", "")) if meta else ""
    is_meta_leader = "true" if meta is None or leader == server_name else "false"
    domain = str((jsz.get("config") or {}).get("domain", ""))
    server = [server_id, server_name, cluster, domain, leader, is_meta_leader]
    config = jsz.get("config") or {}
    yield "server_jetstream_disabled", server, 1.0 if jsz.get("disabled") else 0.0
    yield "server_max_memory", server, float(config.get("max_memory", 0))
    yield "server_max_storage", server, float(config.get("max_storage", 0))
    yield "server_total_streams", server, float(jsz.get("streams", 0))
    yield "server_total_consumers", server, float(jsz.get("consumers", 0))
    yield "server_total_messages", server, float(jsz.get("messages", 0))
    yield "server_total_message_bytes", server, float(jsz.get("bytes", 0))
    for account in jsz.get("account_details") or []:
        name = str(account.get("name", ""))
        labels = [*server, name, name, str(account.get("id", ""))]
        yield "account_max_storage", labels, float(account.get("reserved_storage", 0))
        yield "account_max_memory", labels, float(account.get("reserved_memory", 0))
        yield "account_storage_used", labels, float(account.get("storage", 0))
        yield "account_memory_used", labels, float(account.get("memory", 0))
        for stream in account.get("stream_detail") or []:
            stream_leader = str((stream.get("cluster") or {}).get("leader", ""))
            is_leader = (
                "true" if not stream.get("cluster") or stream_leader == server_name else "false"
            )
            slabels = [
                *labels,
                str(stream.get("name", "")),
                stream_leader,
                is_leader,
                str(stream.get("stream_raft_group", "")),
            ]
            state = stream.get("state") or {}
            yield "stream_total_messages", slabels, float(state.get("messages", 0))
            yield "stream_total_bytes", slabels, float(state.get("bytes", 0))
            yield "stream_first_seq", slabels, float(state.get("first_seq", 0))
            yield "stream_last_seq", slabels, float(state.get("last_seq", 0))
            yield "stream_consumer_count", slabels, float(state.get("consumer_count", 0))
            yield "stream_subject_count", slabels, float(state.get("num_subjects", 0))
            if stream.get("config") is not None:
                yield "stream_limit_bytes", slabels, float(stream["config"].get("max_bytes", -1))
                yield "stream_limit_messages", slabels, float(stream["config"].get("max_msgs", -1))
            for consumer in stream.get("consumer_detail") or []:
                consumer_leader = str((consumer.get("cluster") or {}).get("leader", ""))
                c_is_leader = (
                    "true"
                    if not consumer.get("cluster") or consumer_leader == server_name
                    else "false"
                )
                clabels = [
                    *slabels,
                    str(consumer.get("name", "")),
                    consumer_leader,
                    c_is_leader,
                    str((consumer.get("config") or {}).get("description", "")),
                ]
                delivered = consumer.get("delivered") or {}
                floor = consumer.get("ack_floor") or {}
                now = _timestamp(consumer.get("ts"))
                for series, key in (
                    ("consumer_last_delivery_seconds", delivered),
                    ("consumer_last_ack_seconds", floor),
                ):
                    last = _timestamp(key.get("last_active"))
                    if now is not None and last is not None:
                        yield series, clabels, (now - last).total_seconds()
                yield (
                    "consumer_delivered_consumer_seq",
                    clabels,
                    float(delivered.get("consumer_seq", 0)),
                )
                yield (
                    "consumer_delivered_stream_seq",
                    clabels,
                    float(delivered.get("stream_seq", 0)),
                )
                yield "consumer_num_ack_pending", clabels, float(consumer.get("num_ack_pending", 0))
                yield "consumer_num_redelivered", clabels, float(consumer.get("num_redelivered", 0))
                yield "consumer_num_waiting", clabels, float(consumer.get("num_waiting", 0))
                yield "consumer_num_pending", clabels, float(consumer.get("num_pending", 0))
                yield "consumer_ack_floor_stream_seq", clabels, float(floor.get("stream_seq", 0))
                yield (
                    "consumer_ack_floor_consumer_seq",
                    clabels,
                    float(floor.get("consumer_seq", 0)),
                )


class NatsCollector(Collector):
    """Scrapes each monitoring URL when Prometheus scrapes us; an unreachable server is left
    out of that scrape (as the exporter does), not an error."""

    def __init__(self, monitor_urls: Iterable[str], timeout_s: float = 5.0):
        self.urls = [u.rstrip("/") for u in monitor_urls]
        self.timeout_s = timeout_s

    def fetch(self, url: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                jsz = client.get(f"{url}/jsz?consumers=true&config=true&raft=true")
                varz = client.get(f"{url}/varz")
                jsz.raise_for_status()
                varz.raise_for_status()
                return jsz.json(), varz.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("ignoring NATS monitor %s: %s", url, exc)
            return None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            name: GaugeMetricFamily(f"{PREFIX}_{name}", text, labels=labels)
            for name, (text, labels) in JSZ_SERIES.items()
        }
        varz_families: dict[str, GaugeMetricFamily] = {}
        for url in self.urls:
            fetched = self.fetch(url)
            if fetched is None:
                continue
            jsz, varz = fetched
            for name, labels, value in jsz_samples(jsz, varz):
                families[name].add_metric(labels, value)
            for name, value in varz_series(varz):
                family = varz_families.get(name)
                if family is None:
                    family = GaugeMetricFamily(f"{PREFIX}_{name}", name, labels=["server_id"])
                    varz_families[name] = family
                family.add_metric([str(varz.get("server_id", ""))], value)
        yield from families.values()
        yield from varz_families.values()

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # the /varz series depend on the server: checked at scrape time


def metrics_port() -> int:
    return nats_metrics()[0]


def serve(monitor_urls: Iterable[str], port: int, host: str = "127.0.0.1") -> Any:
    """Serve the metrics on http://host:port/metrics from a background (daemon) thread;
    returns the HTTP server (`.shutdown()` stops it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NatsCollector(monitor_urls))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
