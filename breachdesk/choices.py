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
    # The national list the Chief Officer informs within one hour (PC02-8). Roles, not names.
    DIRECTOR_GENERAL = "director_general", "Director-General"
    CHIEF_OPERATING_OFFICER = "chief_operating_officer", "Chief Operating Officer"
    SECRETARY_OF_STATE_OFFICE = "secretary_of_state_office", "Secretary of State's office"
    PERMANENT_SECRETARY_OFFICE = "permanent_secretary_office", "Permanent Secretary's office"
    MINISTERS_OFFICE = "ministers_office", "Junior Ministers' offices and Special Advisers"
    DIRECTOR_OFFENDER_MANAGEMENT = "director_offender_management", "Director of Offender Management / ROM"
    INFORMATION_DIRECTOR = "information_director", "Information Director"
    COMMUNICATIONS_DIRECTOR = "communications_director", "Director of Communications"
    HEAD_OF_NEWS = "head_of_news", "Head of News"
    CIO = "cio", "Chief Information Officer"
    DIRECTOR_OF_PROBATION = "director_of_probation", "Director of Probation"
    HEAD_OF_IT_SECURITY = "head_of_it_security", "Head of IT Security"
    INFORMATION_SECURITY_TEAM = "information_security_team", "Information Security Team"
    PRESS_NEWS_DESK = "press_news_desk", "Press Office News Desk (out-of-hours pager)"


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

# PC02-8: everyone the Chief Officer (or deputy) must inform within one hour. The local
# security representative is the ISR nearest the incident.
NATIONAL_LIST_ROLES: tuple[Role, ...] = (
    Role.DIRECTOR_GENERAL,
    Role.CHIEF_OPERATING_OFFICER,
    Role.SECRETARY_OF_STATE_OFFICE,
    Role.PERMANENT_SECRETARY_OFFICE,
    Role.MINISTERS_OFFICE,
    Role.DIRECTOR_OFFENDER_MANAGEMENT,
    Role.INFORMATION_DIRECTOR,
    Role.COMMUNICATIONS_DIRECTOR,
    Role.HEAD_OF_NEWS,
    Role.SIRO,
    Role.CIO,
    Role.DIRECTOR_OF_PROBATION,
    Role.HEAD_OF_IT_SECURITY,
    Role.INFORMATION_SECURITY_TEAM,
    Role.ISR,
    Role.PRESS_NEWS_DESK,
)


class ControlKind(models.TextChoices):
    """The East Midlands enforcement conditions (DOMAIN.md s.7)."""

    SIRO_APPOINTED = "siro_appointed", "SIRO appointed"
    PREMISES_RISK_ASSESSED = "premises_risk_assessed", "Premises risk-assessed"
    MEDIA_ENCRYPTED = "media_encrypted", "Portable devices and removable media encrypted"
    STAFF_TRAINED = "staff_trained", "Staff trained in data protection within the last two years"
    SHARING_AGREEMENT = "sharing_agreement", "Data sharing agreement in place"


class ControlSubject(models.TextChoices):
    UNIT = "unit", "Unit"
    PROJECT = "project", "Collaborative project"
    PROCESSOR = "processor", "Processor or contractor"


# Which controls each kind of subject must have in place. A unit inherits what is recorded
# for the units above it; its own record, when there is one, stands instead.
REQUIRED_CONTROLS: dict[str, tuple[ControlKind, ...]] = {
    ControlSubject.UNIT: (ControlKind.PREMISES_RISK_ASSESSED, ControlKind.MEDIA_ENCRYPTED, ControlKind.STAFF_TRAINED),
    ControlSubject.PROJECT: (
        ControlKind.SIRO_APPOINTED,
        ControlKind.SHARING_AGREEMENT,
        ControlKind.MEDIA_ENCRYPTED,
        ControlKind.STAFF_TRAINED,
    ),
    ControlSubject.PROCESSOR: (ControlKind.SHARING_AGREEMENT, ControlKind.MEDIA_ENCRYPTED, ControlKind.STAFF_TRAINED),
}


# Who may see the SIRO summary of incidents across units.
SUMMARY_ROLES = GLOBAL_ROLES | {Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER, Role.SCS, Role.ISIM}
