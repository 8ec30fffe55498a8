"""A password-guessing run against a real server: is it locked out, and how fast?

    .venv/bin/python bench/bruteforce.py

On a database of its own (breachdesk_bench_auth, recreated, demo organisation), with
gunicorn and production settings, 8 clients send BENCH_GUESSES (500) wrong passwords for
one username to the API token endpoint and the login page at once. Then the right password
is tried for that username (it must be refused while locked), and another person signs in
(they must not be affected). Counts come from the responses and the audit trail.
Results: bench/results/bruteforce.json and a line of Markdown.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, configure_env, result_path, wait_for_server

DB = "breachdesk_bench_auth"
PORT = int(os.environ.get("BENCH_PORT", "8766"))
GUESSES = int(os.environ.get("BENCH_GUESSES", "500"))
CLIENTS = 8
PASSWORD = "bench-auth-password-1"
BASE = f"http://127.0.0.1:{PORT}"


def token_attempt(username: str, password: str) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{BASE}/api/v1/auth/token/", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def page_attempt(username: str, password: str) -> int:
    """The login page, as a browser does: fetch it for the CSRF cookie and token, then post.
    (Production's cookies are Secure; over this loopback's plain HTTP the cookie is sent by
    hand, as a browser would over HTTPS.)"""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    with opener.open(f"{BASE}/accounts/login/", timeout=30) as response:
        page = response.read().decode()
        cookie = next(c.split(";")[0] for c in response.headers.get_all("Set-Cookie", []) if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token[1]})
    request = urllib.request.Request(
        f"{BASE}/accounts/login/",
        data=data.encode(),
        headers={
            "Cookie": cookie,
            "Referer": BASE.replace("http:", "https:") + "/accounts/login/",
            "X-Forwarded-Proto": "https",
        },
    )
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main() -> None:
    os.environ["BENCH_DB"] = DB
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    os.environ["DEMO_PASSWORD"] = PASSWORD
    os.environ.setdefault("BREACHDESK_VAR_DIR", str(RESULTS / "var-auth"))
    os.environ["SECOND_FACTOR_REQUIRED"] = "0"  # the password step is what is being guessed
    configure_env()
    for statement in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", statement], check=True)
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "breachdesk.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "2"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_server(BASE)
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(
                pool.map(
                    lambda n: (token_attempt if n % 2 else page_attempt)("siro", f"guess-{n}"),
                    range(GUESSES),
                )
            )
        took = time.perf_counter() - started
        right_password = token_attempt("siro", PASSWORD)
        right_page = page_attempt("siro", PASSWORD)
        someone_else = token_attempt("dpo", PASSWORD)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    import django

    django.setup()
    from axes.models import AccessAttempt

    from breachdesk.audit import audit_verify
    from breachdesk.models import AuditEvent

    events = Counter(AuditEvent.objects.filter(action__startswith="auth.").values_list("action", flat=True))
    attempt = AccessAttempt.objects.filter(username="siro").first()
    counted = Counter(statuses)
    out = {
        "guesses": GUESSES,
        "clients": CLIENTS,
        "seconds": round(took, 2),
        "responses": {str(k): v for k, v in sorted(counted.items())},
        "checked_passwords": counted.get(400, 0) + counted.get(200, 0),  # token 400, login page 200
        "locked_responses": counted.get(429, 0),
        "right_password_while_locked": {"api": right_password, "login_page": right_page},
        "another_person_signs_in": someone_else,
        "axes_failures_recorded": attempt.failures_since_start if attempt else 0,
        "audit": dict(events),
        "audit_chain_ok": audit_verify().ok,
    }
    result_path("bruteforce.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    print(
        f"\n| guesses | clients | time | passwords checked | refused as locked | right password while locked "
        f"| another person |\n|---|---|---|---|---|---|---|\n| {GUESSES} | {CLIENTS} | {took:.1f} s | "
        f"{out['checked_passwords']} | {out['locked_responses']} | {right_password} (API), {right_page} (page) "
        f"| {someone_else} |"
    )


if __name__ == "__main__":
    main()
