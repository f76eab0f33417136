"""API memory during a streamed dataset upload, run by hand:
`python bench/dataset_upload.py [--gib 1] [--chunk-kib 256]`.

Starts `evalpod api` in its own process (SQLite and a fresh EVALPOD_HOME in a temp
dir, Redis DB 8), uploads a generated JSONL file of the given size as one streamed
request body, and samples the API process's resident set (VmRSS) every 20 ms. Prints
one JSON object: size, wall time, throughput, RSS before, peak, growth, and the
stored file's sha256 against the one computed while sending.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rows(total: int, chunk: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """`total` bytes of JSONL in pieces of about `chunk` bytes, hashed as they go."""
    sent, index = 0, 0
    while sent < total:
        lines = []
        size = 0
        while size < chunk and sent + size < total:
            line = json.dumps({"id": f"r{index}", "question": f"question {index} " + "x" * 200,
                               "answer": str(index)}) + "\n"
            lines.append(line)
            size += len(line)
            index += 1
        piece = "".join(lines).encode()[: total - sent]
        digest.update(piece)
        sent += len(piece)
        yield piece


def make_key(env: dict[str, str]) -> str:
    os.environ.update(env)
    from evalpod.db import get_database
    from evalpod.keys import Role, create_key
    from evalpod.migrate import upgrade

    dsn = f"sqlite+aiosqlite:///{env['EVALPOD_HOME']}/evalpod.db"
    upgrade(dsn)

    async def create() -> str:
        async with get_database(dsn).session() as session:
            _, key = await create_key(session, "bench", Role.submitter)
        await get_database(dsn).dispose()
        return key

    return asyncio.run(create())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--chunk-kib", type=int, default=256)
    args = parser.parse_args()
    import httpx

    home = Path(tempfile.mkdtemp(prefix="evalpod-upload-bench-"))
    env = {"EVALPOD_HOME": str(home), "EVALPOD_REDIS_URL": "redis://127.0.0.1:6379/8",
           "EVALPOD_DATASET_QUOTA_BYTES": str(64 * 1024**3),
           "EVALPOD_RATE_PER_MINUTE": "100000", "EVALPOD_RATE_BURST_PER_SECOND": "1000"}
    key = make_key(env)
    port = free_port()
    api = subprocess.Popen([str(Path(sys.executable).parent / "evalpod"), "api", "--port",
                            str(port)], env={**os.environ, **env}, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
            for _ in range(300):
                try:
                    http.get("/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            http.post("/datasets", json={"name": "big"}).raise_for_status()
            for _ in range(20):  # warm the upload path (imports, pools) before measuring
                http.post("/datasets/big/versions", params={"format": "jsonl"},
                          content=b'{"id": "w"}\n')
            time.sleep(0.5)
            before = rss_bytes(api.pid)
            peak = before
            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_bytes(api.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            total = int(args.gib * 1024**3)
            digest = hashlib.sha256()
            started = time.perf_counter()
            response = http.post("/datasets/big/versions", params={"format": "jsonl",
                                                                   "version": "big"},
                                 content=rows(total, args.chunk_kib * 1024, digest))
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
        response.raise_for_status()
        body = response.json()
        print(json.dumps({
            "size_bytes": body["size_bytes"], "seconds": round(elapsed, 2),
            "mib_per_s": round(body["size_bytes"] / MIB / elapsed, 1),
            "api_rss_before_mib": round(before / MIB, 1),
            "api_rss_peak_mib": round(peak / MIB, 1),
            "api_rss_growth_mib": round((peak - before) / MIB, 1),
            "sha256_matches": body["sha256"] == digest.hexdigest(),
        }))
    finally:
        api.send_signal(signal.SIGINT)
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()
        subprocess.run(["rm", "-rf", str(home)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
