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
    STATUS_CHANGED = "status_changed", "Status changed"
    PLAN = "plan", "Breach management plan"


class PlanElement(models.TextChoices):
    """The ICO's four elements of breach management (DOMAIN.md s.5)."""

    CONTAINMENT = "containment", "Containment and recovery"
    ASSESSMENT = "assessment", "Assessment of ongoing risk"
    NOTIFICATION = "notification", "Notification of breach"
    EVALUATION = "evaluation", "Evaluation and response"


class ActionKind(models.TextChoices):
    CONTAINMENT = "containment", "Containment and recovery"
    IMPROVEMENT = "improvement", "Improvement"


class ActionTopic(models.TextChoices):
    """What an improvement action changes (evaluation and response)."""

    PROCEDURE = "procedure", "Procedure or guidance"
    TRAINING = "training", "Training or supervision"
    TECHNICAL = "technical", "Technical measure"
    PROCESSOR_CONTRACT = "processor_contract", "Processor or contract follow-up"
    AUDIT = "audit", "Audit"
    OTHER = "other", "Other"


class ActionState(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"
    NOT_DONE = "not_done", "Not done (explained)"


class Party(models.TextChoices):
    """Who was told (notification of breach, apart from the ICO: see IcoSubmission)."""

    DATA_SUBJECTS = "data_subjects", "The people affected"
    POLICE = "police", "Police"
    PARTNER = "partner", "Partner organisation"
    PROCESSOR = "processor", "Processor or contractor"
    PRESS = "press", "Press line (cleared by the Press Office)"
    BRIEFING = "briefing", "Briefing (Private Office, Press Office, Director-General's office, Directors)"
    OTHER = "other", "Someone else"


class NoticeMethod(models.TextChoices):
    DIRECT_LETTER = "direct_letter", "Direct letter"
    INTERMEDIARY = "intermediary", "Through an intermediary (e.g. prison governor or probation officer)"
    PUBLIC = "public", "Public communication"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    MEETING = "meeting", "Meeting or visit"
    OTHER = "other", "Other"


class RootCauseKind(models.TextChoices):
    """A fixed, reportable list of root causes."""

    UNENCRYPTED_MEDIA = "unencrypted_media", "Unencrypted device or media"
    ADDRESSING_ERROR = "addressing_error", "Human error in addressing"
    SUPERVISION_TRAINING = "supervision_training", "Lack of supervision or training"
    PROCESSOR_BREACH = "processor_breach", "Processor breach of contract"
    INSECURE_PREMISES = "insecure_premises", "Insecure premises"
    NO_AUDIT_TRAIL = "no_audit_trail", "No audit trail"
    OTHER = "other", "Other"


class EnquiryKind(models.TextChoices):
    ENQUIRY = "enquiry", "Enquiry: was my data in it?"
    COMPLAINT = "complaint", "Complaint"
    COMPENSATION_CLAIM = "compensation_claim", "Compensation claim"


class EnquiryOutcome(models.TextChoices):
    PENDING = "pending", "Not decided yet"
    UPHELD = "upheld", "Upheld"
    PARTLY_UPHELD = "partly_upheld", "Partly upheld"
    NOT_UPHELD = "not_upheld", "Not upheld"
    SETTLED = "settled", "Settled"
    WITHDRAWN = "withdrawn", "Withdrawn"
