"""Shared helpers for the benchmarks: data directories, percentiles, result files, processes."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from search_api.search.shared import SHARED_ANSWERS_FILE

BENCH_DIR = Path(__file__).resolve().parent
DATA = Path(os.environ.get("TRADEPOINT_BENCH_DATA", BENCH_DIR / ".data"))
RESULTS = BENCH_DIR / "results.json"


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarise_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "n": len(ms),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def save(section: str, data: dict[str, Any]) -> None:
    """Merge one benchmark's figures into bench/results.json (the latest run of each)."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = machine()
    results[section] = {**data, "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({section: results[section]}, indent=2, ensure_ascii=False))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forget_shared_answers(data_dir: Path) -> None:
    """Drop what an earlier run's processes shared (search/shared.py): each run starts with
    nothing made, as after a change of the index."""
    for kept in data_dir.glob(SHARED_ANSWERS_FILE + "*"):
        kept.unlink()


def start_uvicorn(
    app: str, env: dict[str, str], workers: int = 2
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve `module:app` (a factory when it ends with `()`) the way production would."""
    port = free_port()
    factory = app.endswith("()")
    if "TRADEPOINT_DATA_DIR" in env:
        forget_shared_answers(Path(env["TRADEPOINT_DATA_DIR"]))
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app.removesuffix("()"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=BENCH_DIR.parent)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
