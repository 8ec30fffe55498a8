"""Time ``manage.py audit_verify`` over the whole trail and record the result.

.venv/bin/python bench/verify.py after-load
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, configure_env, result_path


def timed_audit_verify(label: str) -> dict[str, Any]:
    """Run the management command in a fresh process (as an operator would) and time it."""
    configure_env()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "audit_verify"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=1800,
        check=False,
    )
    seconds = round(time.perf_counter() - t0, 2)
    out = {
        "label": label,
        "ok": proc.returncode == 0,
        "seconds": seconds,
        "output": (proc.stdout + proc.stderr).strip().splitlines()[-1:],
    }
    result_path(f"verify-{label}.json").write_text(json.dumps(out, indent=2))
    return out


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "adhoc"
    result = timed_audit_verify(label)
    print(
        f"audit_verify ({label}): {'PASS' if result['ok'] else 'FAIL'} in {result['seconds']:.1f} s: {result['output']}"
    )
    if not result["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
