"""The incident API (API.md "Incidents") and the breach management plan's endpoints."""

from typing import Any

from .report import IncidentViewSet


def api_urls() -> list[Any]:
    """Endpoints under /api/v1/ other than the incident viewset's own."""
    return []


__all__ = ["IncidentViewSet", "api_urls"]
