"""Benchmark: concurrent submits of a 5 KiB script against `evalpod api` on PostgreSQL + Redis.

Prints requests/s and p50/p95/p99 latency for POST /api/v1/evaluations and for
GET /api/v1/health on the same server in the same run, and their ratio; then the
latency of a dry-run (POST /api/v1/evaluations/validate) of a 256 KiB script.
Run by hand:  python bench/api_submit.py [--clients 16] [--seconds 10] [--workers 1]
Targets (issue 3): submit p95 < 50 ms, submit throughput >= 40% of health's,
dry-run of 256 KiB under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("EVALPOD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("EVALPOD_BENCH_REDIS", "redis://127.0.0.1:6379/13")


def script_of_size(size: int) -> str:
    body = ["import math", "import statistics", "", "import torch", "",
            "def evaluate_model(model):", "    scores = []"]
    i = 0
    while sum(len(line) + 1 for line in body) < size - 150:
        body.append(f"    scores.append(len(model.generate(['prompt {i}'], max_new_tokens=4)))")
        i += 1
    body.append("    return {'n': len(scores), 'mean': statistics.fmean(scores),"
                " 'log': math.log1p(len(scores)), 'torch': torch.__version__}")
    return "\n".join(body) + "\n"


async def prepare(dsn: str, model_dir: Path) -> str:
    from evalpod.db import Database
    from evalpod.keys import Role, create_key
    from evalpod.migrate import upgrade_async
    from evalpod.registry import register_model

    await upgrade_async(dsn)
    database = Database(dsn)
    async with database.session() as session:
        await register_model(session, model_dir, "tiny-gpt2", model_id="tiny-gpt2")
        _, key = await create_key(session, "bench", Role.submitter)
    await database.dispose()
    return key


async def hammer(client: httpx.AsyncClient, method: str, path: str, body: Any,
                 clients: int, seconds: float) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.request(method, path, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 300:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


def describe(name: str, rate: float, latencies: list[float], errors: int) -> str:
    q = statistics.quantiles(latencies, n=100)
    return (f"{name:<8} {rate:8.1f} req/s   p50 {q[49] * 1000:6.1f} ms   p95 {q[94] * 1000:6.1f} ms"
            f"   p99 {q[98] * 1000:6.1f} ms   errors {errors}")


async def dry_run_latency(client: httpx.AsyncClient, runs: int = 20) -> str:
    """One client, one request at a time: the dry-run's own latency, not queueing."""
    from validate import realistic_script

    script = realistic_script(20_000)[: 256 * 1024 - 64].rsplit("\n\ndef ", 1)[0]
    script += "\n\ndef evaluate_model(model):\n    return {}\n"
    body = {"model_id": "tiny-gpt2", "script": script}
    latencies = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = await client.post("/api/v1/evaluations/validate", json=body)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.json()["valid"], response.text
    q = statistics.quantiles(latencies[1:], n=20)
    return (f"dry-run  {len(script.encode()) / 1024:.0f} KiB script, {runs} sequential:"
            f"   p50 {q[9] * 1000:6.1f} ms   p95 {q[18] * 1000:6.1f} ms")


async def main(args: argparse.Namespace) -> None:
    database = f"evalpod_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + \
        database
    model_dir = Path(args.model)
    if not (model_dir / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "sandbox_images/tiny_model.py"),
                        str(model_dir)], check=True)
    key = await prepare(dsn, model_dir)
    port = 18765
    env = {**os.environ, "EVALPOD_DATABASE_URL": dsn, "EVALPOD_REDIS_URL": REDIS,
           "EVALPOD_RATE_PER_MINUTE": "100000000", "EVALPOD_RATE_BURST_PER_SECOND": "1000000",
           "EVALPOD_MAX_LIVE_EVALUATIONS": "100000000"}
    server = subprocess.Popen([sys.executable, "-c", "from evalpod.cli import main; main()",
                               "api", "--port", str(port), "--workers", str(args.workers)],
                              env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        limits = httpx.Limits(max_connections=args.clients)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(200):
                try:
                    if (await client.get("/api/v1/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            body = {"model_id": "tiny-gpt2", "script": script_of_size(5 * 1024)}
            await hammer(client, "POST", "/api/v1/evaluations", body, args.clients, 2)  # warm-up
            health = await hammer(client, "GET", "/api/v1/health", None, args.clients,
                                  args.seconds)
            submit = await hammer(client, "POST", "/api/v1/evaluations", body, args.clients,
                                  args.seconds)
            dry_run = await dry_run_latency(client)
        print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each, "
              f"`evalpod api --workers {args.workers}`, PostgreSQL + Redis, {os.cpu_count()} CPUs")
        print(describe("health", *health))
        print(describe("submit", *submit))
        print(f"submit/health throughput ratio: {submit[0] / health[0]:.2f}")
        print(dry_run)
    finally:
        server.terminate()
        server.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1, help="`evalpod api --workers`")
    parser.add_argument("--model", default=str(Path.home() / ".cache/evalpod-tests/tiny-gpt2"))
    asyncio.run(main(parser.parse_args()))
