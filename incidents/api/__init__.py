"""The incident API (API.md "Incidents") and the breach management plan's endpoints."""

from typing import Any

from .report import IncidentViewSet


def api_urls() -> list[Any]:
    """Endpoints under /api/v1/ other than the incident viewset's own."""
    from .evidence import api_urls as evidence_api_urls
    from .plan import api_urls as plan_api_urls

    return [*plan_api_urls(), *evidence_api_urls()]


__all__ = ["IncidentViewSet", "api_urls"]
