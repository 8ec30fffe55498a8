"""Concurrent HTTP load against a running BreachDesk (gunicorn on loopback).

Closed-loop clients: each of ``concurrency`` threads sends the next request as soon as the
previous answer is read, until the fixed request count is reached. Every scenario starts
with a short unmeasured warm-up. Measures the list page (session cookie), the API list
(token) with its cursor pages, the trivial ``/health/live/`` view as baseline, and API
creates, then checks in the database that no reference was lost or duplicated and that
the audit chain still verifies. Writes ``bench/results/results.{json,md}``.

    .venv/bin/python bench/loadtest.py --port 8765
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from django_otp.oath import totp  # RFC 6238 with django-otp's defaults, as the server checks it

from bench.common import RESULTS, result_path, setup_django
from bench.verify import timed_audit_verify

HOST = "127.0.0.1"
LONDON = ZoneInfo("Europe/London")
CATEGORIES = [
    "emailed_to_wrong_recipient",
    "posted_or_faxed_to_wrong_recipient",
    "failure_to_use_bcc",
    "failure_to_redact",
    "device_lost_or_stolen",
    "paperwork_lost_or_insecure",
    "verbal_disclosure",
    "unauthorised_access",
    "ransomware",
    "phishing",
    "other_cyber",
    "other_non_cyber",
]
CREATE_UNITS = ["NE-TYNE-NCL", "NE-TYNE-NCL", "NE-TYNE-SUN", "NE-DUR-DUR", "NE-DUR-DAR"]


@dataclass
class Response:
    status: int
    body: bytes
    headers: http.client.HTTPMessage | None


def send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    if resp.will_close:
        conn.close()  # gunicorn's sync workers close after each response; reconnect next time
    return Response(resp.status, data, resp.headers)


def one(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Response:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        return send(conn, method, path, headers, body)
    finally:
        conn.close()


def cookies_from(resp: Response) -> dict[str, str]:
    jar: dict[str, str] = {}
    if resp.headers is None:
        return jar
    for header in resp.headers.get_all("Set-Cookie") or []:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        jar.update({k: m.value for k, m in parsed.items()})
    return jar


def session_login(port: int, username: str, password: str) -> str:
    """Log in through the login form (CSRF token and cookie), return the Cookie header.
    The settings mark cookies Secure; this client sends them over loopback http anyway."""
    page = one(port, "GET", "/accounts/login/")
    jar = cookies_from(page)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    if page.status != 200 or match is None or "csrftoken" not in jar:
        raise SystemExit(f"login page: HTTP {page.status}, no CSRF token")
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()})
    resp = one(
        port,
        "POST",
        "/accounts/login/",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={jar['csrftoken']}"},
        form.encode(),
    )
    jar.update(cookies_from(resp))
    if resp.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login as {username}: HTTP {resp.status}, no session cookie")
    # Where signing in leads: for a role that must use a second factor, the code page.
    location = resp.headers.get("Location", "") if resp.headers else ""
    for _hop in range(3):
        if urlsplit(location).path == "/accounts/code/":
            second_factor(port, username, jar)
            break
        if not location.startswith("/"):
            break
        cookie = f"csrftoken={jar['csrftoken']}; sessionid={jar['sessionid']}"
        hop = one(port, "GET", location, {"Cookie": cookie})
        location = hop.headers.get("Location", "") if hop.status in (301, 302) and hop.headers else ""
    return f"csrftoken={jar['csrftoken']}; sessionid={jar['sessionid']}"


def second_factor(port: int, username: str, jar: dict[str, str]) -> None:
    """The code step after the password, for roles that must use a second factor, with the
    authenticator app run.sh set up for them (BENCH_TOTP_KEY). A code is accepted once per
    30-second step, so a refused one is retried with the next step's."""
    key = os.environ.get("BENCH_TOTP_KEY", "")
    if not key:
        raise SystemExit(f"{username} must use a second factor: set BENCH_TOTP_KEY (run.sh does)")
    for attempt in range(2):
        cookie = f"csrftoken={jar['csrftoken']}; sessionid={jar['sessionid']}"
        page = one(port, "GET", "/accounts/code/", {"Cookie": cookie})
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if page.status != 200 or match is None:
            raise SystemExit(f"code page for {username}: HTTP {page.status}")
        if attempt:
            time.sleep(30 - time.time() % 30 + 0.5)
        form = urlencode({"code": f"{totp(bytes.fromhex(key)):06d}", "csrfmiddlewaretoken": match.group(1).decode()})
        resp = one(
            port,
            "POST",
            "/accounts/code/",
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
            form.encode(),
        )
        jar.update(cookies_from(resp))
        if resp.status == 302:
            return
    raise SystemExit(f"second factor for {username}: HTTP {resp.status}")


def api_token(port: int, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    resp = one(port, "POST", "/api/v1/auth/token/", {"Content-Type": "application/json"}, body)
    if resp.status != 200:
        raise SystemExit(f"token for {username}: HTTP {resp.status} {resp.body[:200]!r}")
    return str(json.loads(resp.body)["token"])


def html_next(port: int, path: str, cookie: str) -> str:
    resp = one(port, "GET", path, {"Cookie": cookie})
    match = re.search(rb'href="(\?[^"]*)" rel="next"', resp.body)
    if resp.status != 200 or match is None:
        raise SystemExit(f"{path}: HTTP {resp.status}, no next link")
    return "/incidents/" + match.group(1).decode().replace("&amp;", "&")


def api_next(port: int, path: str, token: str) -> str:
    resp = one(port, "GET", path, {"Authorization": f"Token {token}"})
    nxt = json.loads(resp.body).get("next") if resp.status == 200 else None
    if not nxt:
        raise SystemExit(f"{path}: HTTP {resp.status}, no next cursor")
    parts = urlsplit(nxt)
    return f"{parts.path}?{parts.query}"


CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def machine_jiffies() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [float(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_share(seconds: float) -> float:
    b0, t0 = machine_jiffies()
    time.sleep(seconds)
    b1, t1 = machine_jiffies()
    return (b1 - b0) / max(t1 - t0, 1)


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class ServerProcesses:
    """The processes serving the benchmark: gunicorn's master and workers, and the
    PostgreSQL backends connected to the bench database (found by their process title,
    "postgres: ... <db> 127.0.0.1(port) ..."). Everything else that uses CPU during a
    scenario is someone else's load on this shared machine."""

    def __init__(self, pid_file: Path, database: str) -> None:
        self.pid_file = pid_file
        self.marker = f" {database} "

    def pids(self) -> set[int]:
        try:
            master = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            master = 0
        pids: set[int] = {master} if master else set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if (master and ppid == master) or (title.startswith("postgres:") and self.marker in title):
                pids.add(int(entry.name))
        return pids

    def snapshot(self) -> dict[int, float]:
        out = {}
        for pid in self.pids():
            cpu = proc_cpu(pid)
            if cpu is not None:
                out[pid] = cpu
        return out


class CpuMonitor:
    """While a scenario runs: samples the server processes' CPU every second (so a
    database backend replaced mid-run by CONN_MAX_AGE still counts), and five times a
    second how many of the bench database's backends are waiting on a lock."""

    def __init__(self, server: ServerProcesses | None) -> None:
        self.server = server
        self.before: dict[int, float] = server.snapshot() if server else {}
        self.last: dict[int, float] = dict(self.before)
        self.lock_samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        if self.server:
            self.last.update(self.server.snapshot())

    def _loop(self) -> None:
        import psycopg2
        from django.db import connections

        conn = psycopg2.connect(**connections["default"].get_connection_params()) if self.server else None
        try:
            tick = 0
            while not self._stop.wait(0.2):
                tick += 1
                if tick % 5 == 0:
                    self._sample()
                if conn is not None:
                    with conn.cursor() as cursor:
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                        )
                        row = cursor.fetchone()
                        self.lock_samples.append(int(row[0]) if row else 0)
                    conn.rollback()
        finally:
            if conn is not None:
                conn.close()

    def __enter__(self) -> CpuMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.last.items())

    @property
    def lock_waiters(self) -> float:
        return sum(self.lock_samples) / len(self.lock_samples) if self.lock_samples else 0.0


@dataclass
class Scenario:
    name: str
    path: str
    concurrency: int
    total: int
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[int], bytes] | None = None
    expect: int = 200


@dataclass
class Outcome:
    scenario: Scenario
    latencies_ms: list[float]
    statuses: Counter[int]
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float
    machine_busy_s: float
    bodies: list[bytes]
    background_before: float = 0.0
    attempts: int = 1
    lock_waiters: float = 0.0

    @property
    def foreign_share(self) -> float:
        """Share of the machine's CPU used by processes other than this benchmark."""
        other = self.machine_busy_s - self.server_cpu_s - self.client_cpu_s
        return max(0.0, other) / (NCPU * self.wall_s)

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        capacity = NCPU * self.wall_s
        return {
            "name": s.name,
            "method": s.method,
            "path": s.path,
            "concurrency": s.concurrency,
            "requests": len(self.latencies_ms),
            "ok": self.statuses.get(s.expect, 0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": round(self.pct(50), 1),
            "p95_ms": round(self.pct(95), 1),
            "p99_ms": round(self.pct(99), 1),
            "max_ms": round(max(self.latencies_ms), 1),
            "req_per_s": round(len(self.latencies_ms) / self.wall_s, 1),
            "wall_s": round(self.wall_s, 2),
            "server_cpu_ms_per_req": round(self.server_cpu_s / len(self.latencies_ms) * 1000, 2),
            "server_cpu_share": round(self.server_cpu_s / capacity, 3),
            "client_cpu_share": round(self.client_cpu_s / capacity, 3),
            "foreign_cpu_share": round(self.foreign_share, 3),
            "background_busy_before": round(self.background_before, 3),
            "db_backends_waiting_on_locks_avg": round(self.lock_waiters, 2),
            "attempts": self.attempts,
        }


def run(port: int, scenario: Scenario, server: ServerProcesses | None = None, *, keep_bodies: bool = False) -> Outcome:
    latencies = [0.0] * scenario.total
    statuses: Counter[int] = Counter()
    bodies: list[bytes] = []
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= scenario.total:
                break
            body = scenario.body(i) if scenario.body else None
            t0 = time.perf_counter()
            try:
                resp = send(conn, scenario.method, scenario.path, scenario.headers, body)
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status, resp = 0, Response(0, b"", None)
            latencies[i] = (time.perf_counter() - t0) * 1000
            with lock:
                statuses[status] += 1
                if keep_bodies and status == scenario.expect:
                    bodies.append(resp.body)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(scenario.concurrency)]
    with CpuMonitor(server) as monitor:
        busy0, _ = machine_jiffies()
        cpu0, t0 = time.process_time(), time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=1800)
        wall = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
        busy1, _ = machine_jiffies()
    outcome = Outcome(
        scenario, latencies, statuses, wall, client_cpu, monitor.cpu_seconds, (busy1 - busy0) / CLK_TCK, bodies
    )
    outcome.lock_waiters = monitor.lock_waiters
    return outcome


@dataclass
class Method:
    """How each scenario is run on a machine that other people's jobs share."""

    server: ServerProcesses
    quiet_below: float = 0.15
    quiet_wait_s: float = 30.0
    max_foreign: float = 0.10
    attempts: int = 3
    warmup: int = 40


def wait_quiet(method: Method) -> float:
    """Wait (bounded) for a 2-second window in which the machine is mostly idle."""
    deadline = time.monotonic() + method.quiet_wait_s
    share = busy_share(2.0)
    while share > method.quiet_below and time.monotonic() < deadline:
        share = busy_share(2.0)
    return share


def measure(port: int, scenario: Scenario, method: Method) -> tuple[Outcome, list[bytes]]:
    """Warm up, wait for a quiet machine, run; rerun (bounded) when other jobs took more
    than ``max_foreign`` of the CPU during the run; keep the least disturbed attempt."""
    best: Outcome | None = None
    bodies: list[bytes] = []
    for attempt in range(1, method.attempts + 1):
        if scenario.method == "GET" and method.warmup:
            warm = Scenario(scenario.name, scenario.path, scenario.concurrency, method.warmup, headers=scenario.headers)
            run(port, warm)
        background = wait_quiet(method)
        outcome = run(port, scenario, method.server, keep_bodies=scenario.method == "POST")
        outcome.background_before, outcome.attempts = background, attempt
        bodies.extend(outcome.bodies)
        d = outcome.as_dict()
        print(
            f"  {d['name']:<40} c={d['concurrency']:<2} n={d['requests']:<5} p50={d['p50_ms']:>6} "
            f"p95={d['p95_ms']:>6} p99={d['p99_ms']:>6} ms {d['req_per_s']:>6}/s  "
            f"server {d['server_cpu_ms_per_req']} ms CPU/req ({d['server_cpu_share']:.0%} of the machine), "
            f"other load {d['foreign_cpu_share']:.0%}, lock waiters {d['db_backends_waiting_on_locks_avg']}  "
            f"statuses={d['statuses']}",
            flush=True,
        )
        if best is None or outcome.foreign_share < best.foreign_share:
            best = outcome
        if outcome.foreign_share <= method.max_foreign:
            break
    assert best is not None
    best.attempts = attempt
    return best, bodies


def create_body(i: int) -> bytes:
    discovered = (datetime.now(LONDON) - timedelta(minutes=5 + i % 600)).replace(microsecond=0)
    return json.dumps(
        {
            "title": f"Bench {i}: letter sent to the wrong address",
            "description": "A letter with a victim's address was posted to the offender. Recovered unopened.",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "discovered_at": discovered.isoformat(),
            "org_unit": CREATE_UNITS[i % len(CREATE_UNITS)],
            "data_categories": ["basic_identifiers"],
            "approx_subjects": 1 + i % 7,
        }
    ).encode()


def db_snapshot() -> dict[str, Any]:
    from django.utils import timezone

    from breachdesk.models import AuditChainHead
    from incidents.models import Incident, ReferenceSequence

    year = timezone.localtime().year
    seq = ReferenceSequence.objects.filter(year=year).first()
    head = AuditChainHead.objects.get(id=1)
    return {
        "year": year,
        "reference_last": seq.last if seq else 0,
        "max_incident_id": Incident.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        "audit_seq": head.seq,
    }


def check_creates(before: dict[str, Any], created: list[bytes]) -> dict[str, Any]:
    """The integrity checks for the create run, from the database's point of view."""
    from django.db.models import Count

    from breachdesk.models import AuditChainHead, AuditEvent
    from incidents.models import Incident, ReferenceSequence, TimelineEntry
    from notifications.models import Deadline

    refs_http = [str(json.loads(b)["reference"]) for b in created]
    new = Incident.objects.filter(id__gt=before["max_incident_id"])
    refs_db = list(new.values_list("reference", flat=True))
    prefix = f"BD-{before['year']}-"
    numbers = sorted(int(r.removeprefix(prefix)) for r in refs_db if r.startswith(prefix))
    expected = list(range(before["reference_last"] + 1, before["reference_last"] + len(refs_http) + 1))
    seq_row = ReferenceSequence.objects.get(year=before["year"])
    dup_db = Incident.objects.values("reference").annotate(n=Count("id")).filter(n__gt=1).count()
    new_ids = list(new.values_list("id", flat=True))
    events = Counter(AuditEvent.objects.filter(seq__gt=before["audit_seq"]).values_list("action", flat=True).iterator())
    head = AuditChainHead.objects.get(id=1)
    checks = {
        "http_201": len(refs_http),
        "rows_created": len(refs_db),
        "rows_equal_201s": len(refs_db) == len(refs_http),
        "http_refs_unique": len(set(refs_http)) == len(refs_http),
        "http_refs_equal_db_refs": set(refs_http) == set(refs_db),
        "duplicate_references_in_table": dup_db,
        "references_contiguous": numbers == expected,
        "reference_range": f"{prefix}{expected[0]:06d}..{prefix}{expected[-1]:06d}" if expected else "",
        "reference_counter_advanced_by_201s": seq_row.last == before["reference_last"] + len(refs_http),
        "deadlines_4_each": Deadline.objects.filter(incident_id__in=new_ids).count() == 4 * len(new_ids),
        "timeline_1_each": TimelineEntry.objects.filter(incident_id__in=new_ids).count() == len(new_ids),
        "audit_events_2_each": events.get("incident.reported", 0) == len(new_ids)
        and events.get("deadlines.started", 0) == len(new_ids),
        "audit_head_advanced": head.seq - before["audit_seq"],
    }
    checks["all_ok"] = all(
        [
            checks["rows_equal_201s"],
            checks["http_refs_unique"],
            checks["http_refs_equal_db_refs"],
            dup_db == 0,
            checks["references_contiguous"],
            checks["reference_counter_advanced_by_201s"],
            checks["deadlines_4_each"],
            checks["timeline_1_each"],
            checks["audit_events_2_each"],
        ]
    )
    return checks


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| Endpoint | Concurrency | Requests | OK | p50 ms | p95 ms | p99 ms | req/s | CPU ms/req | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['concurrency']} | {r['requests']} | {r['ok']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['req_per_s']} | {r['server_cpu_ms_per_req']} | {r['foreign_cpu_share']:.0%} |"
        )
    return "\n".join(lines)


def machine_info(workers: int, threads: int) -> dict[str, Any]:
    import platform

    import django
    from django.db import connection

    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync_commit = cursor.fetchone()[0]
    return {
        "source": os.environ.get("BENCH_SOURCE", "working tree"),
        "nproc": NCPU,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "postgresql": pg,
        "shared_buffers": shared_buffers,
        "synchronous_commit": sync_commit,
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": f"{workers} workers x {threads} threads ({'gthread' if threads > 1 else 'sync'})",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000, help="per read scenario at --concurrency")
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--create-concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (for the report only)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (for the report only)")
    parser.add_argument("--pid-file", type=Path, default=RESULTS / "gunicorn.pid")
    parser.add_argument("--attempts", type=int, default=3, help="runs per scenario when other jobs load the CPU")
    parser.add_argument("--quiet-wait", type=float, default=30.0, help="seconds to wait for an idle machine")
    args = parser.parse_args()
    setup_django()
    password = os.environ.get("DEMO_PASSWORD", "")
    if not password:
        raise SystemExit("Set DEMO_PASSWORD to the password seed_demo used.")
    port, c, n = args.port, args.concurrency, args.requests
    server = ServerProcesses(args.pid_file, os.environ.get("BENCH_DB", "breachdesk_bench"))
    method = Method(server, quiet_wait_s=args.quiet_wait, attempts=args.attempts)

    # manager: one unit's incidents (about a third of them); siro: everything; press: a
    # role that sees only what it reported itself, i.e. nothing here (the sparse case).
    print("Logging in (session and token: manager, siro, press; token: reporter)", flush=True)
    cookies = {u: session_login(port, u, password) for u in ("manager", "siro", "press")}
    tokens = {u: api_token(port, u, password) for u in ("manager", "siro", "press", "reporter")}
    html: dict[str, dict[str, str]] = {"press": {"p1": "/incidents/"}}
    api: dict[str, dict[str, str]] = {"press": {"p1": "/api/v1/incidents/"}}
    for user in ("manager", "siro"):
        p2 = html_next(port, "/incidents/", cookies[user])
        html[user] = {"p1": "/incidents/", "p2": p2, "p3": html_next(port, p2, cookies[user])}
        a2 = api_next(port, "/api/v1/incidents/", tokens[user])
        api[user] = {"p1": "/api/v1/incidents/", "p2": a2, "p3": api_next(port, a2, tokens[user])}

    def page(user: str, p: str, conc: int = c, total: int = n) -> Scenario:
        return Scenario(f"HTML /incidents/ {user} {p}", html[user][p], conc, total, headers={"Cookie": cookies[user]})

    def apipage(user: str, p: str, conc: int = c, total: int = n) -> Scenario:
        auth = {"Authorization": f"Token {tokens[user]}"}
        return Scenario(f"API GET /api/v1/incidents/ {user} {p}", api[user][p], conc, total, headers=auth)

    health_name = "GET /health/live/ (baseline)"
    few = max(n // 5, 50)
    scenarios = [
        Scenario(health_name, "/health/live/", 1, max(n // 2, 100)),
        page("manager", "p1", 1, few),
        page("siro", "p1", 1, few),
        page("press", "p1", 1, few),
        apipage("manager", "p1", 1, few),
        apipage("siro", "p1", 1, few),
        apipage("press", "p1", 1, few),
        page("manager", "p1", 4, max(n // 2, 50)),
        apipage("manager", "p1", 4, max(n // 2, 50)),
        Scenario(health_name, "/health/live/", c, max(n * 3, 100)),
        page("manager", "p1"),
        page("manager", "p2"),
        page("manager", "p3"),
        page("siro", "p1"),
        page("siro", "p2"),
        page("press", "p1"),
        apipage("manager", "p1"),
        apipage("manager", "p2"),
        apipage("manager", "p3"),
        apipage("siro", "p1"),
        apipage("siro", "p2"),
        apipage("press", "p1"),
    ]
    print(f"Reads: {len(scenarios)} scenarios (p2/p3 follow the page's own next link / cursor)", flush=True)
    outcomes = [measure(port, s, method)[0] for s in scenarios]

    before = db_snapshot()
    create_headers = {"Authorization": f"Token {tokens['reporter']}", "Content-Type": "application/json"}
    create_name = "API POST /api/v1/incidents/"
    all_bodies: list[bytes] = []
    for conc, total in ((1, max(args.creates // 5, 20)), (args.create_concurrency, args.creates)):
        print(f"Creates: {total} POSTs with {conc} client(s) as 'reporter'", flush=True)
        scenario = Scenario(create_name, "/api/v1/incidents/", conc, total, "POST", create_headers, create_body, 201)
        outcome, bodies = measure(port, scenario, method)
        outcomes.append(outcome)
        all_bodies.extend(bodies)
    checks = check_creates(before, all_bodies)
    print(f"  integrity over all {len(all_bodies)} creates: {json.dumps(checks)}", flush=True)
    print("audit_verify after the creates ...", flush=True)
    verify = timed_audit_verify("after-creates")
    print(
        f"  audit_verify: {'PASS' if verify['ok'] else 'FAIL'} in {verify['seconds']} s {verify['output']}", flush=True
    )

    rows = [o.as_dict() for o in outcomes]
    by_key = {(r["name"], r["concurrency"]): r for r in rows}
    ratios: dict[str, dict[str, float]] = {}
    for r in rows:
        base = by_key.get((health_name, r["concurrency"]))
        if base and r["name"] != health_name and r["method"] == "GET":
            ratios[f"{r['name']} c={r['concurrency']}"] = {
                "p50_x": round(r["p50_ms"] / base["p50_ms"], 1),
                "p95_x": round(r["p95_ms"] / base["p95_ms"], 1),
                "throughput_share": round(r["req_per_s"] / base["req_per_s"], 3),
            }
    list_rows = [r for r in rows if r["name"] != health_name and r["method"] == "GET" and r["concurrency"] == c]
    create_row = by_key[(create_name, args.create_concurrency)]
    targets = {
        "list_p95_le_150ms": all(r["p95_ms"] <= 150 for r in list_rows),
        "worst_list_p95_ms": max(r["p95_ms"] for r in list_rows),
        "create_ge_50_per_s": create_row["req_per_s"] >= 50,
        "create_per_s": create_row["req_per_s"],
        "create_integrity": bool(checks["all_ok"] and verify["ok"]),
    }
    report = {
        "machine": machine_info(args.workers, args.threads),
        "rows": rows,
        "baseline_ratios": ratios,
        "create_checks": checks,
        "verify_after_creates": verify,
        "targets": targets,
    }
    result_path("results.json").write_text(json.dumps(report, indent=2))
    table = markdown_table(rows)
    result_path("results.md").write_text(table + "\n")
    print("\n" + table + "\n")
    print("Baseline ratios (x /health/live/ at the same concurrency):")
    for name, ratio in ratios.items():
        print(f"  {name}: p50 x{ratio['p50_x']}, p95 x{ratio['p95_x']}, {ratio['throughput_share']:.1%} of its req/s")
    print(f"Targets: {json.dumps(targets)}")


if __name__ == "__main__":
    main()
