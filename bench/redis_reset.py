"""Empty the Redis database the benchmark uses as Celery broker and Django cache
(BENCH_REDIS_DB, default 14), refusing if it holds keys that look like neither: it may
belong to someone else.

    .venv/bin/python bench/redis_reset.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import configure_env

# Celery's and kombu's keys, and Django's cache keys (":<version>:<key>").
OWN_PREFIXES = ("celery", "_kombu", "unacked", "_celery", ":1:")


def main() -> None:
    configure_env()
    import redis

    url = os.environ.get("REDIS_URL", "")
    if not url:
        return
    client = redis.Redis.from_url(url)
    foreign = [k for k in client.scan_iter(count=1000) if not k.decode(errors="replace").startswith(OWN_PREFIXES)]
    if foreign:
        raise SystemExit(
            f"{url} holds keys that are not Celery's (e.g. {foreign[0]!r}); set BENCH_REDIS_DB to a free one"
        )
    client.flushdb()


if __name__ == "__main__":
    main()
