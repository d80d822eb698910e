"""The chaos schedule: SIGKILL a random service at random moments and restart it, and
restart NATS and PostgreSQL once each, and make intake die at each of its named crash
points once, while traffic flows.

Every step has a deadline. A service that exits without being killed, or is not ready
again within the deadline after a restart, is recorded (that is a bug the run exposes)
and then started again so the run can finish and measure the damage.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from deploy.natsserver import LocalNats
from deploy.postgres import LocalPostgres
from deploy.stack import SERVICES, Stack

READY_TIMEOUT_S = 90.0
CRASH_TIMEOUT_S = 30.0


@dataclass
class Chaos:
    stack: Stack
    nats: LocalNats
    postgres: LocalPostgres
    rng: random.Random
    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    not_ready: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)

    def plan(self, kills: int, span_s: float) -> list[tuple[float, str]]:
        """When to do what: `kills` kills (every service at least once when kills >= 3),
        NATS restarted at about a third of the span, PostgreSQL at about two thirds."""
        victims = list(SERVICES) if kills >= len(SERVICES) else []
        self.rng.shuffle(victims)
        victims += [self.rng.choice(SERVICES) for _ in range(kills - len(victims))]
        moments = sorted(self.rng.uniform(0.03, 0.92) * span_s for _ in victims)
        steps = [(t, f"kill:{name}") for t, name in zip(moments, victims, strict=True)]
        steps += [(span_s * self.rng.uniform(0.3, 0.4), "restart:nats")]
        # The named crash points of intake (shared/faults.py): dying right after the commit
        # (stored, never answered: the ledger's unknown-but-recorded case) and right after
        # the relay's PubAck (published, not yet marked: re-published after restart).
        steps += [(span_s * self.rng.uniform(0.45, 0.55), "crash:intake.after_commit")]
        steps += [(span_s * self.rng.uniform(0.75, 0.85), "crash:intake.relay.after_publish")]
        steps += [(span_s * self.rng.uniform(0.6, 0.7), "restart:postgres")]
        return sorted(steps)

    async def run(self, kills: int, span_s: float) -> None:
        start = time.monotonic()
        for at, step in self.plan(kills, span_s):
            wait = start + at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # the schedule itself, not synchronisation
            await asyncio.to_thread(self.revive_exited)
            what, name = step.split(":")
            self.timeline.append(f"{time.monotonic() - start:6.1f}s {step}")
            if what == "kill":
                await asyncio.to_thread(self.kill, name)
            elif what == "crash":
                await asyncio.to_thread(self.crash_at, name)
            elif name == "nats":
                await asyncio.to_thread(self.restart_nats)
            else:
                await asyncio.to_thread(self.restart_postgres)
        await asyncio.to_thread(self.revive_exited)

    def kill(self, name: str) -> None:
        """SIGKILL, a short random downtime, start again, wait until ready."""
        self.stack.services[name].kill()
        self.kills[name] += 1
        time.sleep(self.rng.uniform(0.0, 1.5))  # downtime: requests meet a closed port
        self.stack.start_service(name)
        self.restarts[name] += 1
        self._wait_ready((name,), f"after kill of {name}")

    def crash_at(self, point: str) -> None:
        """Restart intake with a crash point armed, wait (bounded) until traffic makes it
        die there, then start it again unarmed."""
        self.stack.services["intake"].kill()
        self.kills["intake"] += 1
        self.stack.extra_env["QIANSHOU_FAULTS"] = point
        try:
            proc = self.stack.start_service("intake")
        finally:
            del self.stack.extra_env["QIANSHOU_FAULTS"]
        deadline = time.monotonic() + CRASH_TIMEOUT_S
        while proc.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.running():
            self.timeline.append(f"crash point {point} not reached in {CRASH_TIMEOUT_S}s")
            proc.kill()
        else:
            self.crashes[point] += 1
        self.stack.start_service("intake")
        self.restarts["intake"] += 1
        self._wait_ready(("intake",), f"after crash point {point}")

    def restart_nats(self) -> None:
        self.nats.stop()
        time.sleep(self.rng.uniform(1.0, 3.0))  # the outage
        self.nats.start()
        self.restarts["nats"] += 1
        self._wait_ready(SERVICES, "after NATS restart")

    def restart_postgres(self) -> None:
        self.postgres.stop()
        time.sleep(self.rng.uniform(1.0, 3.0))  # the outage
        self.postgres.start()
        self.restarts["postgres"] += 1
        self._wait_ready(SERVICES, "after PostgreSQL restart")

    def revive_exited(self) -> None:
        """A service that exited although nobody killed it: record it, start it again."""
        for name in SERVICES:
            if not self.stack.services[name].running():
                self.unexpected_exits[name] += 1
                self.timeline.append(f"unexpected exit of {name}")
                self.stack.start_service(name)
                self._wait_ready((name,), f"after unexpected exit of {name}")

    def _wait_ready(self, names: tuple[str, ...], when: str) -> None:
        try:
            self.stack.wait_ready(names, READY_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            self.not_ready.append(f"{when}: {exc}")
            self.timeline.append(f"NOT READY {when}: {exc}")

    def summary(self) -> dict[str, object]:
        return {
            "kills": sum(self.kills.values()),
            "kills_by_service": dict(self.kills),
            "crash_points": dict(self.crashes),
            "restarts": dict(self.restarts),
            "unexpected_exits": dict(self.unexpected_exits),
            "not_ready": self.not_ready,
        }
