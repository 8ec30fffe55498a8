"""The backup and restore procedure of docs/operations.md, run as written: scripts/backup.sh
on the live database, scripts/restore.sh into a fresh one, the audit chain checked there
against the checkpoints kept elsewhere, and the clocks picking up where they stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from breachdesk.audit import audit_checkpoint
from notifications.choices import TimerState
from notifications.models import Timer
from tests.factories import IncidentFactory

from .conftest import database_url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)  # noqa: S603 - our own scripts


def test_backup_restore_into_a_fresh_database_verifies_and_the_clocks_resume(org, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "elsewhere" / "audit-checkpoints.jsonl"
    incident = IncidentFactory.create(reporter=org["reporter"])
    overdue = Timer.objects.filter(incident=incident, state=TimerState.PENDING).order_by("due_at").first()
    assert overdue is not None
    # The machine went down with this timer due ten minutes ago.
    Timer.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(minutes=10))
    audit_checkpoint()

    source = database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "breachdesk.settings.dev",
        "PYTHON": sys.executable,
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_URL": "consolemail://",
    }
    var = tmp_path / "var"
    (var / "evidence").mkdir(parents=True)
    (var / "evidence" / "kept.txt").write_text("evidence")
    backup = run(
        ["bash", "scripts/backup.sh", str(tmp_path / "backup")],
        {**env, "DATABASE_URL": source, "BREACHDESK_VAR_DIR": str(var)},
    )
    assert backup.returncode == 0, backup.stderr

    name = f"test_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    target = source.rsplit("/", 1)[0] + f"/{name}"
    try:
        restored_var = tmp_path / "restored-var"
        restore = run(
            ["bash", "scripts/restore.sh", str(tmp_path / "backup"), str(settings.AUDIT_CHECKPOINT_FILE)],
            {**env, "DATABASE_URL": target, "BREACHDESK_VAR_DIR": str(restored_var)},
        )
        assert restore.returncode == 0, restore.stderr + restore.stdout
        assert "Audit chain intact" in restore.stdout
        assert "1 signed checkpoints agree" in restore.stdout or "2 signed checkpoints agree" in restore.stdout
        assert (restored_var / "evidence" / "kept.txt").read_text() == "evidence"
        # The first sweep on the restored database fires the clock that was overdue.
        sweep = run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from notifications.services.timers import timers_sweep; from notifications.models import Timer; "
                f"timers_sweep(); print(Timer.objects.get(pk={overdue.pk}).state)",
            ],
            {**env, "DATABASE_URL": target, "BREACHDESK_VAR_DIR": str(restored_var)},
        )
        assert sweep.returncode == 0, sweep.stderr
        assert sweep.stdout.strip().splitlines()[-1] == TimerState.FIRED
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
