"""Add what the SIRO dashboard and the task lists read to a database that ``bench/load.py``
filled: when incidents were contained and closed, risk assessments (the severity), the
decisions on them (some still waiting), root causes, and improvement actions (some past
due). Without these the dashboard's figures would be zero and measure nothing.

Run after ``load.py`` (``bench/run.sh`` does). COPY for the big tables; one seed, so two
runs make the same data.

    .venv/bin/python bench/enrich.py
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import result_path, setup_django
from bench.load import copy_rows

LEVELS = {"low": 45, "medium": 30, "high": 18, "very_high": 7}
RISK_FOR_LEVEL = {"low": "unlikely", "medium": "risk", "high": "high", "very_high": "high"}
SCORE_FOR_LEVEL = {"low": 1.5, "medium": 2.5, "high": 3.5, "very_high": 4.5}
CAUSES = ["unencrypted_media", "addressing_error"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.choices import ActionTopic, RootCauseKind
    from incidents.models import Action, Incident, RootCause, TimelineEntry
    from riskassess.choices import DecisionKind
    from riskassess.models import Decision, RiskAssessment

    if RiskAssessment.objects.exists():
        raise SystemExit("Already enriched: recreate the database first (bench/run.sh does).")
    rng = random.Random(args.seed)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["isim", "dpo", "manager", "chief"])}
    now = timezone.now()
    today = timezone.localdate(now)
    causes = [*CAUSES, *RootCauseKind.values]
    t0 = time.perf_counter()
    closed_at: dict[int, datetime] = {}
    timeline: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    root_causes: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    next_assessment = 1
    rows = Incident.objects.order_by("id").values_list("id", "status", "reported_at", "discovered_at")
    for incident_id, status, reported_at, discovered_at in rows.iterator(chunk_size=5000):
        if status in ("contained", "closed"):
            contained = min(discovered_at + timedelta(hours=rng.expovariate(1 / 30)), now - timedelta(minutes=5))
            timeline.append(
                {
                    "incident_id": incident_id,
                    "kind": "status_changed",
                    "actor_id": users["isim"].pk,
                    "created_at": contained,
                    "body": "Status changed to contained.",
                    "data": {"from": "under_investigation", "to": "contained"},
                }
            )
            if status == "closed":
                closed_at[incident_id] = min(contained + timedelta(days=rng.expovariate(1 / 20)), now)
        if status == "reported" and rng.random() < 0.7:
            continue
        if rng.random() < 0.35:
            continue
        level = rng.choices(list(LEVELS), weights=list(LEVELS.values()))[0]
        risk = RISK_FOR_LEVEL[level]
        recs = {
            DecisionKind.NOTIFY_REGULATOR.value: risk != "unlikely",
            DecisionKind.NOTIFY_SUBJECTS.value: risk == "high",
            DecisionKind.INVOLVE_POLICE.value: rng.random() < 0.05,
        }
        assessed_at = min(reported_at + timedelta(hours=rng.expovariate(1 / 20)), now - timedelta(minutes=1))
        score = SCORE_FOR_LEVEL[level]
        assessments.append(
            {
                "id": next_assessment,
                "incident_id": incident_id,
                "version": 1,
                "created_by_id": users["isim"].pk,
                "created_at": assessed_at,
                "data_categories": ["basic_identifiers"],
                "subject_categories": ["offenders"],
                "subjects_count": rng.randint(1, 500),
                "ease_of_identification": "maximum",
                "confidentiality": "known_recipients",
                "integrity": "none",
                "availability": "none",
                "malicious": False,
                "dpc": 2,
                "ei": "1.00",
                "cb": f"{score - 2:.2f}",
                "score": f"{score:.2f}",
                "level": level,
                "risk_to_individuals": risk,
                "recommendations": recs,
                "rationale": [],
                "regime": "gdpr",
            }
        )
        # Closed and contained incidents were decided; a fifth of the open ones still wait.
        if status in ("closed", "contained") or rng.random() < 0.8:
            for kind, recommended in recs.items():
                decisions.append(
                    {
                        "incident_id": incident_id,
                        "assessment_id": next_assessment,
                        "kind": kind,
                        "decision": recommended,
                        "recommended": recommended,
                        "reason": "",
                        "decided_by_id": users["dpo"].pk,
                        "decided_at": assessed_at + timedelta(minutes=30),
                    }
                )
        next_assessment += 1
        if status == "closed" and rng.random() < 0.5:
            for cause in rng.sample(causes, rng.randint(1, 2)):
                if any(r["incident_id"] == incident_id and r["cause"] == cause for r in root_causes[-2:]):
                    continue
                root_causes.append(
                    {
                        "incident_id": incident_id,
                        "cause": cause,
                        "detail": "Described in the investigation report.",
                        "recorded_by_id": users["isim"].pk,
                        "recorded_at": assessed_at,
                    }
                )
        if rng.random() < 0.08:
            due = (assessed_at + timedelta(days=rng.randint(7, 90))).date()
            done = due < today and rng.random() < 0.9
            actions.append(
                {
                    "incident_id": incident_id,
                    "kind": "improvement",
                    "topic": rng.choice(ActionTopic.values),
                    "description": "Refresher training on checking the recipient before sending",
                    "owner_id": users["manager"].pk,
                    "due_on": due,
                    "state": "done" if done else "open",
                    "outcome": "Trained; register attached." if done else "",
                    "created_by_id": users["isim"].pk,
                    "created_at": assessed_at,
                    "completed_by_id": users["manager"].pk if done else None,
                    "completed_at": datetime.combine(due, datetime.min.time(), tzinfo=now.tzinfo) if done else None,
                }
            )
    generated = round(time.perf_counter() - t0, 1)
    with transaction.atomic():
        copy_rows(TimelineEntry, timeline, with_id=False)
        copy_rows(RiskAssessment, assessments, with_id=True)
        copy_rows(Decision, decisions, with_id=False)
        copy_rows(RootCause, root_causes, with_id=False)
        copy_rows(Action, actions, with_id=False)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_closed (id bigint PRIMARY KEY, closed_at timestamptz)")
            cursor.executemany("INSERT INTO bench_closed VALUES (%s, %s)", list(closed_at.items()))
            cursor.execute(
                f"UPDATE {Incident._meta.db_table} i SET closed_at = c.closed_at FROM bench_closed c WHERE i.id = c.id"
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM "
                f"{RiskAssessment._meta.db_table}))",
                [RiskAssessment._meta.db_table],
            )
    # A live database is vacuumed by autovacuum after writes like these; a bulk load leaves
    # the visibility map empty until then, so index-only scans visit every heap page.
    # VACUUM cannot run inside a transaction block: Django's connection is in autocommit here.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    out = {
        "seconds": round(time.perf_counter() - t0, 1),
        "generate_seconds": generated,
        "contained_entries": len(timeline),
        "closed_at_set": len(closed_at),
        "assessments": len(assessments),
        "levels": dict(Counter(a["level"] for a in assessments)),
        "decisions": len(decisions),
        "root_causes": len(root_causes),
        "improvement_actions": len(actions),
        "open_actions_past_due": sum(1 for a in actions if a["state"] == "open" and a["due_on"] < today),
        "open_actions_for_manager": sum(1 for a in actions if a["state"] == "open"),
    }
    result_path("enrich.json").write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
