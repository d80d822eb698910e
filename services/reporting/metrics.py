"""Reporting's own Prometheus metrics."""

from prometheus_client import Gauge

UNASSIGNED_AGENCIES = Gauge(
    "qianshou_reporting_unassigned_agencies",
    "Agency ids with events but no registration in force: their events are kept and placed"
    " once they register (GET /v1/reports/unassigned lists them)",
)
