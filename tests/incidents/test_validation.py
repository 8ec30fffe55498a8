from datetime import UTC, datetime, timedelta

import pytest

from incidents.validation import incident_errors

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def valid(**overrides):
    data = {
        "title": "Spreadsheet emailed to a family",
        "description": "Sent to the wrong address.",
        "category": "emailed_to_wrong_recipient",
        "discovered_at": NOW - timedelta(hours=1),
        "org_unit": object(),
    }
    data.update(overrides)
    return data


def test_valid_report_has_no_errors():
    assert incident_errors(valid(), now=NOW) == {}


@pytest.mark.parametrize("field", ["title", "description", "category", "discovered_at", "org_unit"])
def test_each_required_field_is_named_when_missing(field):
    assert field in incident_errors(valid(**{field: None}), now=NOW)


def test_blank_text_counts_as_missing():
    assert incident_errors(valid(title="   "), now=NOW) == {"title": ["Enter a short title for the incident"]}


def test_discovered_in_the_future_is_refused():
    errors = incident_errors(valid(discovered_at=NOW + timedelta(minutes=1)), now=NOW)
    assert errors == {"discovered_at": ["The date discovered must be now or in the past"]}


def test_occurred_after_discovered_is_refused_and_equal_is_allowed():
    discovered = NOW - timedelta(hours=1)
    assert "occurred_at" in incident_errors(valid(occurred_at=discovered + timedelta(seconds=1)), now=NOW)
    assert incident_errors(valid(occurred_at=discovered), now=NOW) == {}


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 11, 21, 9, 0)  # noqa: DTZ001
    assert "discovered_at" in incident_errors(valid(discovered_at=naive), now=NOW)


@pytest.mark.parametrize("value", [-1, 1.5, "12", True])
def test_counts_must_be_whole_numbers_of_zero_or_more(value):
    assert "approx_subjects" in incident_errors(valid(approx_subjects=value), now=NOW)


def test_zero_count_is_allowed():
    assert incident_errors(valid(approx_records=0), now=NOW) == {}


def test_enums_are_checked():
    errors = incident_errors(
        valid(category="lost_pigeon", encryption="rot13", data_categories=["health", "gossip"]), now=NOW
    )
    assert set(errors) == {"category", "encryption", "data_categories"}
    assert "gossip" in errors["data_categories"][0]


def test_list_fields_must_be_lists():
    assert "subject_categories" in incident_errors(valid(subject_categories="victims"), now=NOW)


def test_text_length_bounds():
    errors = incident_errors(valid(title="x" * 201, location="y" * 2001), now=NOW)
    assert set(errors) == {"title", "location"}


def test_partial_checks_only_given_fields():
    assert incident_errors({"location": "Leeds"}, now=NOW, partial=True) == {}
    assert "title" in incident_errors({"title": ""}, now=NOW, partial=True)
