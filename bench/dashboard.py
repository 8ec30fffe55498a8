"""Load test of the SIRO dashboard and the task lists against the 100,000-incident data set
(``bench/load.py`` then ``bench/enrich.py``), in the same run as the trivial view for the
ratio. Run by ``BENCH_SUITE=dashboard bench/run.sh``, which starts gunicorn first.

Targets (issue: SIRO dashboard): dashboard p95 <= 200 ms, manager queue p95 <= 100 ms,
under concurrent load. Writes ``bench/results/dashboard.json`` and ``dashboard.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, result_path, setup_django
from bench.loadtest import (
    Method,
    Scenario,
    ServerProcesses,
    machine_info,
    markdown_table,
    measure,
    send,
    session_login,
)

HEALTH = "GET /health/live/ (baseline)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000, help="per scenario at --concurrency")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pid-file", type=Path, default=RESULTS / "gunicorn.pid")
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--quiet-wait", type=float, default=30.0)
    args = parser.parse_args()
    setup_django()
    from django.utils import timezone

    password = os.environ.get("DEMO_PASSWORD", "")
    if not password:
        raise SystemExit("Set DEMO_PASSWORD to the password seed_demo used.")
    port, c, n = args.port, args.concurrency, args.requests
    server = ServerProcesses(args.pid_file, os.environ.get("BENCH_DB", "breachdesk_bench"))
    method = Method(server, quiet_wait_s=args.quiet_wait, attempts=args.attempts)
    users = ("siro", "dpo", "chief", "manager")
    cookies = {u: session_login(port, u, password) for u in users}
    year_ago = (timezone.localdate() - timedelta(days=365)).isoformat()

    def page(user: str, path: str, conc: int = c, total: int = n, name: str = "") -> Scenario:
        return Scenario(name or f"{path} {user}", path, conc, total, headers={"Cookie": cookies[user]})

    # What each page is: sizes and a sanity check that it is the real page, not a redirect.
    for user, path in (("siro", "/dashboard/"), ("manager", "/tasks/"), ("dpo", "/tasks/")):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        resp = send(conn, "GET", path, {"Cookie": cookies[user]}, None)
        conn.close()
        if resp.status != 200:
            raise SystemExit(f"{path} as {user} answered {resp.status}")
        print(f"  {path} as {user}: {len(resp.body):,} bytes", flush=True)

    few = max(n // 5, 50)
    scenarios = [
        Scenario(HEALTH, "/health/live/", 1, max(n // 2, 100)),
        page("siro", "/dashboard/", 1, few),
        page("manager", "/tasks/", 1, few),
        Scenario(HEALTH, "/health/live/", 4, max(n * 2, 100)),
        page("siro", "/dashboard/", 4),
        page("manager", "/tasks/", 4),
        Scenario(HEALTH, "/health/live/", c, max(n * 3, 100)),
        page("siro", "/dashboard/"),
        page("siro", f"/dashboard/?start={year_ago}", name="/dashboard/ siro, last 12 months"),
        page("chief", "/dashboard/"),
        page("siro", "/dashboard/clocks/", name="/dashboard/clocks/ siro (the 30 s poll)"),
        page("manager", "/tasks/"),
        page("dpo", "/tasks/"),
        page("chief", "/tasks/"),
    ]
    # First the plain aggregates, as the view would run them with no cache: the figure that
    # decides whether caching is needed at all.
    from django.contrib.auth import get_user_model

    from notifications.dashboard import Filters, dashboard
    from notifications.reports.summary import Period

    today = timezone.localdate()
    compute_ms: dict[str, list[float]] = {}
    for username, start in (("siro", today - timedelta(days=89)), ("siro", today - timedelta(days=364))):
        viewer = get_user_model().objects.get(username=username)
        label = f"{username}, {(today - start).days + 1} days"
        compute_ms[label] = []
        for _ in range(5):
            t0 = time.perf_counter()
            dashboard(viewer, Filters(Period(start, today)))
            compute_ms[label].append(round((time.perf_counter() - t0) * 1000, 1))
        print(f"  figures worked out without the cache, {label}: {compute_ms[label]} ms", flush=True)

    only = os.environ.get("BENCH_ONLY", "")  # e.g. "/tasks/": that, and the baselines
    scenarios = [s for s in scenarios if not only or only in s.name or s.name == HEALTH]
    outcomes = [measure(port, s, method)[0] for s in scenarios]
    rows = [o.as_dict() for o in outcomes]
    base = {r["concurrency"]: r for r in rows if r["name"] == HEALTH}
    for r in rows:
        b = base.get(r["concurrency"])
        if b and r["name"] != HEALTH:
            r["p95_x_baseline"] = round(r["p95_ms"] / b["p95_ms"], 1)
    loaded = [r for r in rows if r["concurrency"] == c and r["name"] != HEALTH]
    dashboards = [r for r in loaded if r["path"].startswith("/dashboard/")]
    queues = [r for r in loaded if r["path"] == "/tasks/"]
    at4 = [r for r in rows if r["concurrency"] == 4 and r["name"] != HEALTH]
    targets = {
        "at_4_clients": {r["name"]: r["p95_ms"] for r in at4},
        "dashboard_p95_le_200ms": all(r["p95_ms"] <= 200 for r in dashboards),
        "worst_dashboard_p95_ms": max((r["p95_ms"] for r in dashboards), default=None),
        "queue_p95_le_100ms": all(r["p95_ms"] <= 100 for r in queues),
        "worst_queue_p95_ms": max((r["p95_ms"] for r in queues), default=None),
        "all_ok": all(r["ok"] == r["requests"] for r in rows),
    }
    report = {
        "machine": machine_info(args.workers, args.threads),
        "figures_uncached_ms": compute_ms,
        "rows": rows,
        "targets": targets,
    }
    result_path("dashboard.json").write_text(json.dumps(report, indent=2))
    table = markdown_table(rows)
    result_path("dashboard.md").write_text(table + "\n")
    print("\n" + table + "\n")
    for r in rows:
        if "p95_x_baseline" in r:
            print(f"  {r['name']} c={r['concurrency']}: p95 x{r['p95_x_baseline']} of the trivial view")
    print(f"Targets: {json.dumps(targets)}")


if __name__ == "__main__":
    main()
