"""Reporting's durable consumer on EVENTS: every type that moves a KPI."""

from services.reporting.facts import CONSUMED_TYPES
from shared.consumer import EventConsumer

CONSUMER = EventConsumer(service="reporting", durable="reporting", event_types=CONSUMED_TYPES)
