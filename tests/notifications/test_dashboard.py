"""The SIRO dashboard: every figure against what the seeded incidents make it by hand,
scoping, and a query count that does not grow with the number of incidents."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.choices import RootCauseKind
from incidents.services import incident_transition
from incidents.services.plan import root_cause_record
from notifications.dashboard import Filters, clock_panel, dashboard, scoped
from notifications.reports.summary import Period
from notifications.services import timers_sweep
from riskassess.services import risk_assessment_create
from tests.conftest import DEMO_PASSWORD
from tests.factories import IncidentFactory
from tests.incidents.test_plan import make_ready_to_close
from tests.riskassess.test_services import JTRACK

pytestmark = pytest.mark.django_db


def last_week() -> Filters:
    today = timezone.localdate()
    return Filters(Period(today - timedelta(days=7), today))


@pytest.fixture
def seeded(org):
    """Three incidents: one handled and closed two hours after it was found, one just
    reported in the same unit and kind (a recurrence), one in another area."""
    found = timezone.now() - timedelta(hours=2)
    closed = IncidentFactory(reporter=org["reporter"], discovered_at=found, third_party="Acme Couriers")
    make_ready_to_close(org, closed)
    incident_transition(incident=closed, actor=org["isim"], target="contained")
    incident_transition(incident=closed, actor=org["chief"], target="closed")
    fresh = IncidentFactory(reporter=org["reporter"])
    elsewhere = IncidentFactory(reporter=org["reporter2"], category="emailed_to_wrong_recipient")
    return {"closed": closed, "fresh": fresh, "elsewhere": elsewhere}


def counts(rows):
    return {r.label: r.count for r in rows}


def test_every_figure_matches_the_incidents_behind_it(org, seeded):
    board = dashboard(org["siro"], last_week())
    assert board.open_total == 2  # fresh and elsewhere; the closed one is not open
    assert counts(board.by_status) == {"Reported": 2, "Under investigation": 0, "Contained": 0}
    assert counts(board.by_severity)["Not yet assessed"] == 2
    assert counts(board.by_category) == {
        "Paperwork or file lost, or left somewhere insecure": 2,
        "Email sent to the wrong person": 1,
    }
    assert counts(board.by_processor) == {"Acme Couriers": 1}
    assert sum(counts(board.by_unit).values()) == 3
    # contained and closed within the test, about two hours after discovery
    assert timedelta(hours=2) <= board.median_close < timedelta(hours=2, minutes=5)
    assert board.median_contain <= board.median_close
    # the fresh incident repeats the closed one (same unit and kind)
    assert [(a.reference, b.reference) for a, b in board.recurrences] == [
        (seeded["fresh"].reference, seeded["closed"].reference)
    ]
    ico = next(c for c in board.compliance if c.code == "ico_notified")
    assert (ico.met, ico.missed, ico.pending) == (1, 0, 2)
    assert counts(board.trend)[timezone.localdate().strftime("%b %Y")] == 3
    assert len(board.trend) == 24
    # drill-down: the status row links to the incident list filtered the same way
    assert board.by_status[0].link == "?status=reported"


LISTED = re.compile(r'<td class="govuk-table__cell bd-nowrap"><a class="govuk-link" href="/incidents/([^/]+)/">')


def test_every_figure_drills_down_to_exactly_the_incidents_behind_it(org, seeded):
    """Each linked figure: the incident list it links to lists that many incidents."""
    # an assessed incident, so a severity row is not zero
    risk_assessment_create(incident=seeded["fresh"], actor=org["isim"], data=dict(JTRACK))
    root_cause_record(incident=seeded["fresh"], actor=org["isim"], cause=RootCauseKind.values[0])
    board = dashboard(org["siro"], last_week())
    client = Client()
    client.force_login(org["siro"])
    figures = [("open total", board.open_total, board.open_link)]
    for table in ("by_status", "by_severity", "by_category", "by_unit", "by_root_cause", "by_processor", "trend"):
        figures += [(f"{table}: {r.label}", r.count, r.link) for r in getattr(board, table)]
    for row in board.compliance_rows:
        c = row.figures
        figures += [
            (f"{c.code} met", c.met, row.links["met"]),
            (f"{c.code} missed", c.missed, row.links["missed"]),
            (f"{c.code} running", c.pending, row.links["pending"]),
            (f"{c.code} not required", c.not_required, row.links["not_required"]),
        ]
    nonzero = 0
    for name, count, link in figures:
        assert link, f"{name} has no drill-down"
        page = client.get(f"/incidents/{link}").content.decode()
        assert "Some filters could not be used" not in page, name
        assert len(set(LISTED.findall(page))) == count, name
        nonzero += count > 0
    assert nonzero >= 12  # the seeded data set makes most figures non-zero


def test_a_bad_drill_down_filter_is_named_and_left_out(org, seeded):
    client = Client()
    client.force_login(org["siro"])
    page = client.get("/incidents/?severity=catastrophic&reported_from=31/12/2026").content.decode()
    assert "Severity “catastrophic” is not one of the choices, so it was left out" in page
    assert "Reported from must be a date as year-month-day, like 2026-03-31, so it was left out" in page
    assert len(set(LISTED.findall(page))) == 3  # nothing narrowed by the bad values


def test_clocks_due_soon_and_missed(org, seeded):
    soon = clock_panel(org["siro"], last_week())
    # the two open incidents' manager clocks run out within the hour
    due = {(d.incident.reference, d.code) for d in soon.due_soon}
    assert (seeded["fresh"].reference, "manager_informed") in due
    assert soon.due_soon_total == len(soon.due_soon)
    # the closed one's line manager confirmed receipt two hours after the loss was found (a
    # closed incident has every receipt confirmed): recorded as missed when they did
    assert [(d.incident.reference, d.code) for d in soon.missed] == [(seeded["closed"].reference, "manager_informed")]
    assert not soon.overdue
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        later = clock_panel(org["siro"], last_week())
    # not yet swept: overdue now, not yet recorded as missed
    assert (seeded["fresh"].reference, "manager_informed") in {(d.incident.reference, d.code) for d in later.overdue}
    assert later.overdue_total == len(later.overdue) == 2
    assert later.missed_total == 1


def test_figures_are_scoped_to_the_viewer(org, seeded):
    chief = dashboard(org["chief"], last_week())  # the Chief Officer of the first area
    assert sum(counts(chief.by_category).values()) == 2
    chief_clocks = clock_panel(org["chief"], last_week())
    assert seeded["elsewhere"].reference not in {d.incident.reference for d in chief_clocks.due_soon}
    assert seeded["fresh"].reference in {d.incident.reference for d in chief_clocks.due_soon}
    filtered = dashboard(org["siro"], Filters(last_week().period, category="emailed_to_wrong_recipient"))
    assert filtered.open_total == 1


def test_query_count_does_not_grow_with_incidents(org, seeded):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            dashboard(org["siro"], last_week())
        return len(ctx.captured_queries)

    queries()  # the viewer's roles are then cached on the user, as within one request
    before = queries()
    for _ in range(5):
        IncidentFactory(reporter=org["reporter2"], category="emailed_to_wrong_recipient")
    assert queries() == before


def test_figures_come_from_the_cache_until_anything_is_recorded(org, seeded, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dash"}}
    client = Client()
    client.force_login(org["siro"])
    with CaptureQueriesContext(connection) as first:
        page = client.get("/dashboard/").content.decode()
    assert 'href="/incidents/?open=true">2<span' in page
    with CaptureQueriesContext(connection) as second:
        page = client.get("/dashboard/").content.decode()
    assert 'href="/incidents/?open=true">2<span' in page
    # the figures' dozen-odd aggregate queries are not run again; the live clocks are
    assert len(second.captured_queries) <= len(first.captured_queries) - 10
    assert any("notifications_deadline" in q["sql"] for q in second.captured_queries)
    # anything recorded (an audit event) makes the figures be worked out again
    IncidentFactory(reporter=org["reporter"])
    page = client.get("/dashboard/").content.decode()
    assert 'href="/incidents/?open=true">3<span' in page
    # another viewer never sees the first one's figures
    chief = Client()
    chief.force_login(org["chief"])
    assert 'href="/incidents/?open=true">2<span' in chief.get("/dashboard/").content.decode()


def test_missed_clocks_show_with_a_link_to_their_incidents(org, seeded):
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        timers_sweep()
        panel = clock_panel(org["siro"], last_week())
        # nobody confirmed any of the three line managers' emails, the closed one's included
        assert panel.missed_total == 3, [(d.incident.reference, d.code) for d in panel.missed]
        assert panel.overdue_total == 0
        client = Client()
        client.force_login(org["siro"])
        listed = client.get(f"/incidents/{panel.missed_link}").content.decode()
    assert "with a clock missed" in listed
    assert set(LISTED.findall(listed)) == {i.reference for i in seeded.values()}


def test_the_page_and_its_clock_panel(org, seeded):
    client = Client()
    assert client.login(username="siro", password=DEMO_PASSWORD)
    page = client.get("/dashboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'Open incidents: <a class="govuk-link" href="/incidents/?open=true">2<span' in html
    assert html.count("<svg") >= 4
    assert 'hx-trigger="every 30s"' in html
    assert seeded["fresh"].reference in html
    panel = client.get("/dashboard/clocks/")
    assert "Running out within the next 4 hours" in panel.content.decode()
    bad = client.get("/dashboard/", {"start": "2026-02-30"})
    assert bad.status_code == 400
    assert "Enter the start date as a real date" in bad.content.decode()
    reporter = Client()
    assert reporter.login(username="reporter", password=DEMO_PASSWORD)
    assert reporter.get("/dashboard/").status_code == 403


def test_every_table_downloads_as_csv(org, seeded):
    client = Client()
    assert client.login(username="siro", password=DEMO_PASSWORD)
    page = client.get("/dashboard/").content.decode()
    for table in ["status", "severity", "category", "unit", "root-cause", "processor", "trend", "compliance"]:
        assert f"/dashboard/{table}.csv" in page
    rows = client.get("/dashboard/category.csv").content.decode().splitlines()
    assert rows[0] == "Kind of loss,Incidents"
    assert '"Paperwork or file lost, or left somewhere insecure",2' in rows
    compliance = client.get("/dashboard/compliance.csv").content.decode().splitlines()
    assert compliance[0] == "Rule,Met,Missed,Running,Not required,On time"
    assert len(compliance) == 6
    assert client.get("/dashboard/secrets.csv").status_code == 404


def test_period_boundaries_are_london_days_across_the_clock_change(org):
    """The clocks went back at 02:00 BST on 25 October 2026. A period 'from 25 October'
    starts at midnight London time (23:00 UTC on the 24th), and 'to 25 October' ends at
    midnight after it (00:00 UTC on the 26th, GMT by then)."""
    from datetime import UTC, date, datetime

    def report_at(moment):
        with time_machine.travel(moment, tick=False):
            return IncidentFactory(reporter=org["reporter"], discovered_at=moment - timedelta(minutes=1)).reference

    report_at(datetime(2026, 10, 24, 22, 59, tzinfo=UTC))  # 23:59 BST on the 24th
    first = report_at(datetime(2026, 10, 24, 23, 1, tzinfo=UTC))  # 00:01 BST on the 25th
    last = report_at(datetime(2026, 10, 25, 23, 59, tzinfo=UTC))  # 23:59 GMT on the 25th
    report_at(datetime(2026, 10, 26, 0, 1, tzinfo=UTC))  # 00:01 GMT on the 26th
    with time_machine.travel(datetime(2026, 10, 27, 12, 0, tzinfo=UTC), tick=False):
        board = dashboard(org["siro"], Filters(Period(date(2026, 10, 25), date(2026, 10, 25))))
    assert sum(counts(board.by_category).values()) == 2
    in_period = scoped(org["siro"], board.filters).filter(
        reported_at__gte=board.filters.period.start_at, reported_at__lt=board.filters.period.end_at
    )
    assert set(in_period.values_list("reference", flat=True)) == {first, last}
    trend = counts(board.trend)
    assert trend["Oct 2026"] == 4  # all four in October, London time


def test_no_incidents_gives_zeros_and_says_so(org):
    board = dashboard(org["siro"], last_week())
    assert board.open_total == 0
    assert set(counts(board.by_status).values()) == {0}
    assert set(counts(board.by_severity).values()) == {0}
    assert board.by_category == board.by_unit == board.by_root_cause == board.by_processor == []
    assert [c.rate for c in board.compliance] == ["n/a"] * len(board.compliance)
    assert board.median_contain is None
    assert board.median_close is None
    assert len(board.trend) == 24
    assert sum(r.count for r in board.trend) == 0
    assert board.recurrence_count == 0
    client = Client()
    client.force_login(org["siro"])
    page = client.get("/dashboard/").content.decode()
    assert "No incident contained yet" in page
    assert "No incident in the period repeats an earlier one." in page
    assert "None in this period." in page


def test_all_late_is_zero_per_cent_on_time(org):
    """Three incidents nobody acted on: after 73 hours every manager and ICO clock is missed."""
    for reporter in ("reporter", "reporter", "reporter2"):
        IncidentFactory(reporter=org[reporter])
    with time_machine.travel(timezone.now() + timedelta(hours=73), tick=False):
        timers_sweep()
        board = dashboard(org["siro"], last_week())
    by_code = {c.code: c for c in board.compliance}
    assert (by_code["manager_informed"].met, by_code["manager_informed"].missed) == (0, 3)
    assert by_code["manager_informed"].rate == "0%"
    assert (by_code["ico_notified"].met, by_code["ico_notified"].missed) == (0, 3)
    assert by_code["ico_notified"].rate == "0%"
    assert (by_code["investigation_started"].missed, by_code["investigation_started"].rate) == (3, "0%")


def test_missed_clocks_are_kept_until_a_change_is_recorded_and_the_live_ones_are_read_each_time(org, seeded):
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        before = clock_panel(org["siro"], last_week())  # two overdue, not yet recorded as missed
        assert (before.overdue_total, before.missed_total) == (2, 1)  # the closed one's, confirmed late
        with CaptureQueriesContext(connection) as again:
            clock_panel(org["siro"], last_week())
        read = [q["sql"] for q in again.captured_queries]
        assert not any("'missed'" in sql for sql in read), "nothing recorded: the missed clocks are not read again"
        assert any("'pending'" in sql for sql in read), "clocks that run out as time passes are read every time"
        timers_sweep()  # records the misses
        after = clock_panel(org["siro"], last_week())
    assert (after.overdue_total, after.missed_total) == (0, 3)
