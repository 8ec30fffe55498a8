"""Report rendering: the ICO notification and the Ombudsman pack of an incident with 200
timeline events and 60 notifications, each timed whole (queries, template, WeasyPrint) and
against WeasyPrint rendering the same HTML alone, in the same run; then letters for 5,000
people as the worker generates them (pages per second).

    .venv/bin/python bench/reports.py                  # 15 runs of each report, 5,000 letters
    .venv/bin/python bench/reports.py --people 500     # a quicker letters run

Uses its own database (breachdesk_bench_reports), created afresh each run. Results go to
bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB", "breachdesk_bench_reports")

from bench.common import result_path, setup_django  # noqa: E402

if TYPE_CHECKING:
    from incidents.models import Incident

TARGET_MEDIAN_S = 1.5
TARGET_RATIO = 1.3
TARGET_PAGES_PER_S = 20


def recreate_database(name: str) -> None:
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def build_incident(events: int, notifications: int) -> Incident:
    """A handled incident (through the services), then notes to make up ``events`` timeline
    entries and escalation notifications to make up ``notifications``."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from incidents.services import incident_add_note
    from notifications.choices import AckMethod, NotificationState
    from notifications.models import Notification
    from tests.factories import IncidentFactory
    from tests.incidents.test_plan import make_ready_to_close

    os.environ.setdefault("DEMO_PASSWORD", "bench-demo-password-0123")
    call_command("seed_demo", verbosity=0)
    org = {u.username: u for u in User.objects.all()}
    incident = make_ready_to_close(org, IncidentFactory(reporter=org["reporter"]))
    for i in range(max(events - incident.timeline.count(), 0)):
        incident_add_note(
            incident=incident, author=org["isim"], body=f"Update {i + 1}: searched another site; nothing found."
        )
    people = [org[u] for u in ("manager", "isr", "isim", "chief", "scs", "dpo", "siro", "press")]
    now = timezone.now()
    existing = Notification.objects.filter(incident=incident).count()
    rows = []
    for i in range(max(notifications - existing, 0)):
        sent = now - timedelta(minutes=notifications - i)
        rows.append(
            Notification(
                incident=incident,
                step=1 + i % 4,
                role="isim",
                recipient=people[i % len(people)],
                state=NotificationState.ACKNOWLEDGED if i % 5 else NotificationState.ESCALATED,
                created_at=sent,
                sent_at=sent,
                due_at=sent + timedelta(minutes=20),
                acknowledged_at=sent + timedelta(minutes=5 + i % 30) if i % 5 else None,
                acknowledged_by=people[i % len(people)] if i % 5 else None,
                ack_method=AckMethod.LINK if i % 5 else "",
                attempts=1,
            )
        )
    Notification.objects.bulk_create(rows)
    return incident


def time_report(kind: str, incident: Incident, runs: int) -> dict[str, object]:
    from notifications.reports.render import html_to_pdf, weasyprint_pdf
    from notifications.services.reports import incident_report

    whole, alone, collecting, pages = [], [], [], 0
    incident_report(kind, incident).pdf()  # warm: fonts loaded, templates compiled
    for _ in range(runs):
        start = time.perf_counter()
        report = incident_report(kind, incident)
        pdf = report.pdf()
        whole.append(time.perf_counter() - start)
        html = report.html()
        start = time.perf_counter()
        html_to_pdf(html)  # WeasyPrint alone, same HTML, same options
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        weasyprint_pdf(html)  # the same, with the cyclic collector running throughout
        collecting.append(time.perf_counter() - start)
        pages = pdf.pages
    med_whole, med_alone = statistics.median(whole), statistics.median(alone)
    return {
        "kind": kind,
        "runs": runs,
        "pages": pages,
        "median_s": round(med_whole, 3),
        "p90_s": round(sorted(whole)[int(0.9 * (runs - 1))], 3),
        "weasyprint_alone_median_s": round(med_alone, 3),
        "weasyprint_collector_running_median_s": round(statistics.median(collecting), 3),
        "ratio": round(med_whole / med_alone, 3),
        "meets_median": med_whole <= TARGET_MEDIAN_S,
        "meets_ratio": med_whole / med_alone <= TARGET_RATIO,
    }


def time_letters(incident: Incident, people: int) -> dict[str, object]:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile

    from notifications.models import LetterBatch
    from notifications.services.letters import letter_batch_create, letter_batch_run
    from riskassess.models import RiskGroup

    lines = ["name,address,postcode,fields"]
    lines += [
        f'Person {i},"{i} Long Lane, Leeds",LS{i % 20} 1AB,"Name, date of birth, release date"' for i in range(people)
    ]
    upload = SimpleUploadedFile("people.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")
    group = RiskGroup.objects.filter(assessment__incident=incident).order_by("id").first()
    batch = letter_batch_create(incident=incident, actor=User.objects.get(username="isim"), group=group, upload=upload)
    start = time.perf_counter()
    letter_batch_run(batch_id=batch.pk)
    elapsed = time.perf_counter() - start
    batch = LetterBatch.objects.get(pk=batch.pk)
    pages = batch.pages or 0
    return {
        "people": people,
        "state": batch.state,
        "pages": pages,
        "seconds": round(elapsed, 1),
        "pages_per_s": round(pages / elapsed, 1),
        "letters_per_s": round(people / elapsed, 1),
        "meets_target": pages / elapsed >= TARGET_PAGES_PER_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--notifications", type=int, default=60)
    parser.add_argument("--people", type=int, default=5000)
    args = parser.parse_args()

    recreate_database(os.environ["BENCH_DB"])
    os.environ["REPORTS_ROOT"] = str(ROOT / "bench" / "results" / "var" / "reports")
    os.environ.setdefault("EMAIL_URL", "dummymail://")
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    incident = build_incident(args.events, args.notifications)
    from notifications.models import Notification

    timeline = incident.timeline.count()
    sent = Notification.objects.filter(incident=incident).count()
    print(f"incident {incident.reference}: {timeline} timeline events, {sent} notifications")
    reports = []
    for kind in ("ico-notification", "ombudsman-pack"):
        row = time_report(kind, incident, args.runs)
        reports.append(row)
        print(json.dumps(row))
    results: dict[str, object] = {"timeline_events": timeline, "notifications": sent, "reports": reports}
    letters = time_letters(incident, args.people)
    results["letters"] = letters
    results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(letters))
    print(f"max RSS {results['max_rss_mb']} MB")
    result_path("reports.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
