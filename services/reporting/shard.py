"""Region-sharded reporting: which events a reporting instance consumes and which
questions it answers. Plain logic; the consumer and the HTTP routes use it.

A shard (`REPORTING_REGIONS=22,11`) serves the agencies whose region code starts with one
of its prefixes. NATS wildcards match whole subject tokens only, and the region token of
`events.<region_code>.<agency_id>.<type>` is the agency's full code (`220102`), so a prefix
cannot be a filter by itself: the shard's one durable consumer filters on the region
tokens under its prefixes that exist on EVENTS (found from the `agency-registered`
subjects; a new one is added, and caught up from the start, when it appears), plus:

- every `agency-registered` event, from every region: the shard knows each agency's
  region (to refuse, and to point a caller to the right instance), and an agency that
  moves in is recognised;
- every `period-approved` (SPEC 3.9), from every region: an approval goes under a region
  prefix token (`events.2224.reporting.period-approved`), never an agency's full code, and
  a shard keeps them all (reads are refused outside its regions, as for any question);
- every event under `unassigned` (agencies whose registration intake did not know yet):
  like the unsharded instance, a shard keeps them and counts them for the agency's region
  once it is registered; a shard never answers for regions outside its own, so an agency
  registered elsewhere adds nothing to its answers.

Limit: an agency that moves between shards takes its earlier events' subjects with it
only on the shard that had them; the receiving shard counts its history after a
`qianshou reporting rebuild` there (which replays every subject the shard consumes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.errors import Misdirected, field_error
from shared.subjects import UNASSIGNED_REGION

REGISTRATION = "agency-registered"
REGISTRATIONS = f"events.*.*.{REGISTRATION}"
FROM_EVERY_REGION = (REGISTRATION, "period-approved")


@dataclass(frozen=True)
class Shard:
    """The regions an instance serves (none: every region, unsharded) and where the
    others are served (`REPORTING_SHARDS`)."""

    regions: tuple[str, ...] = ()
    directory: Mapping[str, str] = field(default_factory=dict)

    @property
    def sharded(self) -> bool:
        return bool(self.regions)

    @property
    def durable(self) -> str:
        """One durable consumer per shard (the unsharded one keeps its old name)."""
        return "reporting-" + "-".join(self.regions) if self.regions else "reporting"

    def covers(self, region_code: str | None) -> bool:
        """An agency's (or a requested) region lies inside this shard."""
        if not self.sharded:
            return True
        return region_code is not None and any(region_code.startswith(p) for p in self.regions)

    def tokens(self, seen: Iterable[str]) -> set[str]:
        """The region tokens on EVENTS that belong to this shard."""
        return {t for t in seen if t != UNASSIGNED_REGION and self.covers(t)}

    def filter_subjects(self, tokens: Iterable[str], event_types: Sequence[str]) -> list[str]:
        """The durable's filters. NATS refuses overlapping filters, so registrations and
        approvals (taken from every region) are left out of the per-region lists."""
        types = [t for t in event_types if t not in FROM_EVERY_REGION]
        if not self.sharded:
            return [f"events.*.*.{t}" for t in event_types]
        out = [f"events.*.*.{t}" for t in FROM_EVERY_REGION if t in event_types]
        for token in sorted({UNASSIGNED_REGION, *tokens}):
            out += [f"events.{token}.*.{t}" for t in types]
        return out

    def where(self, region_code: str) -> str | None:
        """The instance serving a region, by the longest prefix in the directory."""
        matches = [p for p in self.directory if region_code.startswith(p)]
        return self.directory[max(matches, key=len)] if matches else None

    def check(self, region: str | None, agency_regions: Mapping[str, str | None]) -> None:
        """Refuse a question this shard cannot answer whole: a region not inside its own,
        an agency (or a pairing's or project's agencies) registered elsewhere, or the
        whole country. The answer says which instance to ask."""
        if not self.sharded:
            return
        mine = ", ".join(self.regions)
        if region is not None:
            if not self.covers(region):
                raise self._elsewhere("region", region, f"region {region} is not served here")
            return
        if not agency_regions:
            raise Misdirected(
                f"this reporting instance serves regions {mine} only: ask with region=, or "
                "add up every shard (qianshou reporting national)",
                [field_error("region", f"one of {mine}, or a region inside them", "wrong_shard")],
            )
        for agency, code in sorted(agency_regions.items()):
            if not self.covers(code):
                raise self._elsewhere(
                    "agency", code, f"agency {agency!r} is in region {code or 'unknown'}"
                )

    def _elsewhere(self, path: str, region_code: str | None, what: str) -> Misdirected:
        url = self.where(region_code) if region_code else None
        ask = f"ask {url}" if url else "ask the instance serving it (REPORTING_SHARDS)"
        message = f"{what}; this reporting instance serves regions {', '.join(self.regions)}: {ask}"
        return Misdirected(message, [field_error(path, ask, "wrong_shard")])


def region_tokens(subjects: Iterable[str]) -> set[str]:
    """The region tokens of EVENTS subjects (`events.<region>.<agency>.<type>`)."""
    return {s.split(".")[1] for s in subjects if s.count(".") == 3}
