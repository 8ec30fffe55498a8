#!/usr/bin/env bash
# Back up BreachDesk: the database (pg_dump, custom format) and the files under var/
# (evidence, issued reports, audit checkpoints). docs/operations.md says how and when.
#   DATABASE_URL=postgres://... scripts/backup.sh /backups/breachdesk-$(date +%F)
set -euo pipefail
OUT="${1:?give the folder to write the backup into}"
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
VAR="${BREACHDESK_VAR_DIR:-$(cd "$(dirname "$0")/.." && pwd)/var}"
mkdir -p "$OUT"
pg_dump --format=custom --no-owner --file "$OUT/database.dump" "$DATABASE_URL"
# Uploads of lost data sets are temporary and never backed up.
tar --create --gzip --file "$OUT/files.tar.gz" --directory "$VAR" \
  --exclude=./uploads --exclude=./celery-broker --exclude=./staticfiles --exclude='./*.sqlite3' .
( cd "$OUT" && sha256sum database.dump files.tar.gz > SHA256SUMS )
echo "Backed up to $OUT"
