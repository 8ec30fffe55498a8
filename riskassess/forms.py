"""The assessment form, with guidance beside each factor (ENISA 2013's own examples)."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.choices import DataCategory, SubjectCategory

from .choices import (
    AssessmentEncryption,
    Availability,
    Confidentiality,
    DecisionKind,
    EaseOfIdentification,
    Integrity,
    Likelihood,
)
from .validation import assessment_errors

YES_NO = [("false", "No"), ("true", "Yes")]


def _bool_field(label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=YES_NO,
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        initial="false",
        label=label,
        help_text=help_text,
        error_messages={"required": f"Answer: {label.lower()}"},
    )


class AssessmentForm(forms.Form):
    data_categories = forms.MultipleChoiceField(
        required=False,
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="What kinds of data were involved?",
        help_text="The most sensitive one sets the score. Criminal records and health are at the top; names and "
        "addresses alone at the bottom. If you do not know yet, choose 'Not yet known'.",
    )
    subject_categories = forms.MultipleChoiceField(
        required=False,
        choices=SubjectCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Whose data was it?",
        help_text="Data about victims, witnesses and children is scored as sensitive.",
    )
    subjects_count = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2_000_000_000,
        label="How many people? (best estimate)",
        error_messages={"invalid": "Enter a whole number", "min_value": "Enter a number that is 0 or more"},
    )
    records_count = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2_000_000_000,
        label="How many records?",
        error_messages={"invalid": "Enter a whole number", "min_value": "Enter a number that is 0 or more"},
    )
    ease_of_identification = forms.ChoiceField(
        choices=EaseOfIdentification.choices,
        widget=forms.RadioSelect,
        label="How easily can the people be identified?",
        help_text="Maximum: name and address, or a prison number with a photo. Significant: a name with a common "
        "surname and a town. Limited: initials and a date of birth. Negligible: a code only you can "
        "link to a person.",
        error_messages={"required": "Select how easily the people can be identified"},
    )
    confidentiality = forms.ChoiceField(
        choices=Confidentiality.choices,
        widget=forms.RadioSelect,
        label="Was the data disclosed?",
        help_text="Known recipients: e.g. an email to three named families. Unknown: a stick lost on a train, "
        "papers in a bin, a public website.",
        error_messages={"required": "Select whether the data was disclosed"},
    )
    integrity = forms.ChoiceField(
        choices=Integrity.choices,
        widget=forms.RadioSelect,
        label="Was the data altered?",
        help_text="E.g. a wrong release date entered, or records changed by an intruder.",
        error_messages={"required": "Select whether the data was altered"},
    )
    availability = forms.ChoiceField(
        choices=Availability.choices,
        widget=forms.RadioSelect,
        label="Was the data lost or unavailable?",
        help_text="E.g. ransomware, a fire, the only copy of a file lost.",
        error_messages={"required": "Select whether the data was lost"},
    )
    malicious = _bool_field("Was it malicious?", "Theft, hacking, or someone acting deliberately to cause harm.")
    encryption = forms.ChoiceField(
        choices=AssessmentEncryption.choices,
        widget=forms.RadioSelect,
        initial="none",
        label="Was it encrypted?",
        help_text="Only strong encryption with the key kept safe makes data unintelligible.",
    )
    recipients_trusted_and_data_recovered = _bool_field(
        "Was it recovered from trusted recipients?",
        "E.g. a colleague in another public body confirmed in writing that they deleted it.",
    )
    backup_available = _bool_field("Is there a backup that restores the data?", "Restored in good time.")
    theft = _bool_field("Was it stolen?", "If so, the police should be told (PC02-17).")
    mappa_information = _bool_field("Does it include MAPPA case information?", "PC02-17: involve the police.")
    law_enforcement_processing = _bool_field(
        "Was the data processed for law enforcement?",
        "Probation and police case data usually is: DPA 2018 Part 3 then applies instead of the UK GDPR.",
    )
    measures_removed_high_risk = _bool_field(
        "Have later measures removed the high risk?", "E.g. the stick was found sealed; UK GDPR Art 34(3)(b)."
    )
    disproportionate_effort = _bool_field(
        "Would telling each person take disproportionate effort?",
        "E.g. no contact details held; then a public communication instead (Art 34(3)(c)).",
    )
    dpc_adjustment = forms.TypedChoiceField(
        choices=[
            ("0", "No adjustment"),
            ("1", "+1: more serious than the kind of data suggests"),
            ("-1", "-1: less serious than the kind of data suggests"),
        ],
        coerce=int,
        widget=forms.RadioSelect,
        initial="0",
        label="Adjust for context?",
        help_text="E.g. +1 for a year of detailed records; -1 for data already public. A reason is required.",
    )
    dpc_adjustment_reason = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}), label="Reason for the adjustment"
    )
    individuals_narrative = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="1. Numbers and status of the people affected (PC02-15)",
    )
    data_narrative = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}), label="2. Type of data"
    )
    circumstances_narrative = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="3. Circumstances: physical environment, time of day",
    )
    other_organisations_narrative = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="4. Other organisations concerned or affected",
    )
    possible_risks_narrative = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="5. Possible risks: to people, the public, operations, reputation",
    )
    further_loss_narrative = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="6. Risk of further loss if the weakness is exploited again",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            for field, messages in assessment_errors(cleaned).items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


class DataSetForm(forms.Form):
    name = forms.CharField(required=False, max_length=200, label="Data set")
    records = forms.IntegerField(required=False, min_value=0, label="Records")
    people = forms.IntegerField(required=False, min_value=0, label="People")
    fields_held = forms.CharField(required=False, max_length=2000, label="Fields held")
    whom = forms.CharField(required=False, max_length=500, label="Whose data")


class GroupForm(forms.Form):
    name = forms.CharField(required=False, max_length=200, label="Group")
    size = forms.IntegerField(required=False, min_value=0, label="Size")
    harm = forms.CharField(required=False, max_length=2000, label="What could happen to them")
    likelihood = forms.ChoiceField(required=False, choices=[("", "Select"), *Likelihood.choices], label="Likelihood")
    severity = forms.ChoiceField(required=False, choices=[("", "Select"), *Likelihood.choices], label="Severity")
    mitigation = forms.CharField(required=False, max_length=2000, label="Mitigation")
    owner = forms.CharField(required=False, max_length=200, label="Owner")


DataSetFormSet = forms.formset_factory(DataSetForm, extra=3, max_num=20)
GroupFormSet = forms.formset_factory(GroupForm, extra=3, max_num=20)


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=DecisionKind.choices, widget=forms.HiddenInput)
    decision = forms.TypedChoiceField(
        choices=[("true", "Yes"), ("false", "No")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        label="Your decision",
        error_messages={"required": "Select yes or no"},
    )
    reason = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason",
        help_text="Required if you go against the recommendation.",
    )


class DataSetUploadForm(forms.Form):
    """Step 1 of adding a lost data set: its name and the file."""

    name = forms.CharField(
        max_length=200,
        label="Name of the data set",
        help_text='As people will recognise it, e.g. "Prisoner releases 2025".',
        error_messages={"required": 'Give the data set a name, e.g. "Prisoner releases 2025".'},
    )
    file = forms.FileField(
        label="The extract of the data set",
        help_text="A CSV file (saved as CSV UTF-8) or an Excel workbook (.xlsx, first sheet), with the column "
        "names in the first row. It is read once and not kept: only keyed hashes of the identifiers are.",
        error_messages={"required": "Choose the file to upload.", "empty": "The file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )


class MappingForm(forms.Form):
    """Step 2: what each column holds."""

    def __init__(self, *args: Any, header: list[str], **kwargs: Any) -> None:
        from .datasets import guess_kind
        from .identifiers import IdentifierType

        super().__init__(*args, **kwargs)
        self.header = header
        for i, column in enumerate(header):
            self.fields[f"column_{i}"] = forms.ChoiceField(
                label=column,
                choices=IdentifierType.choices,
                initial=guess_kind(column),
                error_messages={"invalid_choice": "Choose what this column holds from the list."},
            )

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"column_{i}"] for i, column in enumerate(self.header)}


class LookupForm(forms.Form):
    """An enquirer's identifiers, used once for the lookup and not kept."""

    full_name = forms.CharField(required=False, max_length=200, label="Full name")
    date_of_birth = forms.CharField(
        required=False, max_length=40, label="Date of birth", help_text="For example, 27/03/1985."
    )
    pnc_id = forms.CharField(required=False, max_length=40, label="PNC ID", help_text="For example, 2001/0012345A.")
    prison_number = forms.CharField(required=False, max_length=20, label="Prison number")
    ni_number = forms.CharField(required=False, max_length=20, label="National Insurance number")
