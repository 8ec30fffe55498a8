#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a NEW, empty database, then check the
# audit trail against the signed checkpoints kept elsewhere. docs/operations.md.
#   DATABASE_URL=postgres://.../breachdesk_restored scripts/restore.sh /backups/breachdesk-2026-11-21 \
#       /elsewhere/audit-checkpoints.jsonl
set -euo pipefail
IN="${1:?give the backup folder}"
CHECKPOINTS="${2:-}"
: "${DATABASE_URL:?set DATABASE_URL to the new, empty database to restore into}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
( cd "$IN" && sha256sum --check --quiet SHA256SUMS )
pg_restore --no-owner --exit-on-error --dbname "$DATABASE_URL" "$IN/database.dump"
if [[ -n "${BREACHDESK_VAR_DIR:-}" ]]; then
  mkdir -p "$BREACHDESK_VAR_DIR"
  tar --extract --gzip --file "$IN/files.tar.gz" --directory "$BREACHDESK_VAR_DIR"
fi
cd "$ROOT"
"$PY" manage.py migrate --check >/dev/null
if [[ -n "$CHECKPOINTS" ]]; then
  "$PY" manage.py audit_verify --checkpoints "$CHECKPOINTS"
else
  "$PY" manage.py audit_verify
fi
echo "Restored; start web, worker and beat on it: overdue clocks fire on the first sweep."
