"""The provincial dashboard: zh-CN pages under /dashboard, served by reporting, for the
principal's read scope. Charts are Apache ECharts from this folder's node_modules."""

from services.reporting.dashboard.routes import mount

__all__ = ["mount"]
