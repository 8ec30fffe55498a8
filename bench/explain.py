"""Profile the list queries: render the list page and the API list in-process (Django's
test client against the bench database), capture every SQL statement, and run
``EXPLAIN (ANALYZE, BUFFERS)`` on the ones that read incidents. Writes
``bench/results/explain.txt``.

    .venv/bin/python bench/explain.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import result_path, setup_django


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token

    out: list[str] = []
    user_model = get_user_model()
    for username in ("manager", "siro", "press"):
        user = user_model.objects.get(username=username)
        token, _ = Token.objects.get_or_create(user=user)
        auth = {"Authorization": f"Token {token.key}"}
        first = Client(HTTP_HOST="127.0.0.1").get("/api/v1/incidents/", headers=auth).json()
        pages = [("HTML list", "/incidents/", {}), ("API list", "/api/v1/incidents/", auth)]
        if first.get("next"):
            parts = urlsplit(first["next"])
            pages.append(("API list, cursor page 2", f"{parts.path}?{parts.query}", auth))
        for label, path, headers in pages:
            client = Client(HTTP_HOST="127.0.0.1")
            if label == "HTML list":
                client.force_login(user)
                device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
                if device is not None:  # run.sh set one up: a verified session, as after the code
                    session = client.session
                    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                    session.save()
            client.get(path, headers=headers)  # warm caches, as the load test does
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                resp = client.get(path, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
            sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
            out.append(
                f"=== {label} as {username}: HTTP {resp.status_code}, {elapsed:.1f} ms in-process, "
                f"{len(ctx.captured_queries)} queries, {sql_ms:.1f} ms in SQL"
            )
            for q in ctx.captured_queries:
                out.append(f"  [{float(q['time']) * 1000:7.2f} ms] {q['sql'][:160]}")
            for q in ctx.captured_queries:
                sql = q["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or "incidents_incident" not in sql:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join("    " + r[0] for r in cursor.fetchall())
                out.append(f"\n--- {sql}\n{plan}\n")
    text = "\n".join(out)
    result_path("explain.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
