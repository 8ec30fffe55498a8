"""Sample what every session of one database is doing, to tell lock waits from work.

    .venv/bin/python bench/pg_waits.py breachdesk_bench_esc --seconds 30

Every 50 ms reads pg_stat_activity for the database and counts, per sample, each session's
state and wait event (``active`` with no wait = running SQL; ``idle in transaction`` = the
application holds a transaction open while it does something else; ``Lock/transactionid``
or ``Lock/tuple`` = waiting on another transaction's row lock). Prints the shares, and for
lock waits the statement that waits and the one that blocks it.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import psycopg2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--dsn", default="host=127.0.0.1 user=postgres dbname=postgres")
    args = parser.parse_args()
    states: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    blockers: Counter[str] = Counter()
    samples = 0
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            cur.execute(
                """
                SELECT a.pid, a.state, coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''),
                       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 90),
                       (SELECT left(regexp_replace(b.query, '\\s+', ' ', 'g'), 90)
                          FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1] LIMIT 1)
                  FROM pg_stat_activity a
                 WHERE a.datname = %s AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
                """,
                (args.database,),
            )
            rows = cur.fetchall()
            samples += 1
            for _pid, state, wtype, wevent, query, blocker in rows:
                if state == "idle":
                    continue
                key = f"{state} {wtype}/{wevent}".strip()
                states[key] += 1
                if wtype == "Lock":
                    waiting[query] += 1
                    blockers[blocker or "?"] += 1
            time.sleep(args.interval)
    print(f"{samples} samples; average non-idle sessions per sample by state:")
    for key, n in states.most_common():
        print(f"  {n / samples:6.2f}  {key}")
    if waiting:
        print("waiting statements:")
        for q, n in waiting.most_common(8):
            print(f"  {n / samples:6.2f}  {q}")
        print("statements of the blocking sessions (their last statement):")
        for q, n in blockers.most_common(8):
            print(f"  {n / samples:6.2f}  {q}")


if __name__ == "__main__":
    main()
