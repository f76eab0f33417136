"""Checks every sandbox backend must pass, written against `SandboxBackend` only.

A backend's test module parametrises `test_conformance` over `CHECKS` with its own
`backend` fixture (see `test_local.py`); nothing here knows how a backend isolates.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator.sandbox import ResourceLimits, SandboxBackend, SandboxJob, SandboxOutcome

Check = Callable[[SandboxBackend], Awaitable[None]]
# The checks probe the sandbox itself: the harness's runtime guard (which denies most of
# what they do, one layer up) stays off where the job model has the switch.
SANDBOX_LAYERS_ONLY: dict[str, Any] = {"guard": False} if "guard" in SandboxJob.model_fields else {}


def job(script: str, **limits: object) -> SandboxJob:
    settings: dict[str, object] = {"timeout_s": 10.0, "memory_mb": 512, **limits}
    return SandboxJob(
        job_id=f"conf-{uuid.uuid4().hex[:12]}",
        script=textwrap.dedent(script),
        limits=ResourceLimits.model_validate(settings),
        **SANDBOX_LAYERS_ONLY,
    )


async def run(
    backend: SandboxBackend,
    sandbox_job: SandboxJob,
    cancel: asyncio.Event | None = None,
    sink_delay_s: float = 0.0,
) -> tuple[SandboxOutcome, list[str]]:
    lines: list[str] = []

    async def sink(line: str) -> None:
        lines.append(line)
        if sink_delay_s:  # a slow consumer (Redis, SSE) lets unread output pile up
            await asyncio.sleep(sink_delay_s)

    return await backend.run(sandbox_job, sink, cancel), lines


async def check_success_returns_metrics(backend: SandboxBackend) -> None:
    outcome, lines = await run(
        backend,
        job("""
        def evaluate_model(model):
            print("hello from the sandbox")
            return {"accuracy": 0.5, "n": 3}
    """),
    )
    assert outcome.status == "succeeded", outcome
    assert outcome.result == {"accuracy": 0.5, "n": 3}
    assert outcome.exit_code == 0
    assert "hello from the sandbox" in lines
    assert "hello from the sandbox" in outcome.stdout_tail


async def check_failure_reports_error(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job("""
        def evaluate_model(model):
            raise ValueError("broken metric")
    """),
    )
    assert outcome.status == "failed", outcome
    assert outcome.error is not None and "broken metric" in outcome.error
    assert "ValueError" in outcome.stdout_tail


async def check_timeout_kills_children(backend: SandboxBackend) -> None:
    sandbox_job = job(
        """
        import os, subprocess, sys, time
        def evaluate_model(model):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(600)
                os._exit(0)
            time.sleep(600)
    """,
        timeout_s=1.5,
    )
    started = time.monotonic()
    process = await backend.launch(sandbox_job)
    try:
        from monitor.supervisor import supervise

        outcome = await supervise(process, _discard, asyncio.Event())
        usage = await process.usage()
    finally:
        await process.cleanup()
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "timeout"
    assert time.monotonic() - started < 5
    assert not usage.processes, usage


async def check_output_bytes_cap(backend: SandboxBackend) -> None:
    outcome, lines = await run(
        backend,
        job(
            """
        def evaluate_model(model):
            for _ in range(10_000):
                print("y" * 1000)
            return {}
    """,
            max_output_bytes=100_000,
        ),
    )
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "output"
    assert sum(len(line) + 1 for line in lines) <= 100_000


async def check_kill_with_output_pending(backend: SandboxBackend) -> None:
    """A breach while the pipe is full of unread output must still end promptly."""
    started = time.monotonic()
    outcome, _ = await asyncio.wait_for(
        run(
            backend,
            job(
                """
        import sys
        def evaluate_model(model):
            block = ("q" * 60000 + "\\n") * 8
            while True:
                sys.stdout.write(block)
    """,
                max_output_bytes=200_000,
            ),
            sink_delay_s=0.2,
        ),
        30,
    )
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "output"
    assert time.monotonic() - started < 10


async def check_output_rate_cap(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job(
            """
        def evaluate_model(model):
            while True:
                print("z")
    """,
            max_output_lines_per_s=1000,
        ),
    )
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "output"


async def check_no_network(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job("""
        import socket
        def evaluate_model(model):
            reached = []
            for family, addr in ((socket.AF_INET, ("1.1.1.1", 53)),
                                 (socket.AF_INET, ("169.254.169.254", 80)),
                                 (socket.AF_INET6, ("2606:4700:4700::1111", 53))):
                try:
                    s = socket.socket(family, socket.SOCK_STREAM)
                    s.settimeout(1)
                    s.connect(addr)
                    reached.append(addr[0])
                except OSError:
                    pass
            try:
                socket.getaddrinfo("example.com", 80)
                reached.append("dns")
            except OSError:
                pass
            return {"reached": reached}
    """),
    )
    assert outcome.status in ("succeeded", "killed"), outcome
    if outcome.status == "succeeded":
        assert outcome.result == {"reached": []}, outcome.result


async def check_env_not_inherited(backend: SandboxBackend) -> None:
    import os

    os.environ["EVALPOD_CONFORMANCE_CANARY"] = "canary-value"
    try:
        outcome, _ = await run(
            backend,
            job("""
            import os
            def evaluate_model(model):
                return {"env": dict(os.environ)}
        """),
        )
    finally:
        del os.environ["EVALPOD_CONFORMANCE_CANARY"]
    assert outcome.status == "succeeded", outcome
    env = (outcome.result or {})["env"]
    assert "EVALPOD_CONFORMANCE_CANARY" not in env
    assert not any("canary-value" in str(v) for v in env.values())
    assert not any(key.startswith("EVALPOD_") for key in env)


async def check_result_symlink_rejected(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job("""
        import os
        def evaluate_model(model):
            open("/work/fake.json", "w").write('{"ok": true, "metrics": {"forged": 1}}')
            os.symlink("/work/fake.json", "/out/result.json")
            os._exit(0)
    """),
    )
    assert outcome.status == "failed", outcome
    assert outcome.result is None


# Where Landlock is enforced /out is not writable by path; a script still reaches the
# result through the descriptor the harness opened before (what the host must reject).
RESULT_FILE = """
        def result_file():
            try:
                return open("/out/result.json", "w")
            except PermissionError:
                for name in os.listdir("/proc/self/fd"):
                    if os.readlink("/proc/self/fd/" + name) == "/out/result.json":
                        return os.fdopen(int(name), "w")
                raise
"""


async def check_result_oversize_rejected(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job(
            """
        import os
        def evaluate_model(model):
            with result_file() as f:
                f.write('{"ok": true, "metrics": {"pad": "' + "x" * 20000 + '"}}')
            os._exit(0)
    """
            + RESULT_FILE,
            max_result_bytes=10_000,
        ),
    )
    assert outcome.status == "failed", outcome
    assert outcome.error is not None and "larger" in outcome.error


async def check_result_invalid_json_rejected(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job(
            """
        import os
        def evaluate_model(model):
            result_file().write("{not json")
            os._exit(0)
    """
            + RESULT_FILE
        ),
    )
    assert outcome.status == "failed", outcome
    assert outcome.error is not None and "not a valid result" in outcome.error


async def check_cancel(backend: SandboxBackend) -> None:
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, cancel.set)
    started = time.monotonic()
    outcome, _ = await run(
        backend,
        job("""
        import time
        def evaluate_model(model):
            time.sleep(600)
    """),
        cancel,
    )
    assert outcome.status == "cancelled", outcome
    assert time.monotonic() - started < 3


async def check_memory_limit(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job(
            """
        def evaluate_model(model):
            hog = []
            while True:
                hog.append(bytearray(32 << 20))
    """,
            memory_mb=256,
        ),
    )
    assert outcome.status == "killed", outcome
    assert outcome.violation is not None and outcome.violation.kind == "memory"


async def check_read_only_runtime(backend: SandboxBackend) -> None:
    outcome, _ = await run(
        backend,
        job("""
        import os, sys
        def evaluate_model(model):
            denied = 0
            for path in (os.path.join(sys.prefix, "evalpod-probe"), "/usr/evalpod-probe",
                         "/job/evalpod-probe"):
                try:
                    open(path, "w").close()
                except OSError:
                    denied += 1
            open("/work/ok", "w").write("fine")
            return {"denied": denied}
    """),
    )
    assert outcome.status == "succeeded", outcome
    assert outcome.result == {"denied": 3}


async def _discard(line: str) -> None:
    return None


CHECKS: list[Check] = [
    check_success_returns_metrics,
    check_failure_reports_error,
    check_timeout_kills_children,
    check_output_bytes_cap,
    check_output_rate_cap,
    check_kill_with_output_pending,
    check_no_network,
    check_env_not_inherited,
    check_result_symlink_rejected,
    check_result_oversize_rejected,
    check_result_invalid_json_rejected,
    check_cancel,
    check_memory_limit,
    check_read_only_runtime,
]
