from django.db import models

from breachdesk.choices import Role


class EaseOfIdentification(models.TextChoices):
    """ENISA 2013, "Ease of identification": how easily the people can be identified."""

    NEGLIGIBLE = "negligible", "Negligible: identifying anyone would take great effort"
    LIMITED = "limited", "Limited: possible with other data the recipient is unlikely to have"
    SIGNIFICANT = "significant", "Significant: possible with data that is easy to find"
    MAXIMUM = "maximum", "Maximum: directly identifies people (e.g. name with address)"


class Confidentiality(models.TextChoices):
    NONE = "none", "No loss of confidentiality"
    KNOWN_RECIPIENTS = "known_recipients", "Disclosed to known recipients"
    UNKNOWN_RECIPIENTS = "unknown_recipients", "Disclosed to, or could be seen by, unknown people"


class Integrity(models.TextChoices):
    NONE = "none", "No loss of integrity"
    RECOVERABLE = "recoverable", "Altered, but the correct data can be restored"
    UNRECOVERABLE = "unrecoverable", "Altered and may have been used; cannot be restored"


class Availability(models.TextChoices):
    NONE = "none", "No loss of availability"
    TEMPORARY = "temporary", "Temporarily unavailable"
    PERMANENT = "permanent", "Permanently lost"


class AssessmentEncryption(models.TextChoices):
    NONE = "none", "Not encrypted"
    ENCRYPTED_KEY_SAFE = "encrypted_key_safe", "Encrypted, and the key is safe"
    ENCRYPTED_KEY_COMPROMISED = "encrypted_key_compromised", "Encrypted, but the key may be known"


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    VERY_HIGH = "very_high", "Very high"


class RiskToIndividuals(models.TextChoices):
    UNLIKELY = "unlikely", "Unlikely to result in a risk to people"
    RISK = "risk", "A risk to people"
    HIGH = "high", "A high risk to people"


class Likelihood(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class DecisionKind(models.TextChoices):
    NOTIFY_REGULATOR = "notify_regulator", "Notify the ICO"
    NOTIFY_SUBJECTS = "notify_subjects", "Tell the people affected"
    INVOLVE_POLICE = "involve_police", "Involve the police"


# Who decides on the recommendations (DOMAIN.md s.5): the DPO, the SIRO, a Chief Officer.
DECIDERS = frozenset({Role.DPO, Role.SIRO, Role.CHIEF_OFFICER, Role.DEPUTY_CHIEF_OFFICER})


class DataSetStatus(models.TextChoices):
    """Where an uploaded extract of a lost data set is (API.md "Affected individuals")."""

    QUEUED = "queued", "Waiting to be processed"
    PROCESSING = "processing", "Being processed"
    DONE = "done", "Processed"
    FAILED = "failed", "Not processed"
