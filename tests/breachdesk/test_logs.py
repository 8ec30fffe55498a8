"""Structured logs: JSON a line in production; an exception's type and place, never its
message (a database error's message can quote the row it refused)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from breachdesk.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def test_a_record_is_one_json_object_without_the_exception_message():
    logger = logging.getLogger("breachdesk.test")
    try:
        raise ValueError("duplicate key value violates unique constraint DETAIL: Key (name)=(Lena Marchetti)")
    except ValueError:
        record = logger.makeRecord(
            "breachdesk.test", logging.ERROR, __file__, 1, "Data set %s failed", (7,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["message"] == "Data set 7 failed"
    assert data["level"] == "ERROR"
    assert data["exception"] == "ValueError"
    assert data["where"][-1].startswith("test_logs.py:")
    assert "Marchetti" not in line
    assert "\n" not in line


def test_production_settings_log_json():
    env = {
        "DJANGO_SETTINGS_MODULE": "breachdesk.settings.production",
        "SECRET_KEY": "k" * 10 + "Zq8rT2vL9pWx" * 4,
        "PSEUDONYM_KEY": "p" * 8 + "a1B2c3D4e5F6g7H8i9J0k1L2",
        "PATH": "/usr/bin:/bin",
    }
    code = "import django, logging; django.setup(); logging.getLogger('breachdesk').warning('ready %s', 3)"
    result = subprocess.run(  # noqa: S603 - this interpreter, this project
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stderr.strip().splitlines()[-1])["message"] == "ready 3"
