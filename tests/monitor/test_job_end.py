"""A job ends when its script returns (#12.5: `end` promptly after the job's end)."""

from __future__ import annotations

import time
from pathlib import Path

from evalpod.settings import Settings
from orchestrator.local.backend import LocalBackend
from orchestrator.sandbox import ResourceLimits, SandboxJob

LINGERING_THREAD = '''
import threading, time

def evaluate_model(model):
    threading.Thread(target=time.sleep, args=(60,)).start()  # not a daemon
    print("returning", flush=True)
    return {"ok": 1.0}
'''


async def test_a_thread_left_running_does_not_hold_the_job_open(tmp_path: Path) -> None:
    backend = LocalBackend(Settings(home=tmp_path))
    returned: list[float] = []

    async def sink(line: str) -> None:
        if line == "returning":
            returned.append(time.monotonic())

    job = SandboxJob(job_id="lingering-thread", script=LINGERING_THREAD,
                     limits=ResourceLimits(timeout_s=30, memory_mb=512))
    outcome = await backend.run(job, sink)
    assert outcome.status == "succeeded", outcome
    # Before, the interpreter waited for the thread: the job ran into its 30 s timeout.
    assert time.monotonic() - returned[0] < 10
