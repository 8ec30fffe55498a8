"""The project's own wiring: deployment files agree, production refuses unsafe settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_parses_and_runs_the_procfile_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "mail", "web", "worker", "beat"} <= set(services)
    for name, command in procfile().items():
        assert services[name]["command"] == command, name
    assert services["web"]["environment"]["DJANGO_SETTINGS_MODULE"] == "breachdesk.settings.production"
    assert "gunicorn" in services["web"]["command"]
    # web takes uploads and evidence that the worker processes: they share var/
    for name in ("web", "worker", "beat"):
        assert "appdata:/app/var" in services[name]["volumes"], name
    assert "appdata" in compose["volumes"]


def test_compose_restarts_the_long_running_services_but_migrates_once():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"


def run_production_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PSEUDONYM_KEY", "PSEUDONYM_KEYS", "DEBUG"}}
    clean.update(DJANGO_SETTINGS_MODULE="breachdesk.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


GOOD = {"SECRET_KEY": "k" * 10 + "Zq8rT2vL9pWx" * 4, "PSEUDONYM_KEY": "p" * 8 + "a1B2c3D4e5F6g7H8i9J0k1L2"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production-padding-padding"}, "SECRET_KEY must be set"),
        ({**GOOD, "DEBUG": "1"}, "DEBUG must be off"),
        ({"SECRET_KEY": GOOD["SECRET_KEY"]}, "PSEUDONYM_KEY must be set"),
        ({"SECRET_KEY": GOOD["SECRET_KEY"], "PSEUDONYM_KEYS": "1:short"}, "PSEUDONYM_KEYS must be"),
    ],
)
def test_production_refuses_to_start_unsafely(env, message):
    result = run_production_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_takes_rotated_keys_instead_of_one():
    keys = "1:" + GOOD["PSEUDONYM_KEY"] + ",2:" + GOOD["PSEUDONYM_KEY"][::-1]
    result = run_production_check(SECRET_KEY=GOOD["SECRET_KEY"], PSEUDONYM_KEYS=keys)
    assert result.returncode == 0, result.stderr


def test_production_deploy_check_is_clean():
    result = run_production_check(**GOOD)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_static_files_collect_under_production_settings(tmp_path):
    # the production manifest storage refuses any reference it cannot resolve
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in {"DEBUG"}},
            "DJANGO_SETTINGS_MODULE": "breachdesk.settings.production",
            "BREACHDESK_VAR_DIR": str(tmp_path),
            **GOOD,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "staticfiles" / "staticfiles.json").read_text()
    assert "vendor/govuk-frontend/govuk-frontend.min.css" in manifest


def test_dockerfile_collects_static_under_production_settings():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_SETTINGS_MODULE=breachdesk.settings.production" in dockerfile
    assert "collectstatic" in dockerfile
