"""The cluster chaos schedule: SIGKILL NATS nodes of a three-node cluster while traffic
flows, chosen by what they lead at that moment, and one window with two nodes down.

Kills cycle through: the EVENTS stream's leader, the leader of reporting's durable
consumer, a node leading neither; each victim is started again after a short pause and
must rejoin. Once in the run, two nodes are down together (the two that do not lead
EVENTS: its leader is left without quorum): intake keeps accepting into its outbox until
INTAKE_MAX_BACKLOG, then answers 503 with Retry-After; when the nodes return the relays
must catch up by themselves. The services themselves are not touched.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from deploy.natsserver import LocalNats, NatsCluster
from deploy.stack import SERVICES, Stack
from tests.faults.probe import ElectionProbe

ROLES = ("stream-leader", "consumer-leader", "non-leader")
REJOIN_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 90.0


@dataclass
class ClusterChaos:
    stack: Stack
    cluster: NatsCluster
    js: JetStreamContext
    rng: random.Random
    backlog: Callable[[], Awaitable[int]]  # intake's and scheduling's outboxes, now
    two_down_s: float = 8.0
    probe: ElectionProbe | None = None  # kept publishing across every kill
    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    not_ready: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    backlog_peak_two_down: int = 0
    two_down_windows: int = 0

    def plan(self, kills: int, span_s: float) -> list[tuple[float, str]]:
        """`kills` single-node kills cycling through the roles, evenly over the span with
        some jitter, and the two-nodes-down window at about 60% of it."""
        slots = kills + 1
        steps: list[tuple[float, str]] = []
        roles = [ROLES[i % len(ROLES)] for i in range(kills)]
        two_down_at = round(slots * 0.6)
        for slot in range(slots):
            at = span_s * (0.05 + 0.85 * (slot + self.rng.uniform(0.0, 0.3)) / slots)
            steps.append((at, "two-down" if slot == two_down_at else roles.pop(0)))
        return steps

    async def run(self, kills: int, span_s: float) -> None:
        start = time.monotonic()
        for at, step in self.plan(kills, span_s):
            wait = start + at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # the schedule itself, not synchronisation
            await asyncio.to_thread(self.revive_exited)
            stamp = f"{time.monotonic() - start:6.1f}s"
            if step == "two-down":
                await self.two_down(stamp)
            else:
                await self.kill_one(step, stamp)
        await asyncio.to_thread(self.revive_exited)

    async def kill_one(self, role: str, stamp: str) -> None:
        """SIGKILL the node in `role`, a short downtime, start it again, wait for rejoin."""
        victim = await self.victim(role)
        self.timeline.append(f"{stamp} kill -9 {victim.server_name} ({role})")
        await self._probe_start()
        await asyncio.to_thread(victim.kill)
        self.kills[role] += 1
        await asyncio.sleep(1.0)  # the node's downtime: the probe's windows meet it ...
        if self.probe is not None:
            self.probe.stop_soon()  # ... and the one in hand is retried until acknowledged
        await asyncio.sleep(self.rng.uniform(0.0, 2.0))
        await self._restart(victim)
        await self._probe_stop()

    async def _probe_start(self) -> None:
        if self.probe is not None:
            self.probe.start()
            await asyncio.sleep(0.3)  # windows in flight when the node dies

    async def _probe_stop(self) -> None:
        if self.probe is not None:
            await self.probe.stop()

    async def two_down(self, stamp: str) -> None:
        """Two nodes down together: no quorum for any stream; back after `two_down_s`."""
        leader = await self.leader_of_stream()
        victims = [n for n in self.cluster.nodes if n.server_name != leader][:2]
        names = ", ".join(v.server_name for v in victims)
        self.timeline.append(f"{stamp} kill -9 {names} (two down; {leader} left alone)")
        await self._probe_start()
        for victim in victims:
            await asyncio.to_thread(victim.kill)
        self.kills["two-down"] += 2
        await asyncio.sleep(1.0)
        if self.probe is not None:
            self.probe.stop_soon()
        self.two_down_windows += 1
        until = time.monotonic() + self.two_down_s
        while time.monotonic() < until:  # watch the outbox grow while there is no quorum
            try:
                self.backlog_peak_two_down = max(self.backlog_peak_two_down, await self.backlog())
            except Exception as exc:  # a database hiccup must not end the run
                self.timeline.append(f"backlog not read: {exc}")
            await asyncio.sleep(0.5)
        for victim in victims:
            await self._restart(victim)
        await self._probe_stop()

    async def _restart(self, node: LocalNats) -> None:
        try:
            await asyncio.to_thread(self.cluster.start_node, node, REJOIN_TIMEOUT_S)
            self.restarts[node.server_name] += 1
        except Exception as exc:
            self.not_ready.append(f"{node.server_name} did not rejoin: {exc}")
            self.timeline.append(f"NOT REJOINED {node.server_name}: {exc}")

    async def victim(self, role: str) -> LocalNats:
        stream_leader = await self.leader_of_stream()
        if role == "stream-leader":
            return self.cluster.node(stream_leader)
        consumer_leader = await self.leader_of_consumer("reporting")
        if role == "consumer-leader":
            return self.cluster.node(consumer_leader)
        others = [
            n for n in self.cluster.nodes if n.server_name not in (stream_leader, consumer_leader)
        ]
        if not others:  # one node leads both: any node but the stream leader
            others = [n for n in self.cluster.nodes if n.server_name != stream_leader]
        return self.rng.choice(others)

    async def leader_of_stream(self) -> str:
        async def ask() -> str | None:
            cluster = (await self.js.stream_info("EVENTS")).cluster
            return cluster.leader if cluster else None

        return await self._settled(ask, "EVENTS stream leader")

    async def leader_of_consumer(self, durable: str) -> str:
        async def ask() -> str | None:
            cluster = (await self.js.consumer_info("EVENTS", durable)).cluster
            return cluster.leader if cluster else None

        return await self._settled(ask, f"leader of consumer {durable}")

    async def _settled(self, ask: Callable[[], Awaitable[str | None]], what: str) -> str:
        """Ask until there is an answer (right after a kill, an election may be running)."""
        deadline = time.monotonic() + REJOIN_TIMEOUT_S
        while True:
            try:
                answer = await ask()
                if answer:
                    return answer
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no {what} within {REJOIN_TIMEOUT_S}s") from exc
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {what} within {REJOIN_TIMEOUT_S}s")
            await asyncio.sleep(0.2)

    def revive_exited(self) -> None:
        """A service that exited although nobody killed it: record it, start it again."""
        for name in SERVICES:
            if not self.stack.services[name].running():
                self.unexpected_exits[name] += 1
                self.timeline.append(f"unexpected exit of {name}")
                self.stack.start_service(name)
                try:
                    self.stack.wait_ready((name,), READY_TIMEOUT_S)
                except (TimeoutError, RuntimeError) as exc:
                    self.not_ready.append(f"after unexpected exit of {name}: {exc}")

    def summary(self) -> dict[str, object]:
        return {
            "kills": sum(self.kills.values()),
            "kills_by_role": dict(self.kills),
            "two_down_windows": self.two_down_windows,
            "outbox_peak_two_down": self.backlog_peak_two_down,
            "restarts": dict(self.restarts),
            "crash_points": {},
            "unexpected_exits": dict(self.unexpected_exits),
            "not_ready": self.not_ready,
        }
