"""Load a realistic volume into the benchmark database: incidents with their clocks and
timeline, and a valid hash-chained audit trail.

Run after ``migrate`` and ``seed_demo`` (``bench/run.sh`` does both). Uses COPY for the big
tables; secondary indexes are dropped before COPY and rebuilt after, which is much faster
than maintaining them row by row. Prints the time of each phase and writes
``bench/results/load.json``.

    .venv/bin/python bench/load.py --incidents 100000 --events 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, setup_django

LONDON = ZoneInfo("Europe/London")
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

UNIT_WEIGHTS = {
    "NAT": 2,
    "NE": 3,
    "NE-TYNE": 5,
    "NE-TYNE-NCL": 30,
    "NE-TYNE-SUN": 20,
    "NE-DUR": 5,
    "NE-DUR-DUR": 20,
    "NE-DUR-DAR": 15,
}
CATEGORY_WEIGHTS = {
    "emailed_to_wrong_recipient": 25,
    "posted_or_faxed_to_wrong_recipient": 15,
    "failure_to_use_bcc": 6,
    "failure_to_redact": 8,
    "device_lost_or_stolen": 8,
    "paperwork_lost_or_insecure": 12,
    "verbal_disclosure": 8,
    "unauthorised_access": 7,
    "ransomware": 1,
    "phishing": 4,
    "other_cyber": 2,
    "other_non_cyber": 4,
}
ITEMS = [
    "case file",
    "risk assessment",
    "pre-sentence report",
    "court list",
    "victim contact letter",
    "MAPPA minutes",
    "supervision notes",
    "staff rota",
    "home visit schedule",
    "accommodation referral",
]
PLACES = ["office", "court", "train", "client's home", "car park", "reception", "post room", "partner agency"]
SENTENCES = [
    "The document contained names, addresses and dates of birth.",
    "The error was noticed by a colleague the same afternoon.",
    "The recipient has been asked to delete the message and confirm in writing.",
    "The item has not yet been recovered.",
    "The police were informed and a crime reference was given.",
    "The envelope was addressed from an out-of-date template.",
    "Autocomplete selected the wrong address in the To field.",
    "The laptop was encrypted but the password was written on a note in the bag.",
    "A partner agency forwarded the report to a third party by mistake.",
    "The papers were left on a desk in a shared area overnight.",
]
FIELD_CHOICES = ["approx_subjects", "approx_records", "location", "circumstances", "encryption", "data_categories"]
DATA_CATS = [
    "basic_identifiers",
    "criminal_offence",
    "health",
    "economic_financial",
    "location",
    "official_documents",
    "racial_ethnic_origin",
    "not_known",
]
SUBJECT_CATS = ["offenders", "victims", "witnesses", "staff", "public", "children", "vulnerable_adults"]


def copy_value(value: Any) -> str:
    """One value in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return str(value).translate(COPY_ESCAPES)


class IterFile:
    """A read-only file over an iterator of text chunks, for ``copy_expert``: rows are
    produced while PostgreSQL ingests the previous ones."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buf = ""

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            out, self._buf = self._buf, ""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readline(self, size: int = -1) -> str:
        return self.read(size)


def copy_rows(model: Any, rows: Iterable[dict[str, Any]], *, with_id: bool) -> int:
    """COPY dicts keyed by attname into ``model``'s table. Fields not given take the
    model default, so a column added later with a Python default does not break the load."""
    from django.db import connection, models

    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    is_json = [isinstance(f, models.JSONField) for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        batch: list[str] = []
        for row in rows:
            values = []
            for f, js in zip(fields, is_json, strict=True):
                v = row[f.attname] if f.attname in row else defaults[f.attname]
                values.append(copy_value(json.dumps(v) if js and v is not None else v))
            batch.append("\t".join(values) + "\n")
            count += 1
            if len(batch) >= 2000:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)

    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, IterFile(lines()), size=65536)
    return count


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes on ``table`` that do not back a constraint."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_class t ON t.oid = ix.indrelid
            WHERE t.relname = %s
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
            ORDER BY i.relname
            """,
            [table],
        )
        return [(r[0], r[1]) for r in cursor.fetchall()]


def timed(label: str, timings: dict[str, float]) -> Callable[[Callable[[], Any]], Any]:
    def run(fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        timings[label] = round(time.perf_counter() - t0, 2)
        print(f"  {label}: {timings[label]:.1f} s", flush=True)
        return out

    return run


@dataclass
class Plan:
    """Everything generated before writing: incidents, their deadlines, the events."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    # (time, kind, incident index or -1, actor id or None, payload)
    events: list[tuple[datetime, str, int, int | None, Any]] = field(default_factory=list)
    references_per_year: Counter[int] = field(default_factory=Counter)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def status_for_age(rng: random.Random, age_days: float) -> str:
    if age_days < 3:
        table = {"reported": 60, "under_investigation": 40}
    elif age_days < 30:
        table = {"reported": 10, "under_investigation": 50, "contained": 30, "closed": 10}
    elif age_days < 180:
        table = {"under_investigation": 10, "contained": 25, "closed": 65}
    else:
        table = {"contained": 2, "closed": 98}
    return pick(rng, table)


def deadline_rows(
    rng: random.Random, *, incident_id: int, status: str, discovered: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The four clocks ``deadlines_start_for_incident`` creates, in a state that fits the
    incident's status and age."""
    rows = []
    for code, within in (
        ("manager_informed", timedelta(hours=1)),
        ("national_informed", None),
        ("investigation_started", timedelta(hours=24)),
        ("ico_notified", timedelta(hours=72)),
    ):
        due = discovered + within if within is not None else None
        row: dict[str, Any] = {
            "incident_id": incident_id,
            "code": code,
            "starts_at": discovered if within is not None else None,
            "due_at": due,
            "state": "pending",
            "met_at": None,
        }
        if status != "reported" and due is not None:
            roll = rng.random()
            if code == "ico_notified" and roll < 0.8:
                row["state"] = "not_required"
            elif roll < 0.93:
                met = discovered + (due - discovered) * rng.uniform(0.05, 0.95)
                if met <= now:
                    row["state"], row["met_at"] = "met", met
            elif due <= now:
                row["state"], row["missed_at"] = "missed", due
        elif status == "reported" and code == "manager_informed" and rng.random() < 0.7:
            met = discovered + timedelta(minutes=rng.uniform(5, 55))
            if met <= now:
                row["state"], row["met_at"] = "met", met
        if code == "national_informed" and status == "closed":
            row["state"] = "not_required"
        rows.append(row)
    return rows


def generate(
    rng: random.Random,
    *,
    n_incidents: int,
    first_id: int,
    now: datetime,
    years: float,
    units: dict[str, Any],
    users: dict[str, Any],
    staff: list[Any],
) -> Plan:
    plan = Plan()
    span = timedelta(days=365.25 * years)
    start = now - span
    times = sorted(start + span * rng.random() for _ in range(n_incidents))
    staff_by_unit: dict[int, list[Any]] = {}
    for s in staff:
        staff_by_unit.setdefault(s.profile.unit_id, []).append(s)
    managers = {"NE-TYNE": users["manager"], "NE-DUR": users["manager2"]}
    counters: Counter[int] = Counter()
    for idx, reported_at in enumerate(times):
        incident_id = first_id + idx
        unit_code = pick(rng, UNIT_WEIGHTS)
        unit = units[unit_code]
        tree = "NE-TYNE" if unit_code.startswith("NE-TYNE") else "NE-DUR" if unit_code.startswith("NE-DUR") else ""
        if unit_code == "NE-TYNE-NCL" and rng.random() < 0.75:
            reporter = users["reporter"]
        elif unit_code == "NE-DUR-DUR" and rng.random() < 0.75:
            reporter = users["reporter2"]
        elif unit_code not in ("NE-TYNE-NCL", "NE-DUR-DUR") and rng.random() < 0.5:
            reporter = (
                users["reporter"] if tree == "NE-TYNE" or (not tree and rng.random() < 0.5) else users["reporter2"]
            )
        else:
            reporter = rng.choice(staff_by_unit.get(unit.pk) or staff)
        discovered = reported_at - timedelta(minutes=min(rng.expovariate(1 / 180), 72 * 60))
        occurred = None if rng.random() < 0.3 else discovered - timedelta(minutes=rng.expovariate(1 / 1440))
        age_days = (now - reported_at).total_seconds() / 86400
        status = status_for_age(rng, age_days)
        category = pick(rng, CATEGORY_WEIGHTS)
        year = reported_at.astimezone(LONDON).year
        counters[year] += 1
        reference = f"BD-{year}-{counters[year]:06d}"
        item = rng.choice(ITEMS)
        incident: dict[str, Any] = {
            "id": incident_id,
            "reference": reference,
            "title": f"{category.replace('_', ' ').capitalize()}: {item}",
            "description": " ".join(rng.sample(SENTENCES, rng.randint(2, 5))),
            "category": category,
            "discovered_at": discovered,
            "occurred_at": occurred,
            "suspected": status == "reported" and rng.random() < 0.8,
            "org_unit_id": unit.pk,
            "location": rng.choice(PLACES),
            "circumstances": rng.choice(SENTENCES) if rng.random() < 0.5 else "",
            "data_categories": sorted(rng.sample(DATA_CATS, rng.randint(1, 3))),
            "subject_categories": sorted(rng.sample(SUBJECT_CATS, rng.randint(1, 2))),
            "approx_subjects": int(rng.paretovariate(1.5)) if rng.random() < 0.8 else None,
            "approx_records": int(rng.paretovariate(1.2) * 3) if rng.random() < 0.7 else None,
            "encryption": rng.choice(["none", "encrypted", "unknown"]),
            "third_party": "Partner agency" if rng.random() < 0.05 else "",
            "status": status,
            "reporter_id": reporter.pk,
            "reported_at": reported_at,
            "updated_at": reported_at,
        }
        plan.incidents.append(incident)
        plan.deadlines.extend(
            deadline_rows(rng, incident_id=incident_id, status=status, discovered=discovered, now=now)
        )
        plan.events.append((reported_at, "reported", idx, reporter.pk, None))
        plan.events.append((reported_at, "started", idx, reporter.pk, None))
        editors = [reporter, managers.get(tree, users["isim"])]
        last = reported_at
        for _ in range(rng.choices(range(7), weights=[15, 15, 20, 20, 15, 10, 5])[0]):
            t = min(reported_at + timedelta(hours=rng.expovariate(1 / 72)), now - timedelta(minutes=1))
            fld = rng.choice(FIELD_CHOICES)
            plan.events.append((t, "updated", idx, rng.choice(editors).pk, fld))
            last = max(last, t)
        for _ in range(rng.choices(range(4), weights=[35, 40, 15, 10])[0]):
            t = min(reported_at + timedelta(hours=rng.expovariate(1 / 48)), now - timedelta(minutes=1))
            plan.events.append((t, "note", idx, rng.choice(editors).pk, rng.choice(SENTENCES)))
            last = max(last, t)
        incident["updated_at"] = last
    plan.references_per_year = counters
    return plan


def update_payload(rng: random.Random, fld: str, incident: dict[str, Any]) -> tuple[Any, Any]:
    if fld in ("approx_subjects", "approx_records"):
        return {fld: incident[fld]}, {fld: (incident[fld] or 0) + rng.randint(1, 40)}
    if fld == "encryption":
        return {fld: "unknown"}, {fld: incident[fld]}
    if fld == "data_categories":
        return {fld: ["not_known"]}, {fld: incident[fld]}
    return {fld: ""}, {fld: incident[fld] or rng.choice(PLACES)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("BENCH_INCIDENTS", "100000")))
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", "1000000")))
    parser.add_argument("--staff", type=int, default=40, help="extra staff users to create")
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()

    setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from breachdesk.audit import _canonical, event_hash
    from breachdesk.models import AuditChainHead, AuditEvent, OrgUnit, Profile, RoleAssignment
    from incidents.models import Incident, ReferenceSequence, TimelineEntry
    from incidents.services import EDITABLE_FIELDS
    from notifications.models import Deadline

    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    user_model = get_user_model()
    if Incident.objects.exists():
        raise SystemExit("The bench database already holds incidents; recreate it first (bench/run.sh does).")
    units = {u.code: u for u in OrgUnit.objects.all()}
    missing = set(UNIT_WEIGHTS) - set(units)
    if missing:
        raise SystemExit(f"Run seed_demo first; missing units {sorted(missing)}")
    users = {
        u.username: u
        for u in user_model.objects.filter(username__in=["reporter", "reporter2", "manager", "manager2", "isim"])
    }
    now = timezone.now()
    start = now - timedelta(days=365.25 * args.years)
    print(f"Loading {args.incidents:,} incidents and audit events up to {args.events:,} in total", flush=True)
    t_all = time.perf_counter()

    def make_staff() -> list[Any]:
        leafish = list(units.values())
        with transaction.atomic():
            new = user_model.objects.bulk_create(
                [
                    user_model(
                        username=f"staff{i:03d}",
                        first_name="Staff",
                        last_name=f"Member {i}",
                        email=f"staff{i:03d}@example.org",
                        password=make_password(None),
                        date_joined=start,
                    )
                    for i in range(args.staff)
                ]
            )
            profiles = []
            for i, u in enumerate(new):
                unit = leafish[i % len(leafish)]
                manager = {"NE-TYNE-NCL": users["manager"], "NE-DUR-DUR": users["manager2"]}.get(unit.code)
                profiles.append(Profile(user=u, unit=unit, job_title="Probation Officer", line_manager=manager))
            Profile.objects.bulk_create(profiles)
            RoleAssignment.objects.bulk_create(
                [RoleAssignment(user=p.user, role="reporter", unit=p.unit) for p in profiles]
            )
        return list(user_model.objects.filter(username__startswith="staff").select_related("profile"))

    staff = timed("staff users", timings)(make_staff)
    first_id = 1
    plan: Plan = timed("generate incidents", timings)(
        lambda: generate(
            rng,
            n_incidents=args.incidents,
            first_id=first_id,
            now=now,
            years=args.years,
            units=units,
            users=users,
            staff=staff,
        )
    )

    # Fill the trail up to the requested total with sign-ins (and a few failed ones).
    existing = AuditEvent.objects.count()
    for s in staff:
        plan.events.append((start, "person", -1, None, s))
    people = [*users.values(), *staff]
    person_weights = [30 if u.username.startswith(("reporter", "manager")) else 3 for u in people]
    n_logins = args.events - existing - len(plan.events)
    if n_logins < 0:
        raise SystemExit(f"--events {args.events} is fewer than the {existing + len(plan.events)} events generated")
    span = now - start
    for actor in rng.choices(people, weights=person_weights, k=n_logins):
        t = start + span * rng.random()
        if rng.random() < 0.03:
            plan.events.append((t, "login_failed", -1, None, actor.username))
        else:
            plan.events.append((t, "login", -1, actor.pk, None))
    plan.events.sort(key=lambda e: e[0])
    print(f"  {len(plan.incidents):,} incidents, {len(plan.events):,} new audit events", flush=True)

    dropped: dict[str, list[tuple[str, str]]] = {}

    def drop_indexes() -> None:
        with connection.cursor() as cursor:
            for model in (Incident, Deadline, TimelineEntry, AuditEvent):
                table = model._meta.db_table
                dropped[table] = secondary_indexes(table)
                for name, _ in dropped[table]:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    timed("drop secondary indexes", timings)(drop_indexes)
    timed("COPY incidents", timings)(lambda: copy_rows(Incident, plan.incidents, with_id=True))
    timed("COPY deadlines", timings)(lambda: copy_rows(Deadline, plan.deadlines, with_id=False))

    head = AuditChainHead.objects.get(id=1)
    chain: dict[str, Any] = {"seq": head.seq, "hash": head.hash}
    timeline: list[dict[str, Any]] = []
    next_timeline_id = [1]
    names = {u.pk: u.username for u in people}
    unit_codes = {u.pk: u.code for u in units.values()}

    def add_timeline(incident: dict[str, Any], kind: str, actor: int | None, at: datetime, body: str, data: Any) -> int:
        tid = next_timeline_id[0]
        next_timeline_id[0] += 1
        timeline.append(
            {
                "id": tid,
                "incident_id": incident["id"],
                "kind": kind,
                "actor_id": actor,
                "created_at": at,
                "body": body,
                "data": data,
            }
        )
        return tid

    def audit_rows() -> Iterator[dict[str, Any]]:
        for at, kind, idx, actor, payload in plan.events:
            incident = plan.incidents[idx] if idx >= 0 else None
            ref = incident["reference"] if incident else ""
            before: Any = None
            after: Any = None
            username = names.get(actor, "") if actor else ""
            object_type, object_id = "incident", str(incident["id"]) if incident else ""
            if kind == "reported" and incident is not None:
                action = "incident.reported"
                snap = {f: incident["org_unit_id"] if f == "org_unit" else incident[f] for f in EDITABLE_FIELDS}
                snap["org_unit"] = unit_codes[incident["org_unit_id"]]
                after = {"reference": ref, "status": "reported", **snap}
                add_timeline(
                    incident,
                    "reported",
                    actor,
                    at,
                    "Suspected loss reported." if incident["suspected"] else "Incident reported.",
                    {},
                )
            elif kind == "started" and incident is not None:
                action = "deadlines.started"
                d = incident["discovered_at"]
                after = {
                    "manager_informed": d + timedelta(hours=1),
                    "national_informed": None,
                    "investigation_started": d + timedelta(hours=24),
                    "ico_notified": d + timedelta(hours=72),
                }
            elif kind == "updated" and incident is not None:
                action = "incident.updated"
                before, after = update_payload(rng, payload, incident)
                add_timeline(
                    incident, "updated", actor, at, f"Changed: {payload.replace('_', ' ')}", {"fields": [payload]}
                )
            elif kind == "note" and incident is not None:
                action, object_type = "incident.note_added", "timeline_entry"
                object_id = str(add_timeline(incident, "note", actor, at, payload, {}))
                after = {"body": payload}
            elif kind == "person":
                action, object_type, object_id = "person.created", "user", str(payload.pk)
                after = {"username": payload.username, "unit": unit_codes[payload.profile.unit_id]}
            elif kind == "login":
                action, object_type, object_id = "auth.logged_in", "user", str(actor)
            else:
                action, object_type, object_id, username = "auth.login_failed", "user", "", payload
                after = {"username": payload}
            before, after = _canonical(before), _canonical(after)
            seq = chain["seq"] + 1
            digest = event_hash(
                seq=seq,
                occurred_at=at,
                actor_id=actor,
                actor_username=username,
                action=action,
                object_type=object_type,
                object_id=object_id,
                incident_ref=ref,
                before=before,
                after=after,
                prev_hash=chain["hash"],
            )
            yield {
                "seq": seq,
                "occurred_at": at,
                "actor_id": actor,
                "actor_username": username,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "incident_ref": ref,
                "before": before,
                "after": after,
                "prev_hash": chain["hash"],
                "hash": digest,
            }
            chain["seq"], chain["hash"] = seq, digest

    timed("hash + COPY audit events", timings)(lambda: copy_rows(AuditEvent, audit_rows(), with_id=False))
    timed("COPY timeline entries", timings)(lambda: copy_rows(TimelineEntry, timeline, with_id=True))

    def notification_rows(line_manager: dict[int, int]) -> Iterator[dict[str, Any]]:
        """What reporting does since escalations exist: the reporter's line manager is told
        (escalation step 1). Scoped reads check "was this user told", so a manager's
        history of notifications is part of the realistic volume. (No queries in here: it
        runs while the COPY is in progress on the same connection.)"""
        for inc in plan.incidents:
            manager_id = line_manager.get(inc["reporter_id"])
            if manager_id is None:
                continue
            sent = inc["reported_at"] + timedelta(seconds=rng.uniform(1, 30))
            acked = sent + timedelta(minutes=rng.expovariate(1 / 20))
            done = acked < now
            yield {
                "incident_id": inc["id"],
                "purpose": "escalation",
                "ack_required": True,
                "step": 1,
                "role": "line_manager",
                "recipient_id": manager_id,
                "channel": "email",
                "state": "acknowledged" if done else "sent",
                "created_at": inc["reported_at"],
                "sent_at": sent,
                "due_at": inc["reported_at"] + timedelta(hours=1),
                "acknowledged_at": acked if done else None,
                "acknowledged_by_id": manager_id if done else None,
                "ack_method": "link" if done else "",
                "attempts": 1,
            }

    def copy_notifications() -> int:
        from django.apps import apps

        try:
            model = apps.get_model("notifications", "Notification")
        except LookupError:
            return 0
        line_manager = dict(Profile.objects.exclude(line_manager=None).values_list("user_id", "line_manager_id"))
        return copy_rows(model, notification_rows(line_manager), with_id=False)

    n_notifications = timed("COPY notifications", timings)(copy_notifications)

    def finish() -> None:
        with transaction.atomic():
            AuditChainHead.objects.filter(id=1).update(seq=chain["seq"], hash=chain["hash"])
            for year, last in plan.references_per_year.items():
                ReferenceSequence.objects.update_or_create(year=year, defaults={"last": last})
            with connection.cursor() as cursor:
                for model in (Incident, TimelineEntry):
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM {table}))",
                        [table],
                    )

    timed("chain head, reference counters, sequences", timings)(finish)

    def rebuild() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for defs in dropped.values():
                for _, definition in defs:
                    cursor.execute(definition)

    timed("rebuild secondary indexes", timings)(rebuild)

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    timed("ANALYZE", timings)(analyze)
    total = round(time.perf_counter() - t_all, 1)
    counts = {
        "incidents": Incident.objects.count(),
        "deadlines": Deadline.objects.count(),
        "timeline_entries": TimelineEntry.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "users": user_model.objects.count(),
        "notifications": n_notifications,
    }
    status_mix = dict(Counter(i["status"] for i in plan.incidents))
    code_of = {u.pk: code for code, u in units.items()}
    unit_mix = dict(Counter(code_of[i["org_unit_id"]] for i in plan.incidents).most_common())
    category_mix = dict(Counter(i["category"] for i in plan.incidents).most_common())
    reporter_mix = Counter(names.get(i["reporter_id"], "?") for i in plan.incidents)
    reporters = {
        "reporter": reporter_mix["reporter"],
        "reporter2": reporter_mix["reporter2"],
        f"{len(staff)} extra staff": sum(v for k, v in reporter_mix.items() if k.startswith("staff")),
    }
    deadline_states = dict(Counter((d["code"], d["state"]) for d in plan.deadlines).most_common())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
    out = {
        "total_seconds": total,
        "phases": timings,
        "counts": counts,
        "status_mix": status_mix,
        "unit_mix": unit_mix,
        "category_mix": category_mix,
        "reporters": reporters,
        "deadline_states": {f"{code}:{state}": n for (code, state), n in deadline_states.items()},
        "references_per_year": dict(sorted(plan.references_per_year.items())),
        "chain_head_seq": chain["seq"],
        "database_size": db_size,
        "span": [start.isoformat(), now.isoformat()],
    }
    (RESULTS / "load.json").write_text(json.dumps(out, indent=2))
    print(f"Loaded in {total:.1f} s: {json.dumps(counts)}; database {db_size}", flush=True)


if __name__ == "__main__":
    main()
