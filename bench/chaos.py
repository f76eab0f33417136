"""The long chaos run: 100 submissions of mixed outcomes against real evalpod processes.

While they run, the API, validator, orchestrator and monitor are SIGKILLed at random and
restarted, our own Redis server is restarted (every queued job is lost), a private
PostgreSQL cluster (initdb in a temp dir, never the machine's) is restarted, and each
process's database writes fail with a set probability. Then every evaluation must reach
a terminal status within the bound, none lost, none completed twice, every transition
recorded. Prints the figures; exits 1 if any invariant broke.

    .venv/bin/python bench/chaos.py --submissions 100 --chaos-s 600 --seed 1
    .venv/bin/python bench/chaos.py --shared-postgres   # no PostgreSQL restarts
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos.cluster import ChaosConfig, run_chaos  # noqa: E402


def _tiny_model() -> Path:
    import subprocess

    cache = Path(os.environ.get("EVALPOD_TEST_CACHE", Path.home() / ".cache" / "evalpod-tests"))
    dest = cache / "tiny-gpt2"
    if not (dest / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "sandbox_images" / "tiny_model.py"),
                        str(dest)], check=True)
    return dest


async def _shared_database(admin_dsn: str) -> str:
    import asyncpg

    from evalpod.migrate import upgrade

    name = f"evalpod_chaos_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    dsn = f"postgresql+asyncpg://{admin_dsn.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    await asyncio.to_thread(upgrade, dsn)
    return dsn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--chaos-s", type=float, default=600.0,
                        help="chaos lasts at least this long (and until the last submission)")
    parser.add_argument("--submit-interval-s", type=float, default=3.0)
    parser.add_argument("--kill-every-s", type=float, nargs=2, default=(5.0, 20.0),
                        metavar=("MIN", "MAX"))
    parser.add_argument("--write-fault-p", type=float, default=0.02)
    parser.add_argument("--terminal-bound-s", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shared-postgres", action="store_true",
                        help="a new database on EVALPOD_TEST_PG's server (never restarted) "
                             "instead of a private cluster")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    config = ChaosConfig(
        submissions=args.submissions, submit_interval_s=args.submit_interval_s,
        chaos_s=args.chaos_s, kill_interval_s=tuple(args.kill_every_s),
        redis_restarts=True, postgres_restarts=not args.shared_postgres,
        write_fault_p=args.write_fault_p, terminal_bound_s=args.terminal_bound_s,
        seed=args.seed)
    dsn = None
    if args.shared_postgres:
        admin = os.environ.get("EVALPOD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        dsn = asyncio.run(_shared_database(admin))
    began = time.monotonic()
    report = asyncio.run(run_chaos(config, _tiny_model(), dsn=dsn))
    print(f"chaos run: {config}")
    print(report.figures())
    print(report.table(config))
    print(f"wall {time.monotonic() - began:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "config": dataclasses.asdict(config), "accepted": report.accepted,
            "by_kind": report.by_kind, "kills": report.kills,
            "crash_restarts": report.crash_restarts, "to_terminal_s": report.to_terminal_s,
            "problems": report.problems, "logs": report.logs}, indent=1))
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
