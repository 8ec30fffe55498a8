from django.db import models


class UnitLevel(models.TextChoices):
    NATIONAL = "national", "National"
    REGION = "region", "Region"
    AREA = "area", "Area"
    UNIT = "unit", "Unit"


class Role(models.TextChoices):
    """Roles of DOMAIN.md s.8. A person may hold several, each attached to a unit."""

    REPORTER = "reporter", "Staff (reporter)"
    LINE_MANAGER = "line_manager", "Line manager"
    ISR = "isr", "Information Security Representative"
    ISIM = "isim", "Information Security Incident Manager"
    CHIEF_OFFICER = "chief_officer", "Chief Officer"
    DEPUTY_CHIEF_OFFICER = "deputy_chief_officer", "Deputy Chief Officer"
    SCS = "scs", "Senior Civil Service member"
    DPO = "dpo", "Data Protection Officer"
    SIRO = "siro", "Senior Information Risk Owner"
    PRESS_OFFICE = "press_office", "Press Office"
    LEGAL = "legal", "Legal adviser"


# Roles that see every incident in their unit and the units below it (DESIGN.md "Access").
UNIT_SCOPED_ROLES = frozenset(
    {
        Role.LINE_MANAGER,
        Role.ISR,
        Role.ISIM,
        Role.CHIEF_OFFICER,
        Role.DEPUTY_CHIEF_OFFICER,
        Role.SCS,
    }
)
# Roles that see everything, wherever they are attached.
GLOBAL_ROLES = frozenset({Role.SIRO, Role.DPO})
# Roles allowed to read the audit trail of the whole organisation.
AUDIT_VERIFY_ROLES = frozenset({Role.SIRO, Role.DPO})
