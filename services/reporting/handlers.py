"""The events reporting consumes: the registry is facts.FACTS (each type mapped to the fact
rows it adds), applied by projections.apply; the subscription filter is derived from it."""

from services.reporting.facts import CONSUMED_TYPES
from shared.consumer import EventConsumer

CONSUMER = EventConsumer(service="reporting", durable="reporting", event_types=CONSUMED_TYPES)
