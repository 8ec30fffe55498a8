"""The soak: staff reporting, acknowledging and assessing at once for 30 minutes while the
worker is killed and Redis is restarted underneath them.

    .venv/bin/python bench/soak.py                 # 30 minutes
    .venv/bin/python bench/soak.py --minutes 3     # a short rehearsal

Everything runs on loopback as in production: gunicorn with production settings, a prefork
Celery worker and beat, PostgreSQL (its own database, breachdesk_bench_soak), a Redis server
of its own on its own port (so restarting it disturbs nothing else) and a local SMTP server
(bench/smtp_sink.py) that writes down every email it receives.

The people, each a thread speaking HTTP as a browser or a script would:
- two reporters in different areas file an incident every ``--interval`` seconds between
  them through the API, some discovered nearly an hour ago so the one-hour clock runs out;
- the recipients of every email confirm receipt most of the time, after a random delay that
  is sometimes longer than the step's timeout (so escalations to alternates happen): half
  by the email's signed link (page, then button), half through the API;
- the Chief Officer approves each national escalation waiting for them;
- the DPO records risk assessments on recent incidents;
- the SIRO reads the incident list and incidents, and polls the readiness endpoint.

The escalation policy is PC02/2009's, with every time divided by 20 (one hour becomes three
minutes), so clocks, timeouts, alternates and reminders all happen within the run.

Chaos: the worker's process group is killed with SIGKILL every ``--kill-every`` seconds and
started again 5 s later; Redis is stopped every ``--redis-every`` seconds and started again
10 s later (it keeps nothing on disk, so queued and ETA messages are lost with it).

Then the load stops, the service is given up to three minutes to fire whatever has fallen
due, and the run is judged: HTTP errors (5xx or no answer), notifications sent without an
email or emailed twice, acknowledgements answered 200 but not recorded, incidents answered
201 but missing, memory over time, and the audit chain. Results: bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import fcntl
import http.cookiejar
import json
import os
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, configure_env, result_path, wait_for_server  # noqa: E402

VENV = ROOT / ".venv" / "bin"
DB = "breachdesk_bench_soak"
PASSWORD = "bench-soak-password-1"
SCALE = 20  # PC02/2009's times divided by this
CATEGORIES = ["emailed_to_wrong_recipient", "device_lost_or_stolen", "paperwork_lost_or_insecure", "failure_to_redact"]


class Stats:
    """Every response the clients got, by what they were doing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: dict[str, Counter[str]] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def record(self, kind: str, status: int | str, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.status[kind][str(status)] += 1
            self.latency[kind].append(seconds)
            if (isinstance(status, str) or status >= 500) and len(self.errors) < 50:
                self.errors.append(f"{time.strftime('%H:%M:%S')} {kind} {status} {detail}"[:300])


class Client:
    """HTTP as a script (API token) or a browser (cookies, CSRF) would speak it."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.base = base
        self.stats = stats

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        token: str = "",
        body: Any = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, raw = int(error.code), error.read()
        except OSError as error:  # refused, reset, timed out: no answer at all
            self.stats.record(kind, f"no answer ({type(error).__name__})", time.perf_counter() - started, path)
            return 0, None
        self.stats.record(kind, status, time.perf_counter() - started, raw[:200].decode(errors="replace"))
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def ack_by_link(self, link: str) -> int:
        """The email's link as a browser follows it: the page, then its button (a POST with
        the page's CSRF token; production's cookies are Secure, so over this loopback's plain
        HTTP the request says it came through the TLS proxy)."""
        path = urllib.parse.urlsplit(link).path
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        proxy = {"X-Forwarded-Proto": "https"}
        started = time.perf_counter()
        try:
            with opener.open(urllib.request.Request(self.base + path, headers=proxy), timeout=30) as response:
                page = response.read().decode()
                cookies = [c for c in response.headers.get_all("Set-Cookie", []) if c.startswith("csrftoken=")]
        except urllib.error.HTTPError as error:
            self.stats.record("ack link: page", error.code, time.perf_counter() - started)
            return int(error.code)
        except OSError as error:
            self.stats.record("ack link: page", f"no answer ({type(error).__name__})", time.perf_counter() - started)
            return 0
        self.stats.record("ack link: page", 200, time.perf_counter() - started)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None or not cookies:
            self.stats.record("ack link: button", "no form on the page", 0.0, path)
            return 0
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token[1]}).encode()
        referer = "https://" + urllib.parse.urlsplit(self.base).netloc + path
        headers = {**proxy, "Cookie": cookies[0].split(";")[0], "Referer": referer}
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.base + path, data=data, headers=headers), timeout=30
            ) as response:
                status = int(response.status)
        except urllib.error.HTTPError as error:
            status = int(error.code)
        except OSError as error:
            self.stats.record("ack link: button", f"no answer ({type(error).__name__})", time.perf_counter() - started)
            return 0
        self.stats.record("ack link: button", status, time.perf_counter() - started)
        return status


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, _, command in (line.partition(": ") for line in lines) if command}


class Processes:
    """The service's processes, each in its own process group so a kill takes its children."""

    def __init__(self, env: dict[str, str], logs: Path, redis_port: int) -> None:
        self.env = env
        self.logs = logs
        self.redis_port = redis_port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()

    def start(self, name: str) -> None:
        commands = {
            # The Procfile's commands, as deployed (docker-compose runs the same ones); only
            # beat's schedule file moves to this run's folder.
            proc: [
                str(VENV / argv[0]),
                *(f"--schedule={self.logs / 'beat-schedule'}" if a.startswith("--schedule") else a for a in argv[1:]),
            ]
            for proc, argv in procfile().items()
        } | {
            "redis": [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        }
        with self.lock:
            self.procs[name] = subprocess.Popen(
                commands[name],
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=open(self.logs / f"{name}.log", "ab"),  # noqa: SIM115 - the child keeps it
                stderr=subprocess.STDOUT,
            )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        with self.lock:
            proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def supervise(self, events: list[dict[str, Any]], started: float, stop: threading.Event) -> None:
        """Start again, after 5 s, any process that exits without being asked to, as
        docker-compose's ``restart: unless-stopped`` does; each exit is recorded."""
        while not stop.wait(1):
            with self.lock:
                exited = [(name, proc) for name, proc in self.procs.items() if proc.poll() is not None]
                for name, _ in exited:
                    del self.procs[name]
            for name, proc in exited:
                last = (self.logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-12:]
                reason = next((line for line in reversed(last) if "rror" in line), "")
                events.append(
                    {
                        "t_s": round(time.monotonic() - started),
                        "event": f"{name} exited by itself (code {proc.returncode}); started again 5 s later",
                        "last_error": reason[:400],
                    }
                )
                time.sleep(5)
                self.start(name)

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each process group (the group leader and all its children)."""
        with self.lock:
            groups = {proc.pid: name for name, proc in self.procs.items()}
        totals: dict[str, float] = dict.fromkeys(groups.values(), 0.0)
        page = os.sysconf("SC_PAGE_SIZE")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                pgrp = int(stat.rsplit(")", 1)[1].split()[2])
                if pgrp in groups:
                    resident = int((entry / "statm").read_text().split()[1])
                    totals[groups[pgrp]] += resident * page / 2**20
            except (OSError, ValueError, IndexError):
                continue
        return {name: round(mb, 1) for name, mb in totals.items()}


def soak_policy() -> None:
    """PC02/2009's policy with every time divided by SCALE, as the default."""
    from notifications.models import EscalationPolicy, EscalationStep
    from notifications.policy import PC02_STEPS, install_policy

    steps = [
        replace(
            s,
            due_offset=s.due_offset / SCALE,
            ack_timeout=s.ack_timeout / SCALE,
            reminder_interval=s.reminder_interval / SCALE if s.reminder_interval else None,
        )
        for s in PC02_STEPS
    ]
    install_policy(EscalationPolicy, EscalationStep, name=f"PC02/2009 at 1/{SCALE} time", steps=steps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between incidents (both reporters)")
    parser.add_argument("--kill-every", type=float, default=300.0, help="seconds between worker kills")
    parser.add_argument("--redis-every", type=float, default=420.0, help="seconds between Redis restarts")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8767")))
    parser.add_argument("--redis-port", type=int, default=6393)
    parser.add_argument("--smtp-port", type=int, default=8769)
    parser.add_argument("--seed", type=int, default=2009)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = f"http://127.0.0.1:{args.port}"

    logs = RESULTS / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    lock = open(logs / "run.lock", "w")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("another bench/soak.py run is in progress")
    for old in logs.glob("*.log"):
        old.unlink()
    (logs / "beat-schedule").unlink(missing_ok=True)
    mail_log = logs / "mail.tsv"
    mail_log.write_text("")

    redis_url = f"redis://127.0.0.1:{args.redis_port}"
    os.environ.update(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
            "REDIS_URL": f"{redis_url}/0",
            "CELERY_BROKER_URL": f"{redis_url}/1",
            "EMAIL_URL": f"smtp://127.0.0.1:{args.smtp_port}",
            # Links in emails name the service by its domain (passkeys refuse an IP address).
            "SERVICE_BASE_URL": f"http://localhost:{args.port}",
            "DEMO_PASSWORD": PASSWORD,
            "SECOND_FACTOR_REQUIRED": "0",  # the clients are scripts; sign-in is bench/bruteforce.py's
            "WEB_BIND": f"127.0.0.1:{args.port}",
            "BREACHDESK_VAR_DIR": str(logs / "var"),
            "LOG_LEVEL": "WARNING",
        }
    )
    configure_env()
    env = dict(os.environ)
    procs = Processes(env, logs, args.redis_port)
    smtp = subprocess.Popen(
        [str(VENV / "python"), str(ROOT / "bench" / "smtp_sink.py"), str(args.smtp_port), str(mail_log)],
        start_new_session=True,
    )
    procs.start("redis")
    for statement in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", statement], check=True)
    python = str(VENV / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    soak_policy()

    for name in ("web", "worker", "beat"):
        procs.start(name)
    stats = Stats()
    client = Client(base, stats)
    wait_for_server(base)

    from django.contrib.auth.models import User

    tokens: dict[str, str] = {}
    for username in User.objects.filter(is_active=True).values_list("username", flat=True):
        status, body = client.call(
            "sign in (token)", "POST", "/api/v1/auth/token/", body={"username": username, "password": PASSWORD}
        )
        if status == 200:
            tokens[username] = body["token"]
    units = {
        name: client.call("me", "GET", "/api/v1/me/", token=tokens[name])[1]["unit"]
        for name in ("reporter", "reporter2")
    }

    stop = threading.Event()
    started = time.monotonic()
    created: list[str] = []  # references answered 201
    created_lock = threading.Lock()
    acked_ok: list[int] = []  # notifications whose acknowledgement was answered 200
    assessed: list[tuple[str, int]] = []  # (reference, version) answered 201
    chaos: list[dict[str, Any]] = []
    exits: list[dict[str, Any]] = []  # processes that exited without being killed
    memory: list[dict[str, Any]] = []
    readiness: Counter[str] = Counter()

    def reporter() -> None:
        n = 0
        next_at = time.monotonic()
        while not stop.is_set():
            name = ("reporter", "reporter2")[n % 2]
            # One in five discovered 55 to 62 minutes ago: the one-hour manager clock runs out
            # within the run unless the manager answers in time.
            late = rng.random() < 0.2
            discovered = datetime.now(UTC) - timedelta(minutes=rng.uniform(55, 62) if late else rng.uniform(0, 50))
            body = {
                "title": f"Soak {n}: case papers left on a train",
                "description": "A folder of case papers was left on a train and has not been found.",
                "category": rng.choice(CATEGORIES),
                "discovered_at": discovered.isoformat(),
                "org_unit": units[name],
                "data_categories": ["basic_identifiers", "criminal_offence"],
                "subject_categories": ["offenders"],
                "approx_subjects": rng.randint(1, 400),
            }
            status, data = client.call(
                "report an incident", "POST", "/api/v1/incidents/", token=tokens[name], body=body
            )
            if status == 201:
                with created_lock:
                    created.append(data["reference"])
            n += 1
            next_at += args.interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    def acknowledger(worker_no: int) -> None:
        """Reads the mail as it arrives; answers most emails after a random delay."""
        queue: list[tuple[float, str, str, str]] = []  # (when, notification id, recipient, link)
        position = 0
        while not stop.is_set():
            with open(mail_log, encoding="utf-8") as mail:
                mail.seek(position)
                for line in mail:
                    if not line.endswith("\n"):
                        break
                    position += len(line.encode())
                    nid, _message_id, to, link = line.rstrip("\n").split("\t")
                    # Two acknowledgers share the mail by notification id; reminders are
                    # answered like first emails (the link is the same).
                    if int(nid) % 2 != worker_no or rng.random() > 0.85:
                        continue
                    queue.append((time.monotonic() + rng.uniform(5, 100), nid, to.split("@")[0], link))
            queue.sort()
            while queue and queue[0][0] <= time.monotonic() and not stop.is_set():
                _, nid, username, link = queue.pop(0)
                if link != "-" and (rng.random() < 0.5 or username not in tokens):
                    status = client.ack_by_link(link)
                else:
                    status, _ = client.call(
                        "acknowledge (API)", "POST", f"/api/v1/notifications/{nid}/acknowledge/", token=tokens[username]
                    )
                if status == 200:
                    acked_ok.append(int(nid))
            stop.wait(0.5)

    def chief() -> None:
        while not stop.is_set():
            _, pending = client.call("approvals waiting (Chief)", "GET", "/api/v1/approvals/", token=tokens["chief"])
            for approval in pending or []:
                client.call(
                    "approve an escalation",
                    "POST",
                    f"/api/v1/approvals/{approval['id']}/approve/",
                    token=tokens["chief"],
                    body={"reason": "National list to be told as PC02-8 requires."},
                )
            stop.wait(5)

    def dpo() -> None:
        while not stop.is_set():
            stop.wait(8)
            with created_lock:
                recent = created[-30:]
            if not recent:
                continue
            reference = rng.choice(recent)
            body = {
                "ease_of_identification": rng.choice(["limited", "significant", "maximum"]),
                "confidentiality": rng.choice(["known_recipients", "unknown_recipients"]),
                "integrity": "none",
                "availability": rng.choice(["none", "temporary"]),
                "malicious": rng.random() < 0.2,
                "subjects_count": rng.randint(1, 400),
            }
            status, data = client.call(
                "record a risk assessment",
                "POST",
                f"/api/v1/incidents/{reference}/risk-assessments/",
                token=tokens["dpo"],
                body=body,
            )
            if status == 201:
                assessed.append((reference, data["version"]))

    def siro() -> None:
        while not stop.is_set():
            client.call("incident list (SIRO)", "GET", "/api/v1/incidents/?overdue=true", token=tokens["siro"])
            with created_lock:
                reference = rng.choice(created) if created else None
            if reference:
                client.call("an incident (SIRO)", "GET", f"/api/v1/incidents/{reference}/", token=tokens["siro"])
                client.call(
                    "its notifications (SIRO)",
                    "GET",
                    f"/api/v1/incidents/{reference}/notifications/",
                    token=tokens["siro"],
                )
            try:
                with urllib.request.urlopen(f"{base}/health/ready/", timeout=10) as response:
                    readiness[str(response.status)] += 1
            except urllib.error.HTTPError as error:
                readiness[str(error.code)] += 1
            except OSError:
                readiness["no answer"] += 1
            stop.wait(3)

    def sampler() -> None:
        while not stop.is_set():
            memory.append({"t_s": round(time.monotonic() - started), **procs.rss_mb()})
            stop.wait(15)

    supervisor_stop = threading.Event()
    supervisor = threading.Thread(target=procs.supervise, args=(exits, started, supervisor_stop), daemon=True)
    supervisor.start()
    threads = [threading.Thread(target=f, daemon=True) for f in (reporter, chief, dpo, siro, sampler)]
    threads += [threading.Thread(target=acknowledger, args=(i,), daemon=True) for i in (0, 1)]
    for thread in threads:
        thread.start()

    end = started + args.minutes * 60
    next_kill, next_redis = started + args.kill_every, started + args.redis_every
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_kill:
            procs.stop("worker", signal.SIGKILL)
            chaos.append({"t_s": round(now - started), "event": "worker killed (SIGKILL), restarted 5 s later"})
            time.sleep(5)
            procs.start("worker")
            next_kill += args.kill_every
        elif now >= next_redis:
            procs.stop("redis")
            chaos.append({"t_s": round(now - started), "event": "Redis stopped, started again 10 s later"})
            time.sleep(10)
            procs.start("redis")
            next_redis += args.redis_every
        else:
            time.sleep(min(1.0, max(0.0, end - now)))
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    load_seconds = time.monotonic() - started

    # Give the service up to three minutes to fire what has fallen due.
    from django.utils import timezone

    from notifications.models import Notification, Timer

    settle_started = time.monotonic()
    while time.monotonic() - settle_started < 180:
        if not Timer.objects.filter(state="pending", due_at__lte=timezone.now() - timedelta(seconds=5)).exists():
            break
        time.sleep(2)
    settled_in = time.monotonic() - settle_started
    left_due = Timer.objects.filter(state="pending", due_at__lte=timezone.now() - timedelta(seconds=5)).count()
    final_memory = procs.rss_mb()
    supervisor_stop.set()
    supervisor.join(timeout=30)
    for name in ("web", "beat", "worker", "redis"):
        procs.stop(name)
    os.killpg(smtp.pid, signal.SIGTERM)
    smtp.wait(timeout=10)

    judge(
        args=args,
        stats=stats,
        created=created,
        acked_ok=acked_ok,
        assessed=assessed,
        chaos=chaos,
        exits=exits,
        memory=memory,
        final_memory=final_memory,
        readiness=readiness,
        mail_log=mail_log,
        load_seconds=load_seconds,
        settled_in=settled_in,
        left_due=left_due,
        notification_model=Notification,
        timer_model=Timer,
    )


def window_medians(memory: list[dict[str, Any]], minutes: float) -> dict[str, list[float]]:
    """Median resident memory of each process group in each five-minute window."""
    windows: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sample in memory:
        for name, mb in sample.items():
            if name != "t_s" and mb > 0:
                windows[name][int(sample["t_s"] // 300)].append(mb)
    count = max(1, int(minutes * 60 // 300))
    return {
        name: [round(statistics.median(by[w]), 1) for w in range(count) if by.get(w)]
        for name, by in sorted(windows.items())
    }


def judge(**run: Any) -> None:
    from breachdesk.audit import audit_verify
    from breachdesk.models import AuditEvent
    from incidents.models import Incident
    from notifications.models import Deadline
    from riskassess.models import RiskAssessment

    stats: Stats = run["stats"]
    Notification = run["notification_model"]
    Timer = run["timer_model"]

    by_message_id: Counter[str] = Counter()
    first_sends: set[int] = set()
    for line in run["mail_log"].read_text().splitlines():
        nid, message_id, _to, _link = line.split("\t")
        by_message_id[message_id] += 1
        if ".send@" in message_id:
            first_sends.add(int(nid))
    sent = set(Notification.objects.exclude(sent_at=None).values_list("id", flat=True))
    acked = set(Notification.objects.filter(state="acknowledged").values_list("id", flat=True))
    in_db = set(Incident.objects.values_list("reference", flat=True))
    assessments = set(RiskAssessment.objects.values_list("incident__reference", "version"))

    errors = {
        kind: sum(n for status, n in counts.items() if not status.isdigit() or int(status) >= 500)
        for kind, counts in stats.status.items()
    }
    latency = {
        kind: {
            "requests": len(values),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p99_ms": round(sorted(values)[int(0.99 * (len(values) - 1))] * 1000, 1),
        }
        for kind, values in sorted(stats.latency.items())
        if values
    }
    # Late is measured from when a timer could first fire: its due time, or its creation for
    # one created already due (a clock that ran out before the incident was reported).
    fired = list(Timer.objects.filter(state="fired").values_list("due_at", "created_at", "fired_at"))
    lateness = sorted(max(0.0, (f - max(d, c)).total_seconds()) for d, c, f in fired if f is not None)
    verify = audit_verify()
    out = {
        "minutes": run["args"].minutes,
        "load_seconds": round(run["load_seconds"]),
        "chaos": run["chaos"],
        "exited_by_themselves": run["exits"],
        "requests": sum(sum(c.values()) for c in stats.status.values()),
        "errors_5xx_or_no_answer": sum(errors.values()),
        "errors_by_kind": {k: v for k, v in errors.items() if v},
        "first_errors": stats.errors,
        "responses": {kind: dict(counts) for kind, counts in sorted(stats.status.items())},
        "latency": latency,
        "incidents": {
            "answered_201": len(run["created"]),
            "missing_from_database": len(set(run["created"]) - in_db),
            "in_database_not_answered": len(in_db - set(run["created"])),
        },
        "notifications": {
            "rows": Notification.objects.count(),
            "by_state": dict(Counter(Notification.objects.values_list("state", flat=True))),
            "sent": len(sent),
            "emails_received": sum(by_message_id.values()),
            "sent_but_never_emailed": len(sent - first_sends),
            "emailed_but_not_recorded_sent": len(first_sends - sent),
            "same_email_received_twice": sum(1 for n in by_message_id.values() if n > 1),
            "still_scheduled": Notification.objects.filter(state="scheduled").count(),
            "failed": Notification.objects.filter(state="failed").count(),
        },
        "acknowledgements": {
            "answered_200": len(set(run["acked_ok"])),
            "answered_200_but_not_recorded": len(set(run["acked_ok"]) - acked),
        },
        "risk_assessments": {
            "answered_201": len(run["assessed"]),
            "missing_from_database": len(set(run["assessed"]) - assessments),
        },
        "deadlines": dict(Counter(Deadline.objects.values_list("code", "state").iterator()).most_common()),
        "timers": {
            "fired": len(fired),
            "left_pending_more_than_5_s_after_due": run["left_due"],
            "lateness_p50_s": round(statistics.median(lateness), 2) if lateness else None,
            "lateness_p99_s": round(lateness[int(0.99 * (len(lateness) - 1))], 2) if lateness else None,
            "lateness_max_s": round(lateness[-1], 2) if lateness else None,
        },
        "settled_in_s": round(run["settled_in"], 1),
        "readiness_polls": dict(run["readiness"]),
        "memory_mb_median_per_5_min": window_medians(run["memory"], run["args"].minutes),
        "memory_mb_at_end": run["final_memory"],
        "audit": {"events": AuditEvent.objects.count(), "chain_ok": verify.ok},
    }
    out["deadlines"] = {f"{code} {state}": n for (code, state), n in out["deadlines"].items()}
    result_path("soak.json").write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
