"""Markdown tables from bench/results/*.json, for docs/benchmarks.md.

.venv/bin/python bench/report.py                 # the last run
.venv/bin/python bench/report.py proposed        # compare with results.proposed.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS


def load(name: str) -> dict[str, Any]:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else {}


def flag(row: dict[str, Any]) -> str:
    other = row["foreign_cpu_share"]
    return f"{other:.0%}" + (" ⚠" if other > 0.10 else "")


def results_table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| Endpoint | Clients | Requests | OK | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/req | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['name']} | {r['concurrency']} | {r['requests']} | {r['ok']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['req_per_s']} | {r['server_cpu_ms_per_req']} | {flag(r)} |"
        )
    return "\n".join(out)


def comparison(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> str:
    index = {(r["name"], r["concurrency"]): r for r in other}
    out = [
        "| Endpoint | Clients | p95 ms before → after | req/s before → after | CPU ms/req before → after |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in base:
        o = index.get((r["name"], r["concurrency"]))
        if o is None or r["name"].startswith("GET /health"):
            continue
        out.append(
            f"| {r['name']} | {r['concurrency']} | {r['p95_ms']} → {o['p95_ms']} | {r['req_per_s']} → {o['req_per_s']} "
            f"| {r['server_cpu_ms_per_req']} → {o['server_cpu_ms_per_req']} |"
        )
    return "\n".join(out)


def main() -> None:
    base = load("results.json")
    print("## Results\n")
    print(f"Source: {base['machine']['source']}; gunicorn {base['machine']['gunicorn']}\n")
    print(results_table(base["rows"]))
    print("\n## Baseline ratios\n")
    for name, ratio in base["baseline_ratios"].items():
        print(f"- {name}: p50 x{ratio['p50_x']}, p95 x{ratio['p95_x']}, {ratio['throughput_share']:.1%} of the req/s")
    print("\n## Creates\n")
    print("```json\n" + json.dumps(base["create_checks"], indent=2) + "\n```")
    print(f"\naudit_verify after the creates: {base['verify_after_creates']}")
    print(f"audit_verify after the load: {load('verify-after-load.json')}")
    print(f"\nTargets: {base['targets']}")
    if len(sys.argv) > 1:
        other = load(f"results.{sys.argv[1]}.json")
        print(f"\n## {sys.argv[1]}: {other['machine']['source']}\n")
        print(results_table(other["rows"]))
        print("\n" + comparison(base["rows"], other["rows"]))
        print(f"\nTargets: {other['targets']}")


if __name__ == "__main__":
    main()
