from datetime import UTC, datetime, timedelta

from notifications.choices import DeadlineCode
from notifications.clocks import describe_remaining, initial_deadlines, rag

T0 = datetime(2026, 11, 20, 17, 58, tzinfo=UTC)


def test_initial_deadlines_follow_the_rules():
    planned = {p.code: p for p in initial_deadlines(discovered_at=T0)}

    assert planned[DeadlineCode.MANAGER_INFORMED].due_at == T0 + timedelta(hours=1)  # PC02-6
    assert planned[DeadlineCode.NATIONAL_INFORMED].due_at is None  # starts when the Chief is told
    assert planned[DeadlineCode.INVESTIGATION_STARTED].due_at == T0 + timedelta(hours=24)  # PC02-14
    assert planned[DeadlineCode.ICO_NOTIFIED].due_at == T0 + timedelta(hours=72)  # Art 33(1)
    assert DeadlineCode.SUBJECTS_INFORMED not in planned  # only once a high risk is assessed


def test_ico_clock_runs_through_weekends_on_wall_clock_time():
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    planned = {p.code: p for p in initial_deadlines(discovered_at=friday_evening)}
    assert planned[DeadlineCode.ICO_NOTIFIED].due_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_rag_goes_green_amber_red():
    due = T0 + timedelta(hours=1)
    assert rag(starts_at=T0, due_at=due, now=T0 + timedelta(minutes=10)) == "green"
    assert rag(starts_at=T0, due_at=due, now=T0 + timedelta(minutes=45)) == "amber"
    assert rag(starts_at=T0, due_at=due, now=due) == "red"
    assert rag(starts_at=None, due_at=None, now=T0) == "not_started"


def test_describe_remaining_in_plain_words():
    assert describe_remaining(due_at=T0 + timedelta(minutes=42, seconds=30), now=T0) == "42 min left"
    assert describe_remaining(due_at=T0 + timedelta(hours=2, minutes=5), now=T0) == "2 h 05 min left"
    assert describe_remaining(due_at=T0 + timedelta(days=2, hours=3), now=T0) == "2 d 3 h left"
    assert describe_remaining(due_at=T0 - timedelta(minutes=15), now=T0) == "15 min overdue"
