from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from incidents.models import Incident

from .choices import (
    AssessmentEncryption,
    Availability,
    Confidentiality,
    DataSetStatus,
    DecisionKind,
    EaseOfIdentification,
    Integrity,
    Level,
    Likelihood,
    RiskToIndividuals,
)


class RiskAssessment(models.Model):
    """One version of an incident's risk assessment. Versions are never changed: a new
    assessment is a new row (the comparison of versions is the record of how the picture
    changed)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="risk_assessments")
    version = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    # Factors (API.md "Risk assessment").
    data_categories = models.JSONField(default=list)
    subject_categories = models.JSONField(default=list)
    subjects_count = models.PositiveIntegerField(null=True, blank=True)
    records_count = models.PositiveIntegerField(null=True, blank=True)
    ease_of_identification = models.CharField(max_length=16, choices=EaseOfIdentification.choices)
    confidentiality = models.CharField(max_length=24, choices=Confidentiality.choices)
    integrity = models.CharField(max_length=16, choices=Integrity.choices)
    availability = models.CharField(max_length=16, choices=Availability.choices)
    malicious = models.BooleanField()
    encryption = models.CharField(
        max_length=32, choices=AssessmentEncryption.choices, default=AssessmentEncryption.NONE
    )
    recipients_trusted_and_data_recovered = models.BooleanField(default=False)
    backup_available = models.BooleanField(default=False)
    dpc_adjustment = models.SmallIntegerField(default=0, validators=[MinValueValidator(-1), MaxValueValidator(1)])
    dpc_adjustment_reason = models.TextField(blank=True)
    theft = models.BooleanField(default=False)
    mappa_information = models.BooleanField(default=False)
    law_enforcement_processing = models.BooleanField(default=False)
    measures_removed_high_risk = models.BooleanField(default=False)
    disproportionate_effort = models.BooleanField(default=False)
    # PC02-15's six points, in words.
    individuals_narrative = models.TextField(blank=True, help_text="Numbers and status of the people affected.")
    data_narrative = models.TextField(blank=True, help_text="Type of data: personal, sensitive corporate, other.")
    circumstances_narrative = models.TextField(blank=True, help_text="Physical environment, time of day.")
    other_organisations_narrative = models.TextField(blank=True, help_text="Other organisations concerned.")
    possible_risks_narrative = models.TextField(blank=True, help_text="To people, the public, operations, reputation.")
    further_loss_narrative = models.TextField(blank=True, help_text="Risk of further loss if exploited again.")
    # The result, computed by riskassess.recommend when the version is saved.
    dpc = models.PositiveSmallIntegerField()
    ei = models.DecimalField(max_digits=4, decimal_places=2)
    cb = models.DecimalField(max_digits=4, decimal_places=2)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    level = models.CharField(max_length=16, choices=Level.choices)
    risk_to_individuals = models.CharField(max_length=16, choices=RiskToIndividuals.choices)
    recommendations = models.JSONField()
    rationale = models.JSONField()
    subjects_method = models.CharField(max_length=32, blank=True)
    regime = models.CharField(max_length=16)
    population_min = models.PositiveIntegerField(null=True, blank=True)
    population_max = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "version"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "version"], name="assessment_version_unique"),
            models.CheckConstraint(
                condition=Q(dpc_adjustment__gte=-1) & Q(dpc_adjustment__lte=1), name="assessment_dpc_adjustment_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} assessment v{self.version}"


class AssessedDataSet(models.Model):
    """A data set involved, as described in the assessment (name, size, fields, whom)."""

    assessment = models.ForeignKey(RiskAssessment, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=200)
    records = models.PositiveIntegerField(null=True, blank=True)
    people = models.PositiveIntegerField(null=True, blank=True)
    fields_held = models.TextField(blank=True, help_text="E.g. name, address, date of birth, offence.")
    whom = models.CharField(max_length=500, blank=True, help_text="Whose data: e.g. prolific offenders.")

    class Meta:
        ordering = ["assessment", "id"]

    def __str__(self) -> str:
        return self.name


class RiskGroup(models.Model):
    """A line of the risk register by group (the JTrack model, DOMAIN.md s.4)."""

    assessment = models.ForeignKey(RiskAssessment, on_delete=models.PROTECT, related_name="groups")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField(null=True, blank=True)
    harm = models.TextField(help_text="What could happen to them.")
    likelihood = models.CharField(max_length=8, choices=Likelihood.choices)
    severity = models.CharField(max_length=8, choices=Likelihood.choices)
    mitigation = models.TextField(blank=True)
    owner = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["assessment", "id"]

    def __str__(self) -> str:
        return self.name


class Decision(models.Model):
    """What the DPO, SIRO or Chief Officer decided on a recommendation. The latest per kind
    stands; earlier ones stay as the record."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="risk_decisions")
    assessment = models.ForeignKey(RiskAssessment, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(max_length=32, choices=DecisionKind.choices)
    decision = models.BooleanField()
    recommended = models.BooleanField()
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "decided_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision=models.F("recommended")) | ~Q(reason=""),
                name="decision_against_recommendation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}={self.decision}"


class LostDataSet(models.Model):
    """An extract of a data set that was lost, uploaded so that the people in it can be
    counted and answered exactly. The extract itself is never kept: its rows become
    ``PersonRecord`` tokens and the file is removed (``riskassess/datasets.py``)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="lost_datasets")
    name = models.CharField(max_length=200)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, help_text="Of the uploaded file: the same file twice is seen.")
    file_bytes = models.PositiveBigIntegerField()
    # [{"column": header, "kind": identifier type or "field"}], in the file's order.
    columns = models.JSONField()
    # What each bit of PersonRecord.fields means: the exposed fields, by label.
    labels = models.JSONField()
    status = models.CharField(max_length=16, choices=DataSetStatus.choices, default=DataSetStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    key_version = models.PositiveSmallIntegerField()
    upload_name = models.CharField(max_length=100, blank=True, help_text="The temporary file, until removed.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "uploaded_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="dataset_progress_percent")]

    def __str__(self) -> str:
        return self.name


# The tokens a record may hold, in the order the code passes them about.
TOKEN_COLUMNS = ("pnc_id", "prison_number", "ni_number", "name_dob")


class PersonRecord(models.Model):
    """One row of a lost data set, as kept: its data set, the keyed hashes of the
    identifiers that link people (``riskassess/pseudonym.py``), and which fields it exposed
    (bit i = ``dataset.labels[i]``). Never a raw value.

    On PostgreSQL the table is partitioned by data set (migration 0002): a data set's rows
    are written into a table of their own, indexed once they are all in, and attached in
    the same transaction that marks the data set done, so they appear all at once or never.
    """

    pk = models.CompositePrimaryKey("dataset_id", "row")
    dataset = models.ForeignKey(LostDataSet, on_delete=models.CASCADE, related_name="records", db_index=False)
    row = models.PositiveIntegerField()
    pnc_id = models.UUIDField(null=True)
    prison_number = models.UUIDField(null=True)
    ni_number = models.UUIDField(null=True)
    name_dob = models.UUIDField(null=True)
    fields = models.BigIntegerField()

    class Meta:
        # Enquiries look a person up by each token; partial, as most rows lack most of them.
        indexes = [
            models.Index(fields=["pnc_id"], condition=Q(pnc_id__isnull=False), name="record_pnc_id"),
            models.Index(
                fields=["prison_number"], condition=Q(prison_number__isnull=False), name="record_prison_number"
            ),
            models.Index(fields=["ni_number"], condition=Q(ni_number__isnull=False), name="record_ni_number"),
            models.Index(fields=["name_dob"], condition=Q(name_dob__isnull=False), name="record_name_dob"),
        ]

    def __str__(self) -> str:
        return f"row {self.row} of data set {self.dataset_id}"


class PopulationSnapshot(models.Model):
    """The exact population of an incident's processed data sets, worked out once after each
    change (``riskassess.population``) so that pages, the API and reports read it at once."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="population")
    datasets = models.JSONField(help_text="The ids of the data sets it covers, sorted.")
    result = models.JSONField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"population of {self.incident_id}"
