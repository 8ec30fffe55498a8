#!/usr/bin/env bash
# BreachDesk benchmark, one command (from anywhere):
#   bench/run.sh
# Exports the committed tree (BENCH_REF, default HEAD) to bench/results/src so the run is
# tied to one commit even while the working tree changes, recreates the database
# breachdesk_bench, migrates, seeds the demo organisation, loads 100,000 incidents and
# 1,000,000 audit events, times audit_verify, starts gunicorn on 127.0.0.1, runs the load
# client, stops gunicorn, profiles the list SQL and prints the results as Markdown.
# Everything is bounded and stops by itself.
#
# Knobs (environment):
#   BENCH_REF=HEAD|<commit>|worktree   what to measure (worktree = the files as they are now)
#   BENCH_INCIDENTS, BENCH_EVENTS       data volume (100000, 1000000)
#   BENCH_REQUESTS, BENCH_CONCURRENCY   requests per read scenario, clients (1000, 8)
#   BENCH_CREATES, BENCH_CREATE_CONCURRENCY (1000, 8)
#   BENCH_PORT, BENCH_WORKERS, BENCH_THREADS   gunicorn (8765, 4, 1 = sync workers)
#   BENCH_REDIS_DB                      Redis database for the Celery broker (14)
#   BENCH_SKIP_LOAD=1                   reuse the loaded database
#   BENCH_SUITE=list|dashboard          the incident list and creates (default), or the SIRO
#                                       dashboard and task lists (bench/dashboard.py)
#   BENCH_LABEL=name                    write results.name.json etc. instead of results.json
#   BENCH_PATCHES="path/to/x.diff ..."   apply proposed changes to the snapshot
#                                       (never to the working tree) to measure them
set -euo pipefail

LIVE="$(cd "$(dirname "$0")/.." && pwd)"
RESULTS="$LIVE/bench/results"
PY="$LIVE/.venv/bin/python"
GUNICORN="$LIVE/.venv/bin/gunicorn"
mkdir -p "$RESULTS"

REF="${BENCH_REF:-HEAD}"
if [[ "$REF" == "worktree" && -n "${BENCH_PATCHES:-}" ]]; then
  echo "BENCH_PATCHES applies to a commit snapshot, not to the working tree" >&2
  exit 2
elif [[ "$REF" == "worktree" ]]; then
  SRC="$LIVE"
  export BENCH_SOURCE="working tree at $(git -C "$LIVE" rev-parse --short HEAD) plus uncommitted changes"
else
  COMMIT="$(git -C "$LIVE" rev-parse --short "$REF")"
  SRC="$RESULTS/src"
  rm -rf "$SRC"
  mkdir -p "$SRC"
  git -C "$LIVE" archive --format=tar "$COMMIT" | tar -x -C "$SRC"
  # The benchmark itself always comes from the working tree.
  rm -rf "$SRC/bench"
  mkdir -p "$SRC/bench"
  cp "$LIVE"/bench/*.py "$LIVE"/bench/run.sh "$SRC/bench/"
  export BENCH_SOURCE="commit $COMMIT ($(git -C "$LIVE" log -1 --format=%s "$COMMIT"))"
  # Experiments: apply proposed application changes to the throwaway snapshot only.
  for diff in ${BENCH_PATCHES:-}; do
    patch -p1 -s -d "$SRC" < "$LIVE/$diff"
    BENCH_SOURCE="$BENCH_SOURCE + $diff"
  done
fi
cd "$SRC"

export BENCH_RESULTS="$RESULTS"
export BENCH_DB=breachdesk_bench
# Production settings plus a static-files shim (see bench/settings.py).
export DJANGO_SETTINGS_MODULE=bench.settings
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$BENCH_DB"
export ALLOWED_HOSTS=127.0.0.1,localhost
export DEBUG=0 SECURE_SSL_REDIRECT=0 LOG_LEVEL=WARNING
export BREACHDESK_VAR_DIR="$RESULTS/var"
# Redis as cache and Celery broker, as in production: reporting an incident queues its
# timers. A database index of its own, emptied before and after (no worker consumes it).
export REDIS_URL="redis://127.0.0.1:6379/${BENCH_REDIS_DB:-14}"
unset CELERY_BROKER_URL
# Bench-only secrets, fresh each run; every process below inherits the same ones.
SECRET_KEY="bench-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
PSEUDONYM_KEY="bench-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export SECRET_KEY PSEUDONYM_KEY
export DEMO_PASSWORD="${DEMO_PASSWORD:-bench-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')}"
PORT="${BENCH_PORT:-8765}"
WORKERS="${BENCH_WORKERS:-4}"
THREADS="${BENCH_THREADS:-1}"

step() { printf '\n== %s\n' "$*"; }
step "Measuring $BENCH_SOURCE"
"$PY" bench/redis_reset.py

if [[ "${BENCH_SKIP_LOAD:-0}" != "1" ]]; then
  step "Recreate database $BENCH_DB"
  dropdb -h 127.0.0.1 -U postgres --if-exists "$BENCH_DB"
  createdb -h 127.0.0.1 -U postgres "$BENCH_DB"
  step "migrate + seed_demo"
  "$PY" manage.py migrate --noinput -v0
  "$PY" manage.py seed_demo
  step "Load"
  "$PY" bench/load.py --incidents "${BENCH_INCIDENTS:-100000}" --events "${BENCH_EVENTS:-1000000}"
  step "Enrich: containment and closing times, assessments, decisions, root causes, actions"
  "$PY" bench/enrich.py
  step "audit_verify over the loaded trail"
  "$PY" bench/verify.py after-load
else
  step "Reusing $BENCH_DB; migrating and resetting demo passwords to DEMO_PASSWORD"
  "$PY" manage.py migrate --noinput -v0
  "$PY" manage.py shell -c "
from django.contrib.auth import get_user_model
from breachdesk.management.commands.seed_demo import PEOPLE
for u in get_user_model().objects.filter(username__in=[p[0] for p in PEOPLE]):
    u.set_password('''$DEMO_PASSWORD'''); u.save(update_fields=['password'])
"
fi

step "Authenticator apps for the roles that must use a second factor (key fresh each run)"
BENCH_TOTP_KEY="$("$PY" -c 'import secrets; print(secrets.token_hex(20))')"
export BENCH_TOTP_KEY
"$PY" manage.py shell -c "
import os
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from breachdesk.second_factor import requires_second_factor
for u in get_user_model().objects.filter(is_active=True):
    if requires_second_factor(u):
        TOTPDevice.objects.filter(user=u).delete()
        TOTPDevice.objects.create(user=u, name='bench', confirmed=True, key=os.environ['BENCH_TOTP_KEY'])
"

"$PY" manage.py collectstatic --noinput -v0

step "Start gunicorn ($WORKERS workers x $THREADS threads) on 127.0.0.1:$PORT"
rm -f "$RESULTS/gunicorn.pid"
timeout 7200 "$GUNICORN" breachdesk.wsgi -w "$WORKERS" --threads "$THREADS" -b "127.0.0.1:$PORT" \
  --pid "$RESULTS/gunicorn.pid" --timeout 60 --graceful-timeout 10 \
  --error-logfile "$RESULTS/gunicorn.log" --log-level warning &
TIMEOUT_PID=$!
stop_gunicorn() {
  if [[ -s "$RESULTS/gunicorn.pid" ]]; then kill "$(cat "$RESULTS/gunicorn.pid")" 2>/dev/null || true; fi
  kill "$TIMEOUT_PID" 2>/dev/null || true
  wait "$TIMEOUT_PID" 2>/dev/null || true
}
trap stop_gunicorn EXIT
trap 'stop_gunicorn; exit 143' INT TERM
"$PY" - "$PORT" <<'EOF'
import http.client, sys, time
for _ in range(120):
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
        c.request("GET", "/health/live/")
        if c.getresponse().status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("gunicorn did not answer within 60 s; see bench/results/gunicorn.log")
EOF

if [[ "${BENCH_SUITE:-list}" == "dashboard" ]]; then
  step "Load test: SIRO dashboard and task lists"
  "$PY" bench/dashboard.py --port "$PORT" \
    --requests "${BENCH_REQUESTS:-1000}" --concurrency "${BENCH_CONCURRENCY:-8}" \
    --workers "$WORKERS" --threads "$THREADS" --pid-file "$RESULTS/gunicorn.pid"
  stop_gunicorn
  trap - EXIT INT TERM
  "$PY" bench/redis_reset.py
  exit 0
fi

step "Load test"
"$PY" bench/loadtest.py --port "$PORT" \
  --requests "${BENCH_REQUESTS:-1000}" --concurrency "${BENCH_CONCURRENCY:-8}" \
  --creates "${BENCH_CREATES:-1000}" --create-concurrency "${BENCH_CREATE_CONCURRENCY:-8}" \
  --workers "$WORKERS" --threads "$THREADS" --pid-file "$RESULTS/gunicorn.pid"

step "Stop gunicorn"
stop_gunicorn
trap - EXIT INT TERM
"$PY" bench/redis_reset.py

step "EXPLAIN ANALYZE of the list queries (bench/results/explain${BENCH_LABEL:+.$BENCH_LABEL}.txt)"
"$PY" bench/explain.py | grep -E '^===|Execution Time' || true

SUFFIX="${BENCH_LABEL:+.$BENCH_LABEL}"
step "Results (bench/results/results$SUFFIX.md)"
cat "$RESULTS/results$SUFFIX.md"
