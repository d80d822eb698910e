"""The national figure from region shards: the sum of the shards' summaries, each asked
for the regions it serves (`qianshou reporting national`).

Shards serve disjoint regions and an agency is in one region, so counts and distinct
clients add up; the licensed rate is recomputed from the sums; `as_of` is the oldest of
the shards' (the national figure is only as fresh as its slowest shard). An agency without
a registration in force counts in no region, and so not in the nation either (SPEC 3.6
"Unregistered agencies"; `GET /v1/reports/unassigned` lists it): the regions add up to the
unsharded instance's national summary in every figure but a pairing's (below).

A pairing's figures (pairings_active, staff_days_target, its trainings, staff-days and
milestones) count in every region that holds one of its two sides, once per region, and
once in the unsharded national summary. Milestones are listed by pairing, so a milestone
seen in both sides' regions is listed once here; the other pairing figures are sums, and a
pairing whose sides are in two of the regions asked counts in each of them (as adding up
those regions' summaries by hand would). Across shards a pairing counts where its events
are: each shard holds the trainings, dispatches and milestones its own side reported, and
the pairing's target where its pairing-established was published, so a pairing whose sides
two shards serve counts once in the national sum but only in part in each side's region.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

DROPPED = ("scope", "breakdown")


def add_up(summaries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One summary that is the sum of several (SPEC 3.5's fields)."""
    total: dict[str, Any] = {}
    as_of: list[str] = []
    for one in summaries:
        for key, value in one.items():
            if key in DROPPED:
                continue
            if key == "as_of":
                if value:
                    as_of.append(str(value))
                continue
            total[key] = _add(total.get(key), value)
    if "milestones" in total:  # once, though both sides' regions list it
        unique = {
            (m["pairing_id"], m["milestone"], m["reached_on"]): m for m in total["milestones"]
        }
        total["milestones"] = [unique[k] for k in sorted(unique)]
    if "workers_total" in total:
        workers, licensed = total["workers_total"], total.get("workers_licensed", 0)
        total["licensed_rate"] = round(licensed / workers, 4) if workers else None
    total["as_of"] = min(as_of) if as_of else None
    return total


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add(a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys())}
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, bool) or isinstance(b, bool):
        return a or b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    raise ValueError(f"cannot add {a!r} and {b!r}")


def national(
    shards: Mapping[str, list[str]], token: str, params: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Ask every shard (base URL -> the region prefixes it serves) for each of its regions,
    and add the answers up."""
    parts: list[dict[str, Any]] = []
    asked: list[dict[str, Any]] = []
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        for url, regions in sorted(shards.items()):
            for region in regions:
                resp = http.get(
                    f"{url}/v1/reports/summary", params={**(params or {}), "region": region}
                )
                if resp.status_code != 200:
                    raise RuntimeError(
                        f"{url} region {region}: HTTP {resp.status_code} {resp.text}"
                    )
                body = resp.json()
                parts.append(body)
                asked.append({"url": url, "region": region, "as_of": body.get("as_of")})
    return {"shards": asked, "summary": add_up(parts)}
