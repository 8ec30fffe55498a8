"""Shared set-up for the benchmark scripts: environment, sys.path and Django.

Every value has a bench-only default so each script also runs on its own; ``run.sh``
exports the same variables once so the loader, gunicorn and the client agree.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

# The tree being measured: the repository itself, or the snapshot of a commit that
# ``run.sh`` exports under bench/results/src (BENCH_REF). Results always go to the
# repository's bench/results (BENCH_RESULTS, set by run.sh).
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", str(ROOT / "bench" / "results")))
BENCH_DB = os.environ.get("BENCH_DB", "breachdesk_bench")


def result_path(name: str) -> Path:
    """bench/results/<name>, or <stem>.<BENCH_LABEL><suffix> for a labelled run
    (e.g. results.proposed.json), so an experiment does not overwrite the baseline."""
    label = os.environ.get("BENCH_LABEL", "")
    path = RESULTS / name
    return path.with_name(f"{path.stem}.{label}{path.suffix}") if label else path


def configure_env() -> None:
    """Put the project on sys.path and set the production-settings environment."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    defaults = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "PSEUDONYM_KEY": "bench-" + secrets.token_urlsafe(32),
        "BREACHDESK_VAR_DIR": str(RESULTS / "var"),
        "LOG_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    if os.environ["DATABASE_URL"].rstrip("/").rsplit("/", 1)[-1] in {"test", "test_test"}:
        raise SystemExit("Refusing to run the benchmark against the 'test' databases.")
    RESULTS.mkdir(parents=True, exist_ok=True)


def setup_django() -> None:
    configure_env()
    import django

    django.setup()


def wait_for_server(base: str, *, timeout: float = 60.0) -> None:
    """Wait until the server at ``base`` answers its liveness check."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/health/live/", timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)
