"""Benchmark: four lost data sets, 1,000,000 rows between them, with a known overlap.

    .venv/bin/python bench/datasets.py            # BENCH_ROWS=1000000 by default

What it does, on a database of its own (breachdesk_bench_datasets, recreated):
1. generates the four CSV files (bench/datagen.py, into bench/results/datasets/; not timed);
2. starts a real Celery worker as the Procfile does (prefork, two processes) on Redis;
3. end to end: receives each file as the API does (checks, copy to the upload folder),
   queues it, and waits until the worker has processed all four and the exact population
   covers them; wall time, and the peak memory (VmHWM) of each worker process;
4. checks every figure against the generated truth;
5. times enquiries (the lookup service: tokens, indexed queries, closure) for people in
   one, two, three and four data sets and for people in none;
6. the floor: a plain HMAC-SHA256 loop over the same identifier values, one process.
Results: bench/results/datasets.json and Markdown on stdout.
"""

from __future__ import annotations

import csv
import hmac
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, configure_env, result_path

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SEED = int(os.environ.get("BENCH_SEED", "2009"))
DB = "breachdesk_bench_datasets"
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "13")
ENQUIRIES = int(os.environ.get("BENCH_ENQUIRIES", "400"))
WAIT = 600.0


def vm(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in kB (VmHWM: the process's peak resident memory)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def psql(*sql: str) -> None:
    for statement in sql:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", statement],
            check=True,
            capture_output=True,
        )


def main() -> None:
    os.environ["BENCH_DB"] = DB
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("BREACHDESK_VAR_DIR", str(RESULTS / "var-datasets"))
    os.environ.setdefault("DEMO_PASSWORD", "bench-datasets-password")
    configure_env()
    psql(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}")
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, check=True, capture_output=True)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from bench.datagen import MAPPINGS, generate
    from incidents.services import incident_report
    from riskassess import datasets, population
    from riskassess.choices import DataSetStatus
    from riskassess.identifiers import normalise
    from riskassess.models import LostDataSet, PopulationSnapshot

    folder = RESULTS / "datasets" / f"{ROWS}-{SEED}"
    started = time.perf_counter()
    truth = generate(ROWS, folder, seed=SEED)
    print(f"generated {ROWS:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    reporter = User.objects.get(username="reporter")
    dpo = User.objects.get(username="dpo")
    from django.utils import timezone

    incident = incident_report(
        reporter=reporter,
        org_unit=reporter.profile.unit,
        title="Four data sets on a lost memory stick",
        description="Benchmark",
        category="device_lost_or_stolen",
        discovered_at=timezone.now(),
    )

    log = open(RESULTS / "datasets-worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            "breachdesk",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "INFO"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in (RESULTS / "datasets-worker.log").read_text():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("the worker did not start: see bench/results/datasets-worker.log")
            time.sleep(0.2)
        pool = children(worker.pid)
        baseline = {pid: vm(pid, "VmRSS") for pid in pool}

        # -- end to end ----------------------------------------------------------------
        t0 = time.perf_counter()
        ids = {}
        for k, (name, path) in enumerate(truth.paths.items()):
            with path.open("rb") as upload:
                received = datasets.receive_upload(upload, path.name)
            dataset = datasets.dataset_create(
                incident=incident, actor=dpo, name=name, received=received, mapping=MAPPINGS[k]
            )
            ids[dataset.pk] = name
        t_received = time.perf_counter() - t0
        wanted = sorted(ids)
        while True:
            done = (
                LostDataSet.objects.filter(pk__in=wanted)
                .exclude(status=DataSetStatus.QUEUED)
                .exclude(status=DataSetStatus.PROCESSING)
            )
            snapshot = PopulationSnapshot.objects.filter(incident=incident).first()
            if done.count() == len(wanted) and snapshot is not None and snapshot.datasets == wanted:
                break
            if time.perf_counter() - t0 > WAIT:
                raise SystemExit("processing did not finish in time")
            time.sleep(0.05)
        t_end = time.perf_counter() - t0
        failed = list(
            LostDataSet.objects.filter(pk__in=wanted, status=DataSetStatus.FAILED).values_list("error", flat=True)
        )
        if failed:
            raise SystemExit(f"failed: {failed}")
        peaks = {pid: vm(pid, "VmHWM") for pid in pool}
        per_set = {
            ids[d.pk]: {
                "rows": d.rows,
                "seconds": round((d.finished_at - d.started_at).total_seconds(), 2),
                "waited_s": round((d.started_at - d.uploaded_at).total_seconds(), 2),
            }
            for d in LostDataSet.objects.filter(pk__in=wanted)
            if d.finished_at is not None and d.started_at is not None
        }
        result = snapshot.result

        # -- exactness -----------------------------------------------------------------
        by_id = {str(k): v for k, v in ids.items()}
        checks = {
            "unique_people": result["unique_people"] == truth.unique_people,
            "people_per_set": {ids[d["id"]]: d["people"] for d in result["datasets"]} == truth.people,
            "pairs": {
                tuple(ids[i] for i in o["datasets"]): o["people"] for o in result["overlaps"] if len(o["datasets"]) == 2
            }
            == truth.pairs,
            "regions": {frozenset(ids[i] for i in r["datasets"]): r["people"] for r in result["regions"]}
            == truth.regions,
        }

        # -- enquiries -----------------------------------------------------------------
        rng = random.Random(SEED)
        connection.close()  # a fresh connection, as a web process would have
        by_depth: dict[int, list[float]] = {}
        samples = []
        for _ in range(ENQUIRIES):
            index = rng.randrange(len(truth.persons))
            samples.append(index)
        values_of: list[tuple[int, dict[str, str]]] = []
        for index in samples:
            p = truth.persons[index]
            values_of.append(
                (
                    index,
                    {
                        "full_name": normalise("full_name", f"{p.first} {p.last}") or "",
                        "date_of_birth": normalise("date_of_birth", p.born.isoformat()) or "",
                    },
                )
            )
        population.lookup(incident, values_of[0][1])  # warm the connection
        for index, values in values_of:
            t = time.perf_counter()
            answer = population.lookup(incident, values)
            took = (time.perf_counter() - t) * 1000
            expected = truth.membership[index]
            got = {ids[d.dataset_id] for d in answer.datasets}
            checks.setdefault("enquiries", True)
            checks["enquiries"] = checks["enquiries"] and got == set(expected)
            by_depth.setdefault(len(expected), []).append(took)
        enquiry_all = sorted(t for ts in by_depth.values() for t in ts)

        # -- the floor -----------------------------------------------------------------
        key = os.environ["PSEUDONYM_KEY"].encode()
        identifier_columns = [
            [i for i, column in enumerate(next(csv.reader(path.open(encoding="utf-8")))) if column in MAPPINGS[k]]
            for k, path in enumerate(truth.paths.values())
        ]

        def floor_loop(digest: Callable[[bytes], object]) -> tuple[float, int]:
            """Read the same files and hash every identifier value: nothing else."""
            count = 0
            started = time.perf_counter()
            for k, path in enumerate(truth.paths.values()):
                with path.open(encoding="utf-8", newline="") as handle:
                    reader = csv.reader(handle)
                    next(reader)
                    cols = identifier_columns[k]
                    for row in reader:
                        for i in cols:
                            digest(row[i].encode())
                            count += 1
            return time.perf_counter() - started, count

        from riskassess.pseudonym import Hasher

        floor, hashed = floor_loop(lambda value: hmac.digest(key, value, "sha256"))
        # The same loop with the HMAC the product uses (key pads hashed once; same result).
        floor_pads, _ = floor_loop(Hasher(key))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()

    def pct(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    out = {
        "rows": ROWS,
        "seed": SEED,
        "end_to_end_s": round(t_end, 2),
        "receive_s": round(t_received, 2),
        "per_set": per_set,
        "population_s": result["seconds"],
        "worker_peak_mb": {str(pid): round(kb / 1024) for pid, kb in peaks.items()},
        "worker_baseline_mb": {str(pid): round(kb / 1024) for pid, kb in baseline.items()},
        "unique_people": result["unique_people"],
        "truth_unique_people": truth.unique_people,
        "range_without_linking": result["range_without_linking"],
        "checks": checks,
        "enquiry_ms": {
            "n": len(enquiry_all),
            "p50": pct(enquiry_all, 0.5),
            "p95": pct(enquiry_all, 0.95),
            "max": round(enquiry_all[-1], 1),
            "by_data_sets": {str(k): round(statistics.median(v), 1) for k, v in sorted(by_depth.items())},
        },
        "floor_s": round(floor, 2),
        "floor_precomputed_pads_s": round(floor_pads, 2),
        "floor_values": hashed,
        "ids": by_id,
    }
    result_path("datasets.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    print(
        f"\n| rows | end to end | worker peak (each) | population | enquiry p50 / p95 / max | hashing floor |\n"
        f"|---|---|---|---|---|---|\n"
        f"| {ROWS:,} | {t_end:.2f} s | {', '.join(f'{v} MB' for v in out['worker_peak_mb'].values())} | "
        f"{result['seconds']:.2f} s | {out['enquiry_ms']['p50']} / {out['enquiry_ms']['p95']} / "
        f"{out['enquiry_ms']['max']} ms | {floor:.2f} s ({hashed:,} values, one process; "
        f"{floor_pads:.2f} s with the pads hashed once) |"
    )


if __name__ == "__main__":
    main()
