"""Factories that build through the services, so every incident has its clocks, timeline
and audit events, exactly as in production."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from breachdesk.models import OrgUnit
from incidents.choices import Category
from incidents.models import Incident
from incidents.services import incident_report


class IncidentFactory(factory.Factory[Incident]):
    class Meta:
        model = Incident

    title = factory.Sequence(lambda n: f"Lost case file {n}")
    description = "A case file was left in a café."
    category = Category.PAPERWORK_LOST_OR_INSECURE
    discovered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))

    @classmethod
    def _create(
        cls, model_class: type[Incident], *args: Any, reporter: User, org_unit: OrgUnit | None = None, **kwargs: Any
    ) -> Incident:
        unit = org_unit or reporter.profile.unit
        return incident_report(reporter=reporter, org_unit=unit, **kwargs)
