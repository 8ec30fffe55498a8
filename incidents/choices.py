from django.db import models


class Category(models.TextChoices):
    """The ICO's incident types (API.md)."""

    EMAILED_TO_WRONG_RECIPIENT = "emailed_to_wrong_recipient", "Email sent to the wrong person"
    POSTED_OR_FAXED_TO_WRONG_RECIPIENT = "posted_or_faxed_to_wrong_recipient", "Post or fax sent to the wrong person"
    FAILURE_TO_USE_BCC = "failure_to_use_bcc", "Email addresses shown to others (BCC not used)"
    FAILURE_TO_REDACT = "failure_to_redact", "Information not redacted"
    DEVICE_LOST_OR_STOLEN = "device_lost_or_stolen", "Laptop, phone, memory stick or disk lost or stolen"
    PAPERWORK_LOST_OR_INSECURE = "paperwork_lost_or_insecure", "Paperwork or file lost, or left somewhere insecure"
    VERBAL_DISCLOSURE = "verbal_disclosure", "Told to someone who should not know"
    UNAUTHORISED_ACCESS = "unauthorised_access", "Someone accessed data they should not have"
    RANSOMWARE = "ransomware", "Ransomware"
    PHISHING = "phishing", "Phishing"
    OTHER_CYBER = "other_cyber", "Other cyber incident"
    OTHER_NON_CYBER = "other_non_cyber", "Something else"


CYBER_CATEGORIES = frozenset({Category.RANSOMWARE, Category.PHISHING, Category.OTHER_CYBER})


class DataCategory(models.TextChoices):
    """The ICO breach report form's list of data types (API.md)."""

    RACIAL_ETHNIC_ORIGIN = "racial_ethnic_origin", "Racial or ethnic origin"
    POLITICAL_OPINIONS = "political_opinions", "Political opinions"
    RELIGIOUS_BELIEFS = "religious_beliefs", "Religious or philosophical beliefs"
    TRADE_UNION = "trade_union", "Trade union membership"
    SEX_LIFE = "sex_life", "Sex life"
    SEXUAL_ORIENTATION = "sexual_orientation", "Sexual orientation"
    GENDER_REASSIGNMENT = "gender_reassignment", "Gender reassignment"
    HEALTH = "health", "Health"
    BASIC_IDENTIFIERS = "basic_identifiers", "Basic identifiers (name, address, contact details)"
    IDENTIFICATION_DATA = "identification_data", "Identification data (usernames, passwords)"
    ECONOMIC_FINANCIAL = "economic_financial", "Economic or financial data"
    OFFICIAL_DOCUMENTS = "official_documents", "Official documents (driving licences, passports)"
    LOCATION = "location", "Location data"
    GENETIC_BIOMETRIC = "genetic_biometric", "Genetic or biometric data"
    CRIMINAL_OFFENCE = "criminal_offence", "Criminal convictions or offences"
    NOT_KNOWN = "not_known", "Not yet known"
    OTHER = "other", "Other"


class SubjectCategory(models.TextChoices):
    OFFENDERS = "offenders", "Offenders"
    VICTIMS = "victims", "Victims"
    WITNESSES = "witnesses", "Witnesses"
    STAFF = "staff", "Staff"
    PUBLIC = "public", "Members of the public"
    CHILDREN = "children", "Children"
    VULNERABLE_ADULTS = "vulnerable_adults", "Vulnerable adults"
    PATIENTS = "patients", "Patients"
    CUSTOMERS = "customers", "Customers"
    NOT_KNOWN = "not_known", "Not yet known"
    OTHER = "other", "Other"


class Encryption(models.TextChoices):
    NONE = "none", "Not encrypted"
    ENCRYPTED = "encrypted", "Encrypted"
    UNKNOWN = "unknown", "Not known"


class Status(models.TextChoices):
    REPORTED = "reported", "Reported"
    UNDER_INVESTIGATION = "under_investigation", "Under investigation"
    CONTAINED = "contained", "Contained"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = frozenset({Status.REPORTED, Status.UNDER_INVESTIGATION, Status.CONTAINED})


class TimelineKind(models.TextChoices):
    REPORTED = "reported", "Reported"
    NOTE = "note", "Note"
    UPDATED = "updated", "Details updated"
